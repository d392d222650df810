# The article's request/reply sample: an exclusive server-named reply queue,
# reply_to and correlation_id; the responder answers on reply_to.
import json
import threading
import uuid

import pika

from article_common import connection_parameters


def responder(ready):
    connection = pika.BlockingConnection(connection_parameters())
    channel = connection.channel()
    channel.queue_declare(queue='rpc_queue')

    def send_reply(reply_to, correlation_id, response):
        channel.basic_publish(exchange='', routing_key=reply_to, body=json.dumps(response),
                              properties=pika.BasicProperties(correlation_id=correlation_id))

    # 响应方
    def callback(ch, method, properties, body):
        response = json.loads(body)
        response['reply'] = True
        # 根据 correlation_id 匹配请求
        send_reply(properties.reply_to, properties.correlation_id, response)
        ch.basic_ack(delivery_tag=method.delivery_tag)
        ch.stop_consuming()

    channel.basic_consume(queue='rpc_queue', on_message_callback=callback)
    ready.set()
    channel.start_consuming()
    connection.close()


ready = threading.Event()
thread = threading.Thread(target=responder, args=(ready,))
thread.start()
ready.wait()

connection = pika.BlockingConnection(connection_parameters())
channel = connection.channel()
channel.queue_declare(queue='rpc_queue')


def queue_declare(exclusive):
    return channel.queue_declare(queue='', exclusive=exclusive)


# 请求方
correlation_id = str(uuid.uuid4())
reply_queue = queue_declare(exclusive=True)
assert reply_queue.method.queue.startswith('amq.gen-'), reply_queue.method.queue

channel.basic_publish(
    exchange='',
    routing_key='rpc_queue',
    body=json.dumps({'message': 'hello'}),
    properties=pika.BasicProperties(
        reply_to=reply_queue.method.queue,
        correlation_id=correlation_id,
    )
)


# 请求方接收响应
def wait_for_response(correlation_id):
    for method, properties, body in channel.consume(reply_queue.method.queue, auto_ack=True, inactivity_timeout=10):
        if method is None:
            raise AssertionError('no reply')
        if properties.correlation_id == correlation_id:
            channel.cancel()
            return json.loads(body)


response = wait_for_response(correlation_id)
assert response == {'message': 'hello', 'reply': True}, response
thread.join()

# The same exchange through RabbitMQ's direct reply-to pseudo-queue.
results = []
channel.basic_consume('amq.rabbitmq.reply-to', lambda ch, m, p, b: (results.append((p.correlation_id, b)), ch.stop_consuming()), auto_ack=True)
ready.clear()
thread = threading.Thread(target=responder, args=(ready,))
thread.start()
ready.wait()
channel.basic_publish(exchange='', routing_key='rpc_queue', body=json.dumps({'message': 'direct'}),
                      properties=pika.BasicProperties(reply_to='amq.rabbitmq.reply-to', correlation_id='d1'))
channel.start_consuming()
thread.join()
assert results == [('d1', b'{"message": "direct", "reply": true}')], results
connection.close()
print("OK")
