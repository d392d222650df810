# The article's Redis Stream sample, unchanged but for the host and port
# (from GANNET_HOST and GANNET_PORT) and an end to the consumer loop once
# the order has been processed.
import os

import redis

# 连接 Redis
r = redis.Redis(host=os.environ.get('GANNET_HOST', 'localhost'),
                port=int(os.environ.get('GANNET_PORT', '6379')), db=0)

processed = []


def process_order(data):
    processed.append(data)
    print('processed', {k.decode(): v.decode() for k, v in data.items()})


# 生产者
r.xadd('order-stream', {
    'orderId': '12345',
    'amount': '100.00'
})

# 消费者
group_name = 'order-consumer-group'
consumer_name = 'consumer-1'

# 创建消费者组
try:
    r.xgroup_create('order-stream', group_name, id='0')
except redis.ResponseError:
    pass

while True:
    # 读取消息
    messages = r.xreadgroup(
        group_name,
        consumer_name,
        {'order-stream': '>'},
        count=1,
        block=5000
    )

    for stream, entries in messages:
        for message_id, data in entries:
            process_order(data)
            # 确认消息
            r.xack('order-stream', group_name, message_id)

    if processed or not messages:
        break

assert processed, 'no order was delivered within the block time'
pending = r.xpending('order-stream', group_name)
assert pending['pending'] == 0, pending
print('ok')
