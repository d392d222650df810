# The article's "avoid message loss" practices: publisher confirms,
# persistent messages, manual acks with nack on failure, and basic_qos.
import pika

from article_common import connection_parameters

connection = pika.BlockingConnection(connection_parameters())
channel = connection.channel()

# 1. 生产者确认
channel.confirm_delivery()

# 2. 消息持久化
channel.queue_declare(queue='order_queue', durable=True)
for i in range(20):
    channel.basic_publish(
        exchange='', routing_key='order_queue', body=str(i).encode(),
        properties=pika.BasicProperties(delivery_mode=2)
    )

# Confirms make an unroutable mandatory publish raise.
try:
    channel.basic_publish(exchange='', routing_key='no_such_queue', body=b'x', mandatory=True)
    raise AssertionError('unroutable publish was not returned')
except pika.exceptions.UnroutableError:
    pass

# 预取控制: 设置预取数量,控制并发度
channel.basic_qos(prefetch_count=10)

seen = []
failed_once = set()


def process_message(body):
    if body == b'7' and body not in failed_once:
        failed_once.add(body)
        raise RuntimeError('transient failure')
    seen.append(int(body))


# 4. 消费者确认前处理
def callback(ch, method, properties, body):
    try:
        process_message(body)
        ch.basic_ack(delivery_tag=method.delivery_tag)
    except Exception as e:
        ch.basic_nack(delivery_tag=method.delivery_tag, requeue=True)
    if len(seen) == 20:
        ch.stop_consuming()


# 3. 手动确认
channel.basic_consume(queue='order_queue', on_message_callback=callback, auto_ack=False)
channel.start_consuming()
assert sorted(seen) == list(range(20)), seen
connection.close()
print("OK")
