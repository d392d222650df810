package wire

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
)

// Protocol is the wire protocol of one request.
type Protocol int

const (
	Query Protocol = iota // form-encoded Action=..., XML replies
	JSON                  // AWS JSON 1.0
)

// TargetPrefix starts the X-Amz-Target header of the JSON protocol.
const TargetPrefix = "AmazonSQS."

// JSONContentType is the content type of JSON protocol requests and replies.
const JSONContentType = "application/x-amz-json-1.0"

var intType = reflect.TypeOf(int64(0))

// Actions maps each supported action to a constructor of its input.
var actions = map[string]func() any{
	"CreateQueue":                  func() any { return new(CreateQueueInput) },
	"GetQueueUrl":                  func() any { return new(GetQueueUrlInput) },
	"ListQueues":                   func() any { return new(ListQueuesInput) },
	"DeleteQueue":                  func() any { return new(QueueURLInput) },
	"PurgeQueue":                   func() any { return new(QueueURLInput) },
	"GetQueueAttributes":           func() any { return new(GetQueueAttributesInput) },
	"SetQueueAttributes":           func() any { return new(SetQueueAttributesInput) },
	"TagQueue":                     func() any { return new(TagQueueInput) },
	"UntagQueue":                   func() any { return new(UntagQueueInput) },
	"ListQueueTags":                func() any { return new(QueueURLInput) },
	"ListDeadLetterSourceQueues":   func() any { return new(ListDeadLetterSourceQueuesInput) },
	"SendMessage":                  func() any { return new(SendMessageInput) },
	"SendMessageBatch":             func() any { return new(SendMessageBatchInput) },
	"ReceiveMessage":               func() any { return new(ReceiveMessageInput) },
	"DeleteMessage":                func() any { return new(DeleteMessageInput) },
	"DeleteMessageBatch":           func() any { return new(BatchReceiptInput) },
	"ChangeMessageVisibility":      func() any { return new(ChangeMessageVisibilityInput) },
	"ChangeMessageVisibilityBatch": func() any { return new(BatchReceiptInput) },
	"StartMessageMoveTask":         func() any { return new(StartMessageMoveTaskInput) },
	"ListMessageMoveTasks":         func() any { return new(ListMessageMoveTasksInput) },
	"CancelMessageMoveTask":        func() any { return new(CancelMessageMoveTaskInput) },
	// Permissions need the security work; they decode, then answer
	// UnsupportedOperation.
	"AddPermission":    func() any { return new(QueueURLInput) },
	"RemovePermission": func() any { return new(QueueURLInput) },
}

// DecodeJSON decodes a JSON protocol request body for action.
func DecodeJSON(action string, body []byte) (any, error) {
	newInput, ok := actions[action]
	if !ok {
		return nil, Errorf(KindInvalidAction, "The action %s is not valid for this endpoint.", action)
	}
	if in, ok := fastDecode(action, body); ok {
		return in, nil
	}
	in := newInput()
	if len(bytes.TrimSpace(body)) == 0 {
		return in, nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		return nil, Errorf(KindSerialization, "The request body could not be read as JSON: %v", err)
	}
	return in, nil
}

// DecodeQuery decodes Query protocol parameters (form body and URL query
// merged). It returns the action and its input.
func DecodeQuery(values url.Values) (string, any, error) {
	action := values.Get("Action")
	if action == "" {
		return "", nil, Errorf(KindInvalidAction, "The request must contain the parameter Action.")
	}
	newInput, ok := actions[action]
	if !ok {
		return action, nil, Errorf(KindInvalidAction, "The action %s is not valid for this endpoint.", action)
	}
	tree, err := formTree(values)
	if err != nil {
		return action, nil, err
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		return action, nil, Errorf(KindMalformedQueryString, "%v", err)
	}
	in := newInput()
	if err := json.Unmarshal(raw, in); err != nil {
		return action, nil, Errorf(KindMalformedQueryString, "The query string is malformed: %v", err)
	}
	return action, in, nil
}

// Query parameters that are not action input: the envelope and query
// signatures (SigV2 and SigV4 presigned), which are accepted unchecked.
var envelopeParams = map[string]bool{
	"Action": true, "Version": true, "AWSAccessKeyId": true, "Signature": true,
	"SignatureMethod": true, "SignatureVersion": true, "Timestamp": true,
	"Expires": true, "SecurityToken": true,
}

// maxQueryDepth bounds how deep a parameter name nests
// (SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringListValue.1 is 7).
const maxQueryDepth = 8

// formTree folds flat Query parameters into the JSON protocol's tree.
func formTree(values url.Values) (map[string]any, error) {
	root := map[string]any{}
	for key, vals := range values {
		if envelopeParams[key] || strings.HasPrefix(key, "X-Amz-") || len(vals) == 0 {
			continue
		}
		parts := strings.Split(key, ".")
		if len(parts) > maxQueryDepth {
			return nil, Errorf(KindMalformedQueryString, "The parameter %s nests too deep.", key)
		}
		node := root
		for i, part := range parts {
			if part == "" {
				return nil, Errorf(KindMalformedQueryString, "The parameter %s is malformed.", key)
			}
			if i == len(parts)-1 {
				if _, isMap := node[part].(map[string]any); isMap {
					return nil, Errorf(KindMalformedQueryString, "The parameter %s is both a value and a structure.", key)
				}
				node[part] = vals[0]
				break
			}
			next, ok := node[part].(map[string]any)
			if !ok {
				if _, isLeaf := node[part]; isLeaf {
					return nil, Errorf(KindMalformedQueryString, "The parameter %s is both a value and a structure.", key)
				}
				next = map[string]any{}
				node[part] = next
			}
			node = next
		}
	}
	out, err := convertStruct(root)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Query names of flattened maps (entries of Name/Key and Value) and lists,
// with their JSON member names.
var (
	queryMaps = map[string]string{
		"Attribute": "Attributes", "Tag": "Tags", "Tags": "Tags",
		"MessageAttribute": "MessageAttributes", "MessageSystemAttribute": "MessageSystemAttributes",
	}
	queryLists = map[string]string{
		"AttributeName": "AttributeNames", "MessageAttributeName": "MessageAttributeNames",
		"MessageSystemAttributeName": "MessageSystemAttributeNames", "TagKey": "TagKeys",
		"SendMessageBatchRequestEntry": "Entries", "DeleteMessageBatchRequestEntry": "Entries",
		"ChangeMessageVisibilityBatchRequestEntry": "Entries",
		"StringListValue":                          "StringListValues", "BinaryListValue": "BinaryListValues",
	}
)

func convertStruct(m map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for name, v := range m {
		switch {
		case queryMaps[name] != "":
			obj, err := convertMap(name, v)
			if err != nil {
				return nil, err
			}
			out[queryMaps[name]] = obj
		case queryLists[name] != "":
			list, err := convertList(name, v)
			if err != nil {
				return nil, err
			}
			out[queryLists[name]] = list
		default:
			if sub, ok := v.(map[string]any); ok {
				conv, err := convertStruct(sub)
				if err != nil {
					return nil, err
				}
				out[name] = conv
			} else {
				out[name] = v
			}
		}
	}
	return out, nil
}

// indexed returns the children of a numbered node (Name.1, Name.2, ...) in
// index order.
func indexed(name string, v any) ([]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, Errorf(KindMalformedQueryString, "The parameter %s must be numbered (%s.1, %s.2, ...).", name, name, name)
	}
	type item struct {
		n int
		v any
	}
	items := make([]item, 0, len(m))
	for k, child := range m {
		n := 0
		for _, c := range k {
			if c < '0' || c > '9' || n > 1e6 {
				return nil, Errorf(KindMalformedQueryString, "The parameter %s.%s is not numbered.", name, k)
			}
			n = n*10 + int(c-'0')
		}
		items = append(items, item{n, child})
	}
	// Not an insertion sort: a request body holds hundreds of thousands of
	// numbered parameters, and quadratic work on them would take seconds.
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.n, b.n) })
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out, nil
}

func convertList(name string, v any) ([]any, error) {
	items, err := indexed(name, v)
	if err != nil {
		return nil, err
	}
	for i, it := range items {
		if sub, ok := it.(map[string]any); ok {
			if items[i], err = convertStruct(sub); err != nil {
				return nil, err
			}
		}
	}
	return items, nil
}

func convertMap(name string, v any) (map[string]any, error) {
	var entries []any
	if m, ok := v.(map[string]any); ok && (m["Name"] != nil || m["Key"] != nil) {
		entries = []any{m} // the legacy unnumbered Attribute.Name / Attribute.Value
	} else {
		var err error
		if entries, err = indexed(name, v); err != nil {
			return nil, err
		}
	}
	out := make(map[string]any, len(entries))
	for _, e := range entries {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, Errorf(KindMalformedQueryString, "The parameter %s needs a Name and a Value.", name)
		}
		key, ok := m["Name"].(string)
		if !ok {
			key, ok = m["Key"].(string)
		}
		if !ok {
			return nil, Errorf(KindMalformedQueryString, "The parameter %s needs a Name.", name)
		}
		val := m["Value"]
		if sub, isMap := val.(map[string]any); isMap {
			conv, err := convertStruct(sub)
			if err != nil {
				return nil, err
			}
			val = conv
		}
		if val == nil {
			val = ""
		}
		out[key] = val
	}
	return out, nil
}
