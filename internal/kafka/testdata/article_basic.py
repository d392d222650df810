# The article's Kafka sample (JSON value serializer, auto_offset_reset
# 'earliest', enable_auto_commit), unchanged but for the bootstrap address,
# a unique topic and group, and a process_order that stops after the order.
import json
import os
import sys

from kafka import KafkaProducer, KafkaConsumer

BOOTSTRAP = os.environ["GANNET_HOST"] + ":" + os.environ["GANNET_PORT"]
TOPIC = os.environ.get("GANNET_TOPIC", "order-topic")


def process_order(order):
    print("ORDER", json.dumps(order, sort_keys=True))
    if order["orderId"] == 12345:
        sys.exit(0)


# 生产者
producer = KafkaProducer(
    bootstrap_servers=[BOOTSTRAP],
    value_serializer=lambda x: json.dumps(x).encode('utf-8')
)

producer.send(TOPIC, {
    'orderId': 12345,
    'amount': 100.00
})
producer.flush()

# 消费者
consumer = KafkaConsumer(
    TOPIC,
    bootstrap_servers=[BOOTSTRAP],
    group_id=os.environ.get("GANNET_GROUP", "order-service"),
    value_deserializer=lambda x: json.loads(x.decode('utf-8')),
    auto_offset_reset='earliest',
    enable_auto_commit=True
)

for message in consumer:
    process_order(message.value)
