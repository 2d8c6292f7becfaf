package messaging

import (
	"context"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/telemetry"
)

// LambdaHandler is the SQS event-source handler for the same consumers the poller runs. Each
// record goes through the same policy; the records to come back are reported as batch item
// failures (ReportBatchItemFailures), so the rest of the batch is deleted.
func LambdaHandler(client *sqs.Client, policy Policy, logger *slog.Logger, consumers ...Consumer) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	byQueue := make(map[string]Consumer, len(consumers))
	for _, c := range consumers {
		byQueue[c.Queue] = c
	}
	var (
		mu   sync.Mutex
		urls = map[string]string{}
	)
	queueURL := func(ctx context.Context, name string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if u, ok := urls[name]; ok {
			return u, nil
		}
		res, err := QueueURLs(ctx, client, name)
		if err != nil {
			return "", err
		}
		urls[name] = res[name]
		return res[name], nil
	}
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			queue := awsconfig.ResourceName(r.EventSourceARN)
			if !processRecord(ctx, r, queue, byQueue, queueURL, client, policy, logger) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}
}

func processRecord(ctx context.Context, r events.SQSMessage, queue string, byQueue map[string]Consumer,
	queueURL func(context.Context, string) (string, error), client *sqs.Client, policy Policy, logger *slog.Logger) bool {
	log := logger.With("queue", queue, "message_id", r.MessageId)
	c, ok := byQueue[queue]
	if !ok {
		log.Error("no consumer for queue; record returns to the queue")
		return false
	}
	src, err := queueURL(ctx, queue)
	if err != nil {
		log.Error("resolve queue", "error", err.Error())
		return false
	}
	dlq, err := queueURL(ctx, queue+contracts.DLQSuffix)
	if err != nil {
		log.Error("resolve dlq", "error", err.Error())
		return false
	}
	d := DecodeSQS(queue, sqsMessageOf(r))
	s := sqsSettler{client: client, queueURL: src, dlqURL: dlq, receipt: r.ReceiptHandle}
	return policy.Process(telemetry.WithLogger(ctx, logger), c, d, s)
}
