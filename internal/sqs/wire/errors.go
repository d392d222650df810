package wire

import "fmt"

// Error is an SQS API error: Code is the query-protocol code (what
// boto3's Error.Code and the X-Amzn-Query-Error header carry), Type the
// JSON protocol's shape name, Status the HTTP status.
type Error struct {
	Code    string
	Type    string
	Status  int
	Sender  bool // Sender (client) fault, else Receiver (server)
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// errorKind is one row of AWS' error table.
type errorKind struct {
	code, typ string
	status    int
	sender    bool
}

// Error kinds, with the codes and statuses AWS documents.
var (
	KindNonExistentQueue      = errorKind{"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", 400, true}
	KindQueueAlreadyExists    = errorKind{"QueueAlreadyExists", "QueueNameExists", 400, true}
	KindQueueDeletedRecently  = errorKind{"AWS.SimpleQueueService.QueueDeletedRecently", "QueueDeletedRecently", 400, true}
	KindInvalidParameterValue = errorKind{"InvalidParameterValue", "InvalidParameterValue", 400, true}
	KindMissingParameter      = errorKind{"MissingParameter", "MissingParameter", 400, true}
	KindInvalidAttributeName  = errorKind{"InvalidAttributeName", "InvalidAttributeName", 400, true}
	KindInvalidAttributeValue = errorKind{"InvalidAttributeValue", "InvalidAttributeValue", 400, true}
	KindInvalidMessage        = errorKind{"InvalidMessageContents", "InvalidMessageContents", 400, true}
	KindTooManyEntries        = errorKind{"AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "TooManyEntriesInBatchRequest", 400, true}
	KindEmptyBatch            = errorKind{"AWS.SimpleQueueService.EmptyBatchRequest", "EmptyBatchRequest", 400, true}
	KindIDsNotDistinct        = errorKind{"AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "BatchEntryIdsNotDistinct", 400, true}
	KindInvalidBatchEntryID   = errorKind{"AWS.SimpleQueueService.InvalidBatchEntryId", "InvalidBatchEntryId", 400, true}
	KindBatchTooLong          = errorKind{"AWS.SimpleQueueService.BatchRequestTooLong", "BatchRequestTooLong", 400, true}
	KindReceiptHandleInvalid  = errorKind{"ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 400, true}
	KindMessageNotInflight    = errorKind{"AWS.SimpleQueueService.MessageNotInflight", "MessageNotInflight", 400, true}
	KindPurgeInProgress       = errorKind{"AWS.SimpleQueueService.PurgeQueueInProgress", "PurgeQueueInProgress", 403, true}
	KindUnsupportedOperation  = errorKind{"AWS.SimpleQueueService.UnsupportedOperation", "UnsupportedOperation", 400, true}
	KindResourceNotFound      = errorKind{"ResourceNotFoundException", "ResourceNotFoundException", 404, true}
	KindOverLimit             = errorKind{"OverLimit", "OverLimit", 403, true}
	KindInvalidAction         = errorKind{"InvalidAction", "UnknownOperationException", 400, true}
	KindMalformedQueryString  = errorKind{"MalformedQueryString", "MalformedQueryString", 400, true}
	KindSerialization         = errorKind{"SerializationException", "SerializationException", 400, true}
	KindRequestTooLarge       = errorKind{"RequestEntityTooLarge", "RequestEntityTooLarge", 413, true}
	KindInternal              = errorKind{"InternalError", "InternalError", 500, false}
	KindServiceUnavailable    = errorKind{"ServiceUnavailable", "ServiceUnavailable", 503, false}
)

// Errorf builds an error of kind k.
func Errorf(k errorKind, format string, args ...any) *Error {
	return &Error{Code: k.code, Type: k.typ, Status: k.status, Sender: k.sender, Message: fmt.Sprintf(format, args...)}
}

// NonExistentQueue is AWS' wording for a missing queue.
func NonExistentQueue() *Error {
	return Errorf(KindNonExistentQueue, "The specified queue does not exist.")
}

// InvalidParameter is AWS' "Value x for parameter y is invalid. Reason: z."
func InvalidParameter(param, value, reason string) *Error {
	return Errorf(KindInvalidParameterValue, "Value %s for parameter %s is invalid. Reason: %s", value, param, reason)
}

// Missing is AWS' wording for a missing required parameter.
func Missing(param string) *Error {
	return Errorf(KindMissingParameter, "The request must contain the parameter %s.", param)
}

// BatchEntryError is one failed entry of a batch call: it goes in the
// reply's Failed list, not as the reply's error.
func BatchEntryError(id string, e *Error) BatchResultErrorEntry {
	return BatchResultErrorEntry{Id: id, SenderFault: e.Sender, Code: e.Code, Message: e.Message}
}
