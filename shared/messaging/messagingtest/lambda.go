package messagingtest

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ReceiveAsLambda receives n messages from queue without deleting them, as Lambda's SQS event
// source does, and hands them over as the event a function gets.
func ReceiveAsLambda(ctx context.Context, client *sqs.Client, queueURL, queueName string, n int) (events.SQSEvent, error) {
	var ev events.SQSEvent
	for deadline := time.Now().Add(10 * time.Second); len(ev.Records) < n && time.Now().Before(deadline); {
		res, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 120,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return ev, err
		}
		for _, m := range res.Messages {
			r := events.SQSMessage{
				MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
				Attributes: m.Attributes, EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:" + queueName,
				MessageAttributes: map[string]events.SQSMessageAttribute{},
			}
			for k, v := range m.MessageAttributes {
				r.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: v.StringValue, DataType: aws.ToString(v.DataType)}
			}
			ev.Records = append(ev.Records, r)
		}
	}
	if len(ev.Records) != n {
		return ev, fmt.Errorf("received %d of %d messages from %s", len(ev.Records), n, queueName)
	}
	return ev, nil
}
