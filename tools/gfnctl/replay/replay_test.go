package replay_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/tools/gfnctl/replay"
)

func putRaw(t *testing.T, store lake.Store, at time.Time, batchID string, records int) string {
	t.Helper()
	key := lake.RawKey(at, batchID)
	err := store.Put(context.Background(), key, []byte("[]"), map[string]string{
		lake.MetaRunID: "run-orig", lake.MetaBatchID: batchID, lake.MetaSHA256: "sha-" + batchID + at.Format("150405"),
		lake.MetaRecords: strconv.Itoa(records), lake.MetaExtractedAt: at.Format(time.RFC3339Nano),
	})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestPlanAndEmit(t *testing.T) {
	cfg := awstest.Config(t)
	top := awstest.Topology(t, cfg)
	store := lake.NewS3(awsconfig.S3(cfg), top.Bucket)
	ctx := context.Background()
	d1 := time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)
	putRaw(t, store, d1, "ef-2005", 10)
	newer := putRaw(t, store, d1.Add(2*time.Hour), "ef-2005", 11) // extracted twice that day: the newer wins
	putRaw(t, store, d1.AddDate(0, 0, 1), "ef-2006-1a2b3c4d", 12)
	putRaw(t, store, d1.AddDate(0, 0, 3), "ef-2007", 13) // outside the range

	got, err := replay.Plan(ctx, store, d1, d1.AddDate(0, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].BatchID != "ef-2005" || got[0].Key != newer || got[0].Records != 11 || got[0].Year != 2005 ||
		got[1].BatchID != "ef-2006-1a2b3c4d" || got[1].Year != 2006 || got[1].Bytes != 2 || got[1].Bucket != top.Bucket ||
		!got[0].ExtractedAt.Equal(d1.Add(2*time.Hour)) {
		t.Fatalf("plan: %+v", got)
	}
	if _, err := replay.Plan(ctx, store, d1.AddDate(0, 0, 10), d1.AddDate(0, 0, 11)); !errors.Is(err, replay.ErrNoObjects) {
		t.Fatalf("empty range: %v", err)
	}
	if err := store.Put(ctx, lake.RawKey(d1.AddDate(0, 0, 5), "ef-2009"), []byte("[]"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := replay.Plan(ctx, store, d1.AddDate(0, 0, 5), d1.AddDate(0, 0, 5)); !errors.Is(err, replay.ErrNoMetadata) {
		t.Fatalf("object without metadata: %v", err)
	}

	pub, err := messaging.NewAWSPublisher(cfg, top, "gfnctl", slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := replay.Emit(ctx, pub, "run-replay", got, time.Now()); err != nil {
		t.Fatal(err)
	}
	// The notifier's queue gets the plan and both batches; the validator's both batches.
	for queue, want := range map[string]map[string]int{
		contracts.QueueNotifier:  {"ExtractionPlanned": 1, "RawBatchLanded": 2},
		contracts.QueueValidator: {"RawBatchLanded": 2},
	} {
		types := map[string]int{}
		client := sqs.NewFromConfig(cfg)
		url, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(top.Name(queue))})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			res, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range res.Messages {
				if aws.ToString(m.MessageAttributes[contracts.AttrRunID].StringValue) != "run-replay" {
					t.Errorf("%s: message of another run: %v", queue, m.MessageAttributes)
				}
				types[aws.ToString(m.MessageAttributes[contracts.AttrEventType].StringValue)]++
				client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url.QueueUrl, ReceiptHandle: m.ReceiptHandle})
			}
		}
		for typ, n := range want {
			if types[typ] != n {
				t.Errorf("%s got %v, want %v", queue, types, want)
			}
		}
	}
}
