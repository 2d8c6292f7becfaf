package dlqwatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/notifier/internal/dlqwatch"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
)

func str(v string) sqstypes.MessageAttributeValue {
	return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

func TestAlertsOncePerNewMessageAndLeavesItThere(t *testing.T) {
	cfg := awstest.Config(t)
	top := awstest.Topology(t, cfg)
	client := sqs.NewFromConfig(cfg)
	ctx := context.Background()
	dlq := top.Queues[1].DLQ()
	urls, err := messaging.QueueURLs(ctx, client, dlq)
	if err != nil {
		t.Fatal(err)
	}
	send := func(body string, attrs map[string]sqstypes.MessageAttributeValue) {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(urls[dlq]), MessageBody: aws.String(body), MessageAttributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"run_id":"run-9","batch_id":"ef-2005","year":2005}`, map[string]sqstypes.MessageAttributeValue{
		contracts.AttrType: str(contracts.TypeRawBatchLanded), contracts.AttrRunID: str("run-9"), contracts.AttrError: str("failed 4 deliveries: boom"),
	})
	send(`{"Records":[]}`, nil) // moved by redrive policy: no reason recorded

	pub := &messagingtest.Recorder{}
	var told []dlqwatch.Alert
	w := dlqwatch.New(client, top.DLQs(), lake.NewS3(awsconfig.S3(cfg), top.Bucket), pub, func(_ context.Context, a dlqwatch.Alert) error {
		told = append(told, a)
		return nil
	})
	alerts, err := w.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 2 || len(told) != 2 {
		t.Fatalf("%d alerts, %d told; want 2", len(alerts), len(told))
	}
	again, err := w.Check(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second check alerted %d times (%v)", len(again), err)
	}
	if len(pub.Messages()) != 1 {
		t.Fatalf("published %d BatchFailed, want 1 (only the pipeline message has a run)", len(pub.Messages()))
	}
	f := pub.Messages()[0].(*contracts.BatchFailed)
	if f.RunID != "run-9" || f.BatchID != "ef-2005" || f.Stage != top.Queues[1].Name || f.Reason != "failed 4 deliveries: boom" {
		t.Fatalf("BatchFailed %+v", f)
	}
	// The watch only looks: both messages are still there, visible at once.
	res, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(urls[dlq]), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil || len(res.Messages) != 2 {
		t.Fatalf("DLQ shows %d messages after the watch (%v), want 2", len(res.Messages), err)
	}
}

// An S3 notification carries no envelope: the watch fails the run the object's metadata
// names. A notification for an object that is gone alerts with the batch in its key.
func TestDeadLetteredNotificationFailsTheObjectsRun(t *testing.T) {
	cfg := awstest.Config(t)
	top := awstest.Topology(t, cfg)
	client := sqs.NewFromConfig(cfg)
	ctx := context.Background()
	store := lake.NewS3(awsconfig.S3(cfg), top.Bucket)
	dlq := top.Name(contracts.QueueLoader) + contracts.DLQSuffix
	urls, err := messaging.QueueURLs(ctx, client, dlq)
	if err != nil {
		t.Fatal(err)
	}
	raw := lake.RawKey(time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC), "ef-1999")
	key, _ := lake.TransformedKey(raw)
	if err := store.Put(ctx, key, []byte("PAR1"), map[string]string{lake.MetaRunID: "run-7", lake.MetaBatchID: "ef-1999"}); err != nil {
		t.Fatal(err)
	}
	goneRaw := lake.RawKey(time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC), "ef-2001")
	gone, _ := lake.TransformedKey(goneRaw)
	for _, k := range []string{key, gone} {
		body := messaging.S3EventBody(lake.ObjectCreated{Bucket: top.Bucket, Key: k, Size: 4})
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(urls[dlq]), MessageBody: aws.String(string(body))}); err != nil {
			t.Fatal(err)
		}
	}
	pub := &messagingtest.Recorder{}
	alerts, err := dlqwatch.New(client, top.DLQs(), store, pub, nil).Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]dlqwatch.Alert{}
	for _, a := range alerts {
		byKey[a.Key] = a
	}
	if a := byKey[gone]; len(alerts) != 2 || a.BatchID != "ef-2001" || a.RunID != "" {
		t.Fatalf("alerts %+v: want both notifications, the gone object's with batch ef-2001 and no run", alerts)
	}
	if len(pub.Messages()) != 1 {
		t.Fatalf("published %d messages, want one BatchFailed", len(pub.Messages()))
	}
	f, ok := pub.Messages()[0].(*contracts.BatchFailed)
	if !ok || f.RunID != "run-7" || f.BatchID != "ef-1999" || f.Stage != top.Name(contracts.QueueLoader) {
		t.Fatalf("published %+v, want BatchFailed for run-7/ef-1999 at the loader", pub.Messages()[0])
	}
}
