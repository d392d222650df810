# The article's RabbitMQ sample: a durable queue, a persistent message and
# a consumer with manual acknowledgements.
import json

import pika

from article_common import connection_parameters

processed = []


def process_order(message):
    processed.append(message)


# 连接到 RabbitMQ
connection = pika.BlockingConnection(
    connection_parameters()
)
channel = connection.channel()

# 声明队列
channel.queue_declare(queue='order_queue', durable=True)

# 发送消息
channel.basic_publish(
    exchange='',
    routing_key='order_queue',
    body='{"orderId": 12345, "amount": 100.00}',
    properties=pika.BasicProperties(
        delivery_mode=2,  # 持久化消息
    )
)


# 消费消息
def callback(ch, method, properties, body):
    message = json.loads(body)
    process_order(message)
    ch.basic_ack(delivery_tag=method.delivery_tag)
    assert properties.delivery_mode == 2
    ch.stop_consuming()  # added so the sample ends


channel.basic_consume(
    queue='order_queue',
    on_message_callback=callback,
    auto_ack=False  # 手动确认
)

channel.start_consuming()

assert processed == [{"orderId": 12345, "amount": 100.00}], processed
# The ack removed it: nothing is left.
assert channel.queue_declare(queue='order_queue', durable=True).method.message_count == 0
connection.close()
print("OK")
