package sqs

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gannet-mq/gannet/internal/broker"
)

// rawReply is what a raw request got back.
type rawReply struct {
	status int
	header http.Header
	body   string
}

func (e *testEnv) postQuery(t *testing.T, form string) rawReply {
	t.Helper()
	resp, err := http.Post(e.endpoint+"/", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawReply{resp.StatusCode, resp.Header, string(b)}
}

func (e *testEnv) postJSON(t *testing.T, action, body string) rawReply {
	t.Helper()
	req, _ := http.NewRequest("POST", e.endpoint+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawReply{resp.StatusCode, resp.Header, string(b)}
}

type xmlError struct {
	Error struct {
		Type    string
		Code    string
		Message string
	}
	RequestId string
}

func wantXMLError(t *testing.T, r rawReply, status int, code string) {
	t.Helper()
	var e xmlError
	if err := xml.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("reply %d %q is no ErrorResponse: %v", r.status, r.body, err)
	}
	if r.status != status || e.Error.Code != code || e.Error.Type != "Sender" || e.RequestId == "" {
		t.Fatalf("reply %d %+v, want %d %s", r.status, e, status, code)
	}
}

func wantJSONError(t *testing.T, r rawReply, status int, typ, queryCode string) {
	t.Helper()
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("reply %d %q is no JSON error: %v", r.status, r.body, err)
	}
	if r.status != status || e.Type != "com.amazonaws.sqs#"+typ || r.header.Get("X-Amzn-Query-Error") != queryCode+";Sender" {
		t.Fatalf("reply %d %+v %q, want %d %s %s", r.status, e, r.header.Get("X-Amzn-Query-Error"), status, typ, queryCode)
	}
}

func TestBadInputQuery(t *testing.T) {
	e := startEnv(t)
	q := url.QueryEscape(e.createQueue("bad", nil))
	wantXMLError(t, e.postQuery(t, "Action=Bogus"), 400, "InvalidAction")
	wantXMLError(t, e.postQuery(t, "Version=2012-11-05"), 400, "InvalidAction")
	wantXMLError(t, e.postQuery(t, "Action=SendMessage&%zz=1"), 400, "MalformedQueryString")
	wantXMLError(t, e.postQuery(t, "Action=SendMessage&QueueUrl="+q+"&MessageAttribute.x.Name=a"), 400, "MalformedQueryString")
	wantXMLError(t, e.postQuery(t, "Action=SendMessage&QueueUrl="+q+"&MessageBody=x&DelaySeconds=soon"), 400, "MalformedQueryString")
	wantXMLError(t, e.postQuery(t, "Action=SendMessage&QueueUrl="+q), 400, "MissingParameter")
	wantXMLError(t, e.postQuery(t, "Action=DeleteMessage&QueueUrl="+q+"&ReceiptHandle=AAAA"), 400, "ReceiptHandleIsInvalid")
	wantXMLError(t, e.postQuery(t, "Action=GetQueueUrl&QueueName=nope"), 400, "AWS.SimpleQueueService.NonExistentQueue")
	var batch strings.Builder
	batch.WriteString("Action=SendMessageBatch&QueueUrl=" + q)
	for i := 1; i <= 11; i++ {
		batch.WriteString("&SendMessageBatchRequestEntry." + itoa(i) + ".Id=e" + itoa(i) + "&SendMessageBatchRequestEntry." + itoa(i) + ".MessageBody=x")
	}
	wantXMLError(t, e.postQuery(t, batch.String()), 400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
	big := "Action=SendMessage&QueueUrl=" + q + "&MessageBody=" + strings.Repeat("x", int(e.srv.maxBody))
	wantXMLError(t, e.postQuery(t, big), 413, "RequestEntityTooLarge")

	// A good Query request gets AWS' XML shape.
	r := e.postQuery(t, "Action=SendMessage&QueueUrl="+q+"&MessageBody=hi&MessageAttribute.1.Name=k&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v")
	var sent struct {
		XMLName xml.Name `xml:"SendMessageResponse"`
		Result  struct {
			MessageId, MD5OfMessageBody, MD5OfMessageAttributes string
		} `xml:"SendMessageResult"`
		RequestId string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal([]byte(r.body), &sent); err != nil || r.status != 200 || sent.Result.MD5OfMessageBody != "49f68a5c8493ec2c0bf489821c21fc3b" || sent.RequestId == "" || sent.Result.MD5OfMessageAttributes == "" {
		t.Fatalf("SendMessage reply %d %s (%v)", r.status, r.body, err)
	}
	// Posting to the queue URL itself names the queue.
	resp, err := http.Post(e.endpoint+"/000000000000/bad", "application/x-www-form-urlencoded", strings.NewReader("Action=ReceiveMessage&MessageAttributeName.1=All"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<Body>hi</Body>") || !strings.Contains(string(body), "<Name>k</Name>") {
		t.Fatalf("ReceiveMessage at the queue URL: %d %s", resp.StatusCode, body)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestBadInputJSON(t *testing.T) {
	e := startEnv(t)
	q := e.createQueue("bad", nil)
	wantJSONError(t, e.postJSON(t, "Bogus", "{}"), 400, "UnknownOperationException", "InvalidAction")
	wantJSONError(t, e.postJSON(t, "SendMessage", "{not json"), 400, "SerializationException", "SerializationException")
	wantJSONError(t, e.postJSON(t, "SendMessage", `{"QueueUrl": 5}`), 400, "SerializationException", "SerializationException")
	wantJSONError(t, e.postJSON(t, "SendMessage", `[]`), 400, "SerializationException", "SerializationException")
	wantJSONError(t, e.postJSON(t, "SendMessage", `{"QueueUrl":"`+q+`"}`), 400, "MissingParameter", "MissingParameter")
	wantJSONError(t, e.postJSON(t, "GetQueueUrl", `{"QueueName":"nope"}`), 400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")
	wantJSONError(t, e.postJSON(t, "DeleteMessage", `{"QueueUrl":"`+q+`","ReceiptHandle":"x"}`), 400, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid")
	wantJSONError(t, e.postJSON(t, "ChangeMessageVisibility", `{"QueueUrl":"`+q+`","ReceiptHandle":"AQEBAAAA","VisibilityTimeout":1}`), 400, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid")
	// A well-formed handle of a partition the queue lacks is invalid too,
	// not an internal error.
	qv, err := e.srv.queue("bad")
	if err != nil {
		t.Fatal(err)
	}
	forged := receipt{queue: "bad", createdMs: qv.createdMs, ref: broker.Ref{Partition: 5, Offset: 0, Count: 1}}.encode()
	wantJSONError(t, e.postJSON(t, "DeleteMessage", `{"QueueUrl":"`+q+`","ReceiptHandle":"`+forged+`"}`), 400, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid")
	wantJSONError(t, e.postJSON(t, "ChangeMessageVisibility", `{"QueueUrl":"`+q+`","ReceiptHandle":"`+forged+`","VisibilityTimeout":1}`), 400, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid")
	if r := e.postJSON(t, "DeleteMessageBatch", `{"QueueUrl":"`+q+`","Entries":[{"Id":"a","ReceiptHandle":"`+forged+`"}]}`); r.status != 200 || !strings.Contains(r.body, `"Code":"ReceiptHandleIsInvalid"`) {
		t.Fatalf("DeleteMessageBatch with a forged handle: %d %s", r.status, r.body)
	}
	entries := make([]string, 11)
	for i := range entries {
		entries[i] = `{"Id":"e` + itoa(i) + `","ReceiptHandle":"x"}`
	}
	wantJSONError(t, e.postJSON(t, "DeleteMessageBatch", `{"QueueUrl":"`+q+`","Entries":[`+strings.Join(entries, ",")+`]}`), 400,
		"TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
	big := `{"QueueUrl":"` + q + `","MessageBody":"` + strings.Repeat("x", int(e.srv.maxBody)) + `"}`
	wantJSONError(t, e.postJSON(t, "SendMessage", big), 413, "RequestEntityTooLarge", "RequestEntityTooLarge")
	// A target of another service.
	req, _ := http.NewRequest("POST", e.endpoint+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("foreign target: %d", resp.StatusCode)
	}
}
