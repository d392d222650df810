"""Every SQS action through Debian's boto3 (1.26, Query protocol) against Gannet.

Reads the endpoint from GANNET_SQS_ENDPOINT. boto3 1.26 predates the message
move task actions, so those go as raw Query requests. Prints OK at the end.
"""
import hashlib
import json
import os
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import boto3
import botocore.exceptions

ENDPOINT = os.environ["GANNET_SQS_ENDPOINT"]
sqs = boto3.client(
    "sqs", endpoint_url=ENDPOINT, region_name="us-east-1",
    aws_access_key_id="test", aws_secret_access_key="test",
)
assert sqs.meta.service_model.protocol == "query", sqs.meta.service_model.protocol


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError("no error from %s" % call)


def raw(action, **params):
    """A Query request boto3 1.26 cannot make; returns the parsed XML."""
    params["Action"] = action
    data = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(ENDPOINT + "/", data=data)
    try:
        body = urllib.request.urlopen(req).read()
    except urllib.error.HTTPError as e:
        body = e.read()
    return ET.fromstring(body)


NS = {"q": "http://queue.amazonaws.com/doc/2012-11-05/"}

# Queues: create, get, list with a prefix and paging, attributes, tags.
url = sqs.create_queue(QueueName="py-orders", Attributes={"VisibilityTimeout": "30"},
                       tags={"team": "core"})["QueueUrl"]
assert url.endswith("/000000000000/py-orders"), url
assert sqs.create_queue(QueueName="py-orders", Attributes={"VisibilityTimeout": "30"})["QueueUrl"] == url
assert error_code(sqs.create_queue, QueueName="py-orders", Attributes={"VisibilityTimeout": "31"}) == "QueueAlreadyExists"
assert sqs.get_queue_url(QueueName="py-orders")["QueueUrl"] == url
assert error_code(sqs.get_queue_url, QueueName="py-missing") == "AWS.SimpleQueueService.NonExistentQueue"
for i in range(3):
    sqs.create_queue(QueueName="py-page-%d" % i)
page = sqs.list_queues(QueueNamePrefix="py-page-", MaxResults=2)
assert len(page["QueueUrls"]) == 2 and "NextToken" in page, page
rest = sqs.list_queues(QueueNamePrefix="py-page-", MaxResults=2, NextToken=page["NextToken"])
assert len(rest["QueueUrls"]) == 1 and "NextToken" not in rest, rest
sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0", "MaximumMessageSize": "4096"})
attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
assert attrs["MaximumMessageSize"] == "4096" and attrs["QueueArn"].endswith(":py-orders"), attrs
assert error_code(sqs.set_queue_attributes, QueueUrl=url, Attributes={"Nope": "1"}) == "InvalidAttributeName"
sqs.tag_queue(QueueUrl=url, Tags={"env": "test"})
sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "test"}

# Send with attributes, long-poll receive, delete.
body = "hello <world> & \u00e9"
sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
    "kind": {"DataType": "String", "StringValue": "order"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
})
assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, AttributeNames=["All"],
                          MessageAttributeNames=["All"])["Messages"]
assert len(got) == 1 and got[0]["Body"] == body and got[0]["MessageId"] == sent["MessageId"], got
m = got[0]
assert m["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
assert m["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01", m
assert m["Attributes"]["ApproximateReceiveCount"] == "1"
sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2", again
sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
assert error_code(sqs.delete_message, QueueUrl=url, ReceiptHandle="bogus") == "ReceiptHandleIsInvalid"

# Batches of 10.
entries = [{"Id": "m%d" % i, "MessageBody": "body-%d" % i} for i in range(10)]
res = sqs.send_message_batch(QueueUrl=url, Entries=entries)
assert len(res["Successful"]) == 10 and not res.get("Failed"), res
msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
assert len(msgs) == 10, len(msgs)
vis = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
    {"Id": str(i), "ReceiptHandle": x["ReceiptHandle"], "VisibilityTimeout": 60} for i, x in enumerate(msgs)])
assert len(vis["Successful"]) == 10, vis
dele = sqs.delete_message_batch(QueueUrl=url, Entries=[
    {"Id": str(i), "ReceiptHandle": x["ReceiptHandle"]} for i, x in enumerate(msgs)])
assert len(dele["Successful"]) == 10, dele
eleven = [{"Id": "m%d" % i, "MessageBody": "x"} for i in range(11)]
assert error_code(sqs.send_message_batch, QueueUrl=url, Entries=eleven) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
same = [{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]
assert error_code(sqs.send_message_batch, QueueUrl=url, Entries=same) == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"

# FIFO: order per group, dedup.
fifo = sqs.create_queue(QueueName="py-jobs.fifo", Attributes={
    "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
for i in range(4):
    sqs.send_message(QueueUrl=fifo, MessageBody="job-%d" % i, MessageGroupId="g")
dup = sqs.send_message(QueueUrl=fifo, MessageBody="job-0", MessageGroupId="g")
first = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
assert [x["Body"] for x in first] == ["job-0", "job-1", "job-2", "job-3"], first
assert first[0]["MessageId"] == dup["MessageId"]
assert int(first[0]["Attributes"]["SequenceNumber"]) < int(first[1]["Attributes"]["SequenceNumber"])

# Redrive: maxReceiveCount 1, made visible again, goes to the DLQ.
dlq = sqs.create_queue(QueueName="py-dlq")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
src = sqs.create_queue(QueueName="py-src", Attributes={
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})})["QueueUrl"]
assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]
sqs.send_message(QueueUrl=src, MessageBody="poison")
r = sqs.receive_message(QueueUrl=src)["Messages"][0]
sqs.change_message_visibility(QueueUrl=src, ReceiptHandle=r["ReceiptHandle"], VisibilityTimeout=0)
dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=2, VisibilityTimeout=0)["Messages"]
assert dead[0]["Body"] == "poison", dead

# Message move tasks, as raw Query requests.
started = raw("StartMessageMoveTask", SourceArn=dlq_arn)
handle = started.find("q:StartMessageMoveTaskResult/q:TaskHandle", NS).text
for _ in range(200):
    listed = raw("ListMessageMoveTasks", SourceArn=dlq_arn)
    status = listed.find("q:ListMessageMoveTasksResult/q:ListMessageMoveTasksResultEntry/q:Status", NS).text
    if status == "COMPLETED":
        break
back = sqs.receive_message(QueueUrl=src, WaitTimeSeconds=2)["Messages"]
assert back[0]["Body"] == "poison", back
cancel = raw("CancelMessageMoveTask", TaskHandle=handle)
assert cancel.find("q:Error/q:Code", NS).text == "AWS.SimpleQueueService.UnsupportedOperation"

# Purge and delete.
sqs.send_message(QueueUrl=url, MessageBody="doomed")
sqs.purge_queue(QueueUrl=url)
assert error_code(sqs.purge_queue, QueueUrl=url) == "AWS.SimpleQueueService.PurgeQueueInProgress"
assert "Messages" not in sqs.receive_message(QueueUrl=url)
sqs.delete_queue(QueueUrl=url)
assert error_code(sqs.send_message, QueueUrl=url, MessageBody="x") == "AWS.SimpleQueueService.NonExistentQueue"
assert error_code(sqs.add_permission, QueueUrl=src, Label="l", AWSAccountIds=["1"], Actions=["SendMessage"]) == "AWS.SimpleQueueService.UnsupportedOperation"
print("OK")
