# The article's reliable producer settings (acks='all', retries,
# max_in_flight_requests_per_connection, batch_size, linger_ms) with key
# partitioning: every key's records must come back in the order sent.
import json
import os
from collections import defaultdict

from kafka import KafkaProducer, KafkaConsumer
from kafka.errors import KafkaError

BOOTSTRAP = os.environ["GANNET_HOST"] + ":" + os.environ["GANNET_PORT"]
TOPIC = os.environ.get("GANNET_TOPIC", "payments")
N = 300

# 使用连接池
producer = KafkaProducer(
    bootstrap_servers=[BOOTSTRAP],
    acks='all',
    retries=3,
    max_in_flight_requests_per_connection=5,
    batch_size=16384,
    linger_ms=10,
    key_serializer=lambda k: k.encode('utf-8'),
    value_serializer=lambda x: json.dumps(x).encode('utf-8'),
)

futures = []
for i in range(N):
    key = "user-%d" % (i % 10)
    futures.append(producer.send(TOPIC, key=key, value={'seq': i, 'user': key}))
producer.flush()
partition_of = {}
for f in futures:
    try:
        md = f.get(timeout=10)
    except KafkaError as e:
        raise SystemExit("send failed: %r" % e)
    assert md.offset >= 0
print("PRODUCED", len(futures))

consumer = KafkaConsumer(
    TOPIC,
    bootstrap_servers=[BOOTSTRAP],
    group_id="payments-audit",
    auto_offset_reset='earliest',
    enable_auto_commit=True,
    consumer_timeout_ms=10000,
    value_deserializer=lambda x: json.loads(x.decode('utf-8')),
)
last = defaultdict(lambda: -1)
count = 0
for message in consumer:
    v = message.value
    key = message.key.decode()
    if partition_of.setdefault(key, message.partition) != message.partition:
        raise SystemExit("key %s on two partitions" % key)
    if v['seq'] <= last[key]:
        raise SystemExit("key %s out of order: %d after %d" % (key, v['seq'], last[key]))
    last[key] = v['seq']
    count += 1
    if count == N:
        break
consumer.close()
if count != N:
    raise SystemExit("consumed %d of %d" % (count, N))
print("CONSUMED", count, "PARTITIONS", len(set(partition_of.values())))
