package wire

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
)

// FuzzDecodeQuery feeds arbitrary form bodies to the Query decoder: it must
// return an input or a *Error, never panic.
func FuzzDecodeQuery(f *testing.F) {
	seeds := []string{
		"Action=SendMessage&QueueUrl=http://h/0/q&MessageBody=hi&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v",
		"Action=SendMessageBatch&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=b&SendMessageBatchRequestEntry.2.Id=c",
		"Action=CreateQueue&QueueName=q&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5&Tag.1.Key=k&Tag.1.Value=v",
		"Action=ReceiveMessage&AttributeName.1=All&MaxNumberOfMessages=10&MessageAttributeName.1=All",
		"Action=SetQueueAttributes&Attribute.Name=DelaySeconds&Attribute.Value=1",
		"Action=UntagQueue&TagKey.1=a&TagKey.2=b",
		"Action=SendMessage&MessageAttribute.1.Name=a&MessageAttribute.1=x",
		"Action=SendMessage&a.b.c.d.e.f.g.h.i=1",
		"Action=DeleteMessageBatch&DeleteMessageBatchRequestEntry.99999999999.Id=x",
		"Action=ListQueues&MaxResults=abc",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		values, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		_, in, err := DecodeQuery(values)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		if in == nil {
			t.Fatal("no input and no error")
		}
	})
}

// FuzzDecodeJSON does the same for the JSON protocol.
func FuzzDecodeJSON(f *testing.F) {
	seeds := []struct{ action, body string }{
		{"SendMessage", `{"QueueUrl":"u","MessageBody":"b","DelaySeconds":5,"MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"AAE="}}}`},
		{"SendMessageBatch", `{"QueueUrl":"u","Entries":[{"Id":"1","MessageBody":"b"}]}`},
		{"ReceiveMessage", `{"QueueUrl":"u","MaxNumberOfMessages":"10","WaitTimeSeconds":null}`},
		{"CreateQueue", `{"QueueName":"q","Attributes":{"FifoQueue":"true"},"tags":{"a":"b"}}`},
		{"ListQueues", `{"MaxResults":1e999}`},
		{"Bogus", `{}`},
		{"DeleteMessageBatch", `[`},
	}
	for _, s := range seeds {
		f.Add(s.action, s.body)
	}
	f.Fuzz(func(t *testing.T, action, body string) {
		in, err := DecodeJSON(action, []byte(body))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		if in == nil {
			t.Fatal("no input and no error")
		}
		_ = EncodeJSON(in)
	})
}

// FuzzFastJSON checks the JSON fast path against encoding/json: whenever
// it accepts a body, encoding/json accepts it too and decodes the same.
func FuzzFastJSON(f *testing.F) {
	f.Add("SendMessageBatch", `{"QueueUrl":"http://h/0/q","Entries":[{"Id":"0","MessageBody":"abc"},{"Id":"1","MessageBody":"d","DelaySeconds":5}]}`)
	f.Add("SendMessage", `{"QueueUrl":"u","MessageBody":"b","MessageGroupId":"g","MessageDeduplicationId":"d"}`)
	f.Add("DeleteMessageBatch", ` { "QueueUrl" : "u" , "Entries" : [ { "Id" : "1" , "ReceiptHandle" : "h" } ] } `)
	f.Add("SendMessage", `{"QueueUrl":"u","QueueUrl":"v"}`)
	f.Add("SendMessage", `{"DelaySeconds":007}`)
	f.Add("SendMessageBatch", `{"Entries":[]}`)
	f.Fuzz(func(t *testing.T, action, body string) {
		fast, ok := fastDecode(action, []byte(body))
		if !ok {
			return
		}
		slow := actions[action]()
		if err := json.Unmarshal([]byte(body), slow); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json: %v", body, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", body, fast, slow)
		}
	})
}
