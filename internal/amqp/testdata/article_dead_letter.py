# The article's dead-letter set-up, then a rejected message that lands in
# the dead-letter queue with RabbitMQ's x-death header.
import pika

from article_common import connection_parameters

connection = pika.BlockingConnection(connection_parameters())
channel = connection.channel()

# 声明死信队列
channel.queue_declare(queue='order_queue_dlq', durable=True)

# 声明主队列,设置死信交换机和路由键
args = {
    'x-dead-letter-exchange': 'order_dlx',
    'x-dead-letter-routing-key': 'order_queue_dlq'
}
channel.queue_declare(queue='order_queue', durable=True, arguments=args)

# 声明死信交换机
channel.exchange_declare(exchange='order_dlx', exchange_type='direct')

# 绑定死信队列到死信交换机
channel.queue_bind(
    exchange='order_dlx',
    queue='order_queue_dlq',
    routing_key='order_queue_dlq'
)

channel.basic_publish(exchange='', routing_key='order_queue', body=b'broken order',
                      properties=pika.BasicProperties(delivery_mode=2))
method, properties, body = channel.basic_get(queue='order_queue')
assert body == b'broken order'
channel.basic_nack(delivery_tag=method.delivery_tag, requeue=False)

for _ in range(50):
    method, properties, body = channel.basic_get(queue='order_queue_dlq', auto_ack=True)
    if method:
        break
    connection.sleep(0.05)
assert body == b'broken order', body
death = properties.headers['x-death'][0]
assert death['queue'] == 'order_queue' and death['reason'] == 'rejected' and death['count'] == 1, death
assert method.routing_key == 'order_queue_dlq', method.routing_key
connection.close()
print("OK")
