// Command fn is a Lambda function for the event source poller's tests: each record's body says
// what to do with it.
package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		switch {
		case strings.HasPrefix(r.Body, "fail"):
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		case r.Body == "error":
			return resp, errors.New("the whole batch failed")
		case r.Body == "stranger":
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: "not-in-this-batch"})
		case r.Body == "slow":
			select {
			case <-ctx.Done():
			case <-time.After(time.Minute):
			}
		}
	}
	return resp, nil
}

func main() { lambda.Start(handle) }
