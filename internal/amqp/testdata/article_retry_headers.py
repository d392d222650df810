# The article's "limit retries" sample: the consumer reads x-retries from
# the headers, requeues while under MAX_RETRIES and dead-letters after.
import pika

from article_common import connection_parameters

connection = pika.BlockingConnection(connection_parameters())
channel = connection.channel()
channel.queue_declare(queue='retry_dlq', durable=True)
channel.queue_declare(queue='retry_queue', durable=True, arguments={
    'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'retry_dlq'})

attempts = {}
done = []


def process_message(body):
    attempts[body] = attempts.get(body, 0) + 1
    if body.startswith(b'poison') or (body == b'flaky' and attempts[body] < 2):
        raise ValueError(body)
    done.append(body)


# 限制重试次数
MAX_RETRIES = 3


def callback(ch, method, properties, body):
    retries = properties.headers.get('x-retries', 0)

    try:
        process_message(body)
        ch.basic_ack(delivery_tag=method.delivery_tag)
    except Exception as e:
        if retries < MAX_RETRIES:
            # 重试
            ch.basic_nack(
                delivery_tag=method.delivery_tag,
                requeue=True
            )
        else:
            # 超过重试次数,发送到死信队列
            ch.basic_nack(
                delivery_tag=method.delivery_tag,
                requeue=False
            )
    if len(done) == 1 and channel.queue_declare(queue='retry_dlq', durable=True).method.message_count == 1:
        ch.stop_consuming()


channel.basic_publish(exchange='', routing_key='retry_queue', body=b'flaky',
                      properties=pika.BasicProperties(headers={'x-retries': 0}))
channel.basic_publish(exchange='', routing_key='retry_queue', body=b'poison',
                      properties=pika.BasicProperties(headers={'x-retries': MAX_RETRIES}))
channel.basic_consume(queue='retry_queue', on_message_callback=callback, auto_ack=False)
channel.start_consuming()

assert done == [b'flaky'], done
assert attempts == {b'flaky': 2, b'poison': 1}, attempts
method, properties, body = channel.basic_get(queue='retry_dlq', auto_ack=True)
assert body == b'poison' and properties.headers['x-retries'] == MAX_RETRIES, properties.headers
connection.close()
print("OK")
