package wire

import (
	"encoding/xml"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestQueryFoldsIntoJSONShape(t *testing.T) {
	values, _ := url.ParseQuery("Action=SendMessageBatch&QueueUrl=http://h/0/q" +
		"&SendMessageBatchRequestEntry.2.Id=second&SendMessageBatchRequestEntry.2.MessageBody=b2" +
		"&SendMessageBatchRequestEntry.1.Id=first&SendMessageBatchRequestEntry.1.MessageBody=b1&SendMessageBatchRequestEntry.1.DelaySeconds=7" +
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=Binary" +
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.BinaryValue=AAE%3D")
	action, in, err := DecodeQuery(values)
	if err != nil || action != "SendMessageBatch" {
		t.Fatal(action, err)
	}
	b := in.(*SendMessageBatchInput)
	if len(b.Entries) != 2 || b.Entries[0].Id != "first" || b.Entries[1].Id != "second" || b.Entries[0].DelaySeconds != (OptInt{7, true}) {
		t.Fatalf("entries = %+v", b.Entries)
	}
	if v := b.Entries[0].MessageAttributes["n"]; v.DataType != "Binary" || !reflect.DeepEqual(v.BinaryValue, []byte{0, 1}) {
		t.Fatalf("attribute = %+v", v)
	}
	values, _ = url.ParseQuery("Action=CreateQueue&QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=3&Tag.1.Key=team&Tag.1.Value=core")
	_, in, err = DecodeQuery(values)
	c := in.(*CreateQueueInput)
	if err != nil || c.Attributes["DelaySeconds"] != "3" || c.Tags["team"] != "core" {
		t.Fatalf("CreateQueue = %+v, %v", c, err)
	}
}

// TestQueryListsInIndexOrder: numbered parameters arrive in map order and
// come out in index order, however many there are.
func TestQueryListsInIndexOrder(t *testing.T) {
	values := url.Values{"Action": {"UntagQueue"}, "QueueUrl": {"q"}}
	const n = 5000
	for i := 1; i <= n; i++ {
		values["TagKey."+strconv.Itoa(i)] = []string{strconv.Itoa(i)}
	}
	_, in, err := DecodeQuery(values)
	if err != nil {
		t.Fatal(err)
	}
	keys := in.(*UntagQueueInput).TagKeys
	if len(keys) != n {
		t.Fatalf("%d keys, want %d", len(keys), n)
	}
	for i, k := range keys {
		if k != strconv.Itoa(i+1) {
			t.Fatalf("key %d = %s", i, k)
		}
	}
}

func TestMD5OfAttributes(t *testing.T) {
	s := func(v string) *string { return &v }
	// Order-independent, and sensitive to the data type.
	a := MD5OfAttributes(map[string]MessageAttributeValue{"b": {DataType: "String", StringValue: s("x")}, "a": {DataType: "Number", StringValue: s("1")}})
	b := MD5OfAttributes(map[string]MessageAttributeValue{"a": {DataType: "Number", StringValue: s("1")}, "b": {DataType: "String", StringValue: s("x")}})
	c := MD5OfAttributes(map[string]MessageAttributeValue{"a": {DataType: "String", StringValue: s("1")}, "b": {DataType: "String", StringValue: s("x")}})
	if a != b || a == c || len(a) != 32 {
		t.Fatalf("digests %s %s %s", a, b, c)
	}
	// Known digests, as AWS computes them (published examples).
	for want, attrs := range map[string]map[string]MessageAttributeValue{
		"cd28f3b68aeee4b2eac9c66f2f694b58": {"SellerName": {DataType: "String", StringValue: s("Example Store")}},
		"235c5c510d26fb653d073faed50ae77c": {"timestamp": {DataType: "Number", StringValue: s("1493147359900")}},
	} {
		if got := MD5OfAttributes(attrs); got != want {
			t.Errorf("MD5OfAttributes(%v) = %s, want %s", attrs, got, want)
		}
	}
	if MD5OfAttributes(nil) != "" {
		t.Fatal("empty attributes have a digest")
	}
	if MD5OfBody("hi") != "49f68a5c8493ec2c0bf489821c21fc3b" {
		t.Fatal("body digest")
	}
}

func TestErrorShapes(t *testing.T) {
	e := NonExistentQueue()
	var x struct {
		Error     struct{ Type, Code, Message string }
		RequestId string
	}
	if err := xml.Unmarshal(EncodeErrorXML(e, "rid"), &x); err != nil || x.Error.Code != "AWS.SimpleQueueService.NonExistentQueue" || x.Error.Type != "Sender" || x.RequestId != "rid" {
		t.Fatalf("%+v %v", x, err)
	}
	if got := string(EncodeErrorJSON(e)); !strings.Contains(got, `"__type":"com.amazonaws.sqs#QueueDoesNotExist"`) {
		t.Fatal(got)
	}
	if QueryErrorHeader(e) != "AWS.SimpleQueueService.NonExistentQueue;Sender" {
		t.Fatal(QueryErrorHeader(e))
	}
}

func TestXMLEscapesBodies(t *testing.T) {
	out := EncodeXML("ReceiveMessage", "r", ReceiveMessageOutput{Messages: []Message{{Body: "<a>&\r\n"}}})
	var x struct {
		Body string `xml:"ReceiveMessageResult>Message>Body"`
	}
	if err := xml.Unmarshal(out, &x); err != nil || x.Body != "<a>&\r\n" {
		t.Fatalf("%q %v", x.Body, err)
	}
}
