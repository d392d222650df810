package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"sort"
	"strconv"
)

// xmlNamespace is the namespace of every Query protocol reply.
const xmlNamespace = "http://queue.amazonaws.com/doc/2012-11-05/"

// EncodeJSON renders a JSON protocol reply.
func EncodeJSON(out any) []byte {
	if _, empty := out.(Empty); empty || out == nil {
		return []byte("{}")
	}
	b, err := json.Marshal(out)
	if err != nil { // the output types hold nothing json cannot encode
		return []byte("{}")
	}
	return b
}

// EncodeXML renders a Query protocol reply to action.
func EncodeXML(action, requestID string, out any) []byte {
	var w xmlWriter
	w.buf.Grow(512)
	w.raw(`<?xml version="1.0"?><`)
	w.raw(action)
	w.raw(`Response xmlns="` + xmlNamespace + `">`)
	if _, empty := out.(Empty); !empty && out != nil {
		w.open(action + "Result")
		w.result(out)
		w.close(action + "Result")
	}
	w.raw("<ResponseMetadata><RequestId>")
	w.text(requestID)
	w.raw("</RequestId></ResponseMetadata></")
	w.raw(action)
	w.raw("Response>")
	return w.buf.Bytes()
}

// EncodeErrorXML renders a Query protocol ErrorResponse.
func EncodeErrorXML(e *Error, requestID string) []byte {
	var w xmlWriter
	w.raw(`<?xml version="1.0"?><ErrorResponse xmlns="` + xmlNamespace + `"><Error><Type>`)
	if e.Sender {
		w.raw("Sender")
	} else {
		w.raw("Receiver")
	}
	w.raw("</Type>")
	w.elem("Code", e.Code)
	w.elem("Message", e.Message)
	w.raw("<Detail/></Error>")
	w.elem("RequestId", requestID)
	w.raw("</ErrorResponse>")
	return w.buf.Bytes()
}

// EncodeErrorJSON renders a JSON protocol error body; QueryErrorHeader
// gives the X-Amzn-Query-Error header that goes with it.
func EncodeErrorJSON(e *Error) []byte {
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{"com.amazonaws.sqs#" + e.Type, e.Message})
	return b
}

// QueryErrorHeader is the X-Amzn-Query-Error value that SDKs use to give a
// JSON protocol error its Query protocol code.
func QueryErrorHeader(e *Error) string {
	if e.Sender {
		return e.Code + ";Sender"
	}
	return e.Code + ";Receiver"
}

type xmlWriter struct{ buf bytes.Buffer }

func (w *xmlWriter) raw(s string)  { w.buf.WriteString(s) }
func (w *xmlWriter) open(n string) { w.buf.WriteByte('<'); w.buf.WriteString(n); w.buf.WriteByte('>') }
func (w *xmlWriter) close(n string) {
	w.buf.WriteString("</")
	w.buf.WriteString(n)
	w.buf.WriteByte('>')
}
func (w *xmlWriter) text(s string) { xml.EscapeText(&w.buf, []byte(s)) }

func (w *xmlWriter) elem(name, value string) {
	w.open(name)
	w.text(value)
	w.close(name)
}

func (w *xmlWriter) optElem(name, value string) {
	if value != "" {
		w.elem(name, value)
	}
}

// nameValues renders a flattened map as <el><Name>k</Name><Value>v</Value></el>
// in key order.
func (w *xmlWriter) nameValues(el, keyTag string, m map[string]string) {
	for _, k := range sortedKeys(m) {
		w.open(el)
		w.elem(keyTag, k)
		w.elem("Value", m[k])
		w.close(el)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (w *xmlWriter) failed(entries []BatchResultErrorEntry) {
	for _, f := range entries {
		w.open("BatchResultErrorEntry")
		w.elem("Id", f.Id)
		w.elem("SenderFault", strconv.FormatBool(f.SenderFault))
		w.elem("Code", f.Code)
		w.elem("Message", f.Message)
		w.close("BatchResultErrorEntry")
	}
}

func (w *xmlWriter) sendResult(o SendMessageOutput) {
	w.elem("MessageId", o.MessageId)
	w.elem("MD5OfMessageBody", o.MD5OfMessageBody)
	w.optElem("MD5OfMessageAttributes", o.MD5OfMessageAttributes)
	w.optElem("MD5OfMessageSystemAttributes", o.MD5OfMessageSystemAttributes)
	w.optElem("SequenceNumber", o.SequenceNumber)
}

func (w *xmlWriter) attributeValue(v MessageAttributeValue) {
	w.open("Value")
	if v.StringValue != nil {
		w.elem("StringValue", *v.StringValue)
	}
	if v.BinaryValue != nil {
		w.elem("BinaryValue", base64.StdEncoding.EncodeToString(v.BinaryValue))
	}
	for _, s := range v.StringListValues {
		w.elem("StringListValue", s)
	}
	for _, b := range v.BinaryListValues {
		w.elem("BinaryListValue", base64.StdEncoding.EncodeToString(b))
	}
	w.elem("DataType", v.DataType)
	w.close("Value")
}

func (w *xmlWriter) result(out any) {
	switch o := out.(type) {
	case CreateQueueOutput:
		w.elem("QueueUrl", o.QueueUrl)
	case GetQueueUrlOutput:
		w.elem("QueueUrl", o.QueueUrl)
	case ListQueuesOutput:
		for _, u := range o.QueueUrls {
			w.elem("QueueUrl", u)
		}
		w.optElem("NextToken", o.NextToken)
	case ListDeadLetterSourceQueuesOutput:
		for _, u := range o.QueueUrls {
			w.elem("QueueUrl", u)
		}
		w.optElem("NextToken", o.NextToken)
	case AttributesOutput:
		w.nameValues("Attribute", "Name", o.Attributes)
	case TagsOutput:
		w.nameValues("Tag", "Key", o.Tags)
	case SendMessageOutput:
		w.sendResult(o)
	case SendMessageBatchOutput:
		for _, s := range o.Successful {
			w.open("SendMessageBatchResultEntry")
			w.elem("Id", s.Id)
			w.sendResult(s.SendMessageOutput)
			w.close("SendMessageBatchResultEntry")
		}
		w.failed(o.Failed)
	case DeleteBatchOutput:
		w.idResults("DeleteMessageBatchResultEntry", o.BatchIDOutput)
	case VisibilityBatchOutput:
		w.idResults("ChangeMessageVisibilityBatchResultEntry", o.BatchIDOutput)
	case ReceiveMessageOutput:
		for _, m := range o.Messages {
			w.message(m)
		}
	case StartMessageMoveTaskOutput:
		w.elem("TaskHandle", o.TaskHandle)
	case CancelMessageMoveTaskOutput:
		w.elem("ApproximateNumberOfMessagesMoved", strconv.FormatInt(o.ApproximateNumberOfMessagesMoved, 10))
	case ListMessageMoveTasksOutput:
		for _, t := range o.Results {
			w.open("ListMessageMoveTasksResultEntry")
			w.optElem("TaskHandle", t.TaskHandle)
			w.elem("Status", t.Status)
			w.elem("SourceArn", t.SourceArn)
			w.optElem("DestinationArn", t.DestinationArn)
			if t.MaxNumberOfMessagesPerSecond != nil {
				w.elem("MaxNumberOfMessagesPerSecond", strconv.FormatInt(*t.MaxNumberOfMessagesPerSecond, 10))
			}
			w.elem("ApproximateNumberOfMessagesMoved", strconv.FormatInt(t.ApproximateNumberOfMessagesMoved, 10))
			if t.ApproximateNumberOfMessagesToMove != nil {
				w.elem("ApproximateNumberOfMessagesToMove", strconv.FormatInt(*t.ApproximateNumberOfMessagesToMove, 10))
			}
			w.optElem("FailureReason", t.FailureReason)
			w.elem("StartedTimestamp", strconv.FormatInt(t.StartedTimestamp, 10))
			w.close("ListMessageMoveTasksResultEntry")
		}
	}
}

func (w *xmlWriter) idResults(el string, o BatchIDOutput) {
	for _, s := range o.Successful {
		w.open(el)
		w.elem("Id", s.Id)
		w.close(el)
	}
	w.failed(o.Failed)
}

func (w *xmlWriter) message(m Message) {
	w.open("Message")
	w.elem("MessageId", m.MessageId)
	w.elem("ReceiptHandle", m.ReceiptHandle)
	w.elem("MD5OfBody", m.MD5OfBody)
	w.elem("Body", m.Body)
	w.nameValues("Attribute", "Name", m.Attributes)
	w.optElem("MD5OfMessageAttributes", m.MD5OfMessageAttributes)
	for _, k := range sortedKeys(m.MessageAttributes) {
		w.open("MessageAttribute")
		w.elem("Name", k)
		w.attributeValue(m.MessageAttributes[k])
		w.close("MessageAttribute")
	}
	w.close("Message")
}

// DeleteBatchOutput and VisibilityBatchOutput differ only in their Query
// protocol element names.
type (
	DeleteBatchOutput     struct{ BatchIDOutput }
	VisibilityBatchOutput struct{ BatchIDOutput }
)
