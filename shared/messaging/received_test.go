package messaging

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The poller's SDK message and the Lambda record of the same message decode alike.
func TestDecodeSQSReadsBothTransports(t *testing.T) {
	sent := time.Date(2026, 11, 29, 6, 0, 0, 123e6, time.UTC)
	system := map[string]string{"ApproximateReceiveCount": "3", "SentTimestamp": "1795932000123"}
	want := Delivery{MessageID: "m-1", Attempt: 3, Queue: "gfn-validator", Body: []byte(`{"a":1}`), SentAt: sent,
		Attributes: map[string]string{"run_id": "run-1", "blob": "bytes"}}

	sdk := DecodeSQS("gfn-validator", sqstypes.Message{MessageId: aws.String("m-1"), Body: aws.String(`{"a":1}`), Attributes: system,
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"run_id": {DataType: aws.String("String"), StringValue: aws.String("run-1")},
			"blob":   {DataType: aws.String("Binary"), BinaryValue: []byte("bytes")},
		}})
	lambda := DecodeSQS("gfn-validator", sqsMessageOf(events.SQSMessage{MessageId: "m-1", Body: `{"a":1}`, Attributes: system,
		MessageAttributes: map[string]events.SQSMessageAttribute{
			"run_id": {DataType: "String", StringValue: aws.String("run-1")},
			"blob":   {DataType: "Binary", BinaryValue: []byte("bytes")},
		}}))
	for name, got := range map[string]Delivery{"sdk": sdk, "lambda": lambda} {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	if d := DecodeSQS("q", sqstypes.Message{}); d.Attempt != 0 || !d.SentAt.IsZero() || len(d.Attributes) != 0 {
		t.Errorf("empty message decoded as %+v", d)
	}
}
