package messaging

import (
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// DecodeSQS reads a received SQS message as a Delivery from queue: the one decoding of SQS
// attributes, which the poller, the Lambda handler, the DLQ watch and gfnctl's DLQ tools
// share. Message attributes are strings (a binary value as its bytes); the receive count is
// the attempt and the sent timestamp SentAt (zero where the receive did not ask for them).
func DecodeSQS(queue string, m sqstypes.Message) Delivery {
	d := Delivery{MessageID: aws.ToString(m.MessageId), Queue: queue,
		Attributes: make(map[string]string, len(m.MessageAttributes)), Body: []byte(aws.ToString(m.Body))}
	for k, v := range m.MessageAttributes {
		if v.StringValue != nil {
			d.Attributes[k] = *v.StringValue
		} else if v.BinaryValue != nil {
			d.Attributes[k] = string(v.BinaryValue)
		}
	}
	d.Attempt, _ = strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	if ms, err := strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		d.SentAt = time.UnixMilli(ms).UTC()
	}
	return d
}

// sqsMessageOf is a Lambda event source record as the SDK's received message, for DecodeSQS.
func sqsMessageOf(r events.SQSMessage) sqstypes.Message {
	attrs := make(map[string]sqstypes.MessageAttributeValue, len(r.MessageAttributes))
	for k, v := range r.MessageAttributes {
		attrs[k] = sqstypes.MessageAttributeValue{DataType: aws.String(v.DataType), StringValue: v.StringValue, BinaryValue: v.BinaryValue}
	}
	return sqstypes.Message{MessageId: aws.String(r.MessageId), Body: aws.String(r.Body), ReceiptHandle: aws.String(r.ReceiptHandle),
		Attributes: r.Attributes, MessageAttributes: attrs}
}
