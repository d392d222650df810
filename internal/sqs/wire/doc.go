// Package wire is the pure codec of Gannet's SQS API front-end: it decodes
// requests of both wire protocols that AWS SDKs speak, the Query protocol
// (form-encoded Action=..., XML replies; boto3 before 1.34.90) and AWS JSON
// 1.0 (X-Amz-Target: AmazonSQS.<Action>; aws-sdk-go-v2 and newer boto3),
// into one set of input structs, and encodes replies and errors in each
// protocol's own shape. It knows nothing of queues or the broker.
//
// Query parameters are first folded into the JSON protocol's tree
// (Attribute.1.Name/Value becomes an Attributes object, Entry.N a list), so
// both protocols share one decoder and one set of validations.
package wire
