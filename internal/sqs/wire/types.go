package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// OptInt is an optional integer. It accepts a JSON number or, because
// Query parameters are text, a string holding one.
type OptInt struct {
	Value int64
	Set   bool
}

// UnmarshalJSON reads a number, a numeric string or null.
func (o *OptInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*o = OptInt{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "number " + strconv.Quote(string(b)), Type: intType}
	}
	*o = OptInt{Value: n, Set: true}
	return nil
}

// Or returns the value, or def when unset.
func (o OptInt) Or(def int64) int64 {
	if o.Set {
		return o.Value
	}
	return def
}

// MessageAttributeValue is one message (or message system) attribute.
type MessageAttributeValue struct {
	DataType         string   `json:"DataType"`
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
}

// Inputs, one per action; field names are the JSON protocol's.

type CreateQueueInput struct {
	QueueName  string
	Attributes map[string]string
	Tags       map[string]string `json:"tags"`
}

type QueueURLInput struct { // DeleteQueue, PurgeQueue, ListQueueTags
	QueueUrl string
}

type GetQueueUrlInput struct {
	QueueName              string
	QueueOwnerAWSAccountId string
}

type ListQueuesInput struct {
	QueueNamePrefix string
	NextToken       string
	MaxResults      OptInt
}

type GetQueueAttributesInput struct {
	QueueUrl       string
	AttributeNames []string
}

type SetQueueAttributesInput struct {
	QueueUrl   string
	Attributes map[string]string
}

type TagQueueInput struct {
	QueueUrl string
	Tags     map[string]string
}

type UntagQueueInput struct {
	QueueUrl string
	TagKeys  []string
}

type ListDeadLetterSourceQueuesInput struct {
	QueueUrl   string
	NextToken  string
	MaxResults OptInt
}

type SendMessageInput struct {
	QueueUrl string
	SendMessageEntry
}

// SendMessageEntry is what SendMessage and each SendMessageBatch entry carry.
type SendMessageEntry struct {
	Id                      string
	MessageBody             *string
	DelaySeconds            OptInt
	MessageAttributes       map[string]MessageAttributeValue
	MessageSystemAttributes map[string]MessageAttributeValue
	MessageDeduplicationId  *string
	MessageGroupId          *string
}

type SendMessageBatchInput struct {
	QueueUrl string
	Entries  []SendMessageEntry
}

type ReceiveMessageInput struct {
	QueueUrl                    string
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
	MaxNumberOfMessages         OptInt
	VisibilityTimeout           OptInt
	WaitTimeSeconds             OptInt
	ReceiveRequestAttemptId     string
}

type DeleteMessageInput struct {
	QueueUrl      string
	ReceiptHandle string
}

// ReceiptEntry is a DeleteMessageBatch or ChangeMessageVisibilityBatch entry.
type ReceiptEntry struct {
	Id                string
	ReceiptHandle     string
	VisibilityTimeout OptInt
}

type BatchReceiptInput struct {
	QueueUrl string
	Entries  []ReceiptEntry
}

type ChangeMessageVisibilityInput struct {
	QueueUrl          string
	ReceiptHandle     string
	VisibilityTimeout OptInt
}

type StartMessageMoveTaskInput struct {
	SourceArn                    string
	DestinationArn               string
	MaxNumberOfMessagesPerSecond OptInt
}

type ListMessageMoveTasksInput struct {
	SourceArn  string
	MaxResults OptInt
}

type CancelMessageMoveTaskInput struct {
	TaskHandle string
}

// Outputs.

type CreateQueueOutput struct{ QueueUrl string }

type GetQueueUrlOutput struct{ QueueUrl string }

type ListQueuesOutput struct {
	QueueUrls []string `json:"QueueUrls,omitempty"`
	NextToken string   `json:"NextToken,omitempty"`
}

type ListDeadLetterSourceQueuesOutput struct {
	QueueUrls []string `json:"queueUrls"`
	NextToken string   `json:"NextToken,omitempty"`
}

type AttributesOutput struct { // GetQueueAttributes
	Attributes map[string]string `json:"Attributes,omitempty"`
}

type TagsOutput struct { // ListQueueTags
	Tags map[string]string `json:"Tags,omitempty"`
}

type SendMessageOutput struct {
	MessageId                    string
	MD5OfMessageBody             string
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
	SequenceNumber               string `json:"SequenceNumber,omitempty"`
}

type SendMessageBatchResultEntry struct {
	Id string
	SendMessageOutput
}

type BatchResultErrorEntry struct {
	Id          string
	SenderFault bool
	Code        string
	Message     string
}

type SendMessageBatchOutput struct {
	Successful []SendMessageBatchResultEntry
	Failed     []BatchResultErrorEntry
}

type BatchIDResultEntry struct{ Id string }

// BatchIDOutput is the reply of DeleteMessageBatch and ChangeMessageVisibilityBatch.
type BatchIDOutput struct {
	Successful []BatchIDResultEntry
	Failed     []BatchResultErrorEntry
}

type Message struct {
	MessageId              string
	ReceiptHandle          string
	MD5OfBody              string
	Body                   string
	Attributes             map[string]string                `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string                           `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]MessageAttributeValue `json:"MessageAttributes,omitempty"`
}

type ReceiveMessageOutput struct {
	Messages []Message `json:"Messages,omitempty"`
}

type StartMessageMoveTaskOutput struct{ TaskHandle string }

type MoveTask struct {
	TaskHandle                        string `json:"TaskHandle,omitempty"`
	Status                            string
	SourceArn                         string
	DestinationArn                    string `json:"DestinationArn,omitempty"`
	MaxNumberOfMessagesPerSecond      *int64 `json:"MaxNumberOfMessagesPerSecond,omitempty"`
	ApproximateNumberOfMessagesMoved  int64
	ApproximateNumberOfMessagesToMove *int64 `json:"ApproximateNumberOfMessagesToMove,omitempty"`
	FailureReason                     string `json:"FailureReason,omitempty"`
	StartedTimestamp                  int64
}

type ListMessageMoveTasksOutput struct {
	Results []MoveTask `json:"Results,omitempty"`
}

type CancelMessageMoveTaskOutput struct {
	ApproximateNumberOfMessagesMoved int64
}

// Empty is the reply of actions that return nothing but a request id.
type Empty struct{}
