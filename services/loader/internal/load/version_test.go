package load_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/loader/internal/load"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/shared/warehouse/whtest"
)

// Two overlapping runs rewrite the same transformed key (an unchanged year) before the loader
// reads either notification: each notification, as moto's S3 sends it to the loader's queue,
// yields BatchLoaded for its own run, and the file loads once.
func TestOverwrittenKeyAnswersEachRunFromItsOwnVersion(t *testing.T) {
	ctx := context.Background()
	cfg := awstest.Config(t)
	top := awstest.Topology(t, cfg)
	client := awsconfig.S3(cfg)
	store := lake.NewS3(client, top.Bucket)
	at := time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC)
	batchID := contracts.BatchID(2022, nil, nil)
	key := transformedKey(t, at, batchID)
	versions := map[string]string{}
	for _, run := range []string{"run-a", "run-b"} {
		path := filepath.Join(t.TempDir(), "batch.parquet")
		whtest.WriteParquet(t, path, whtest.YearRows(t, 2022, run, at))
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(top.Bucket), Key: aws.String(key),
			Body: bytes.NewReader(body), Metadata: map[string]string{lake.MetaRunID: run, lake.MetaBatchID: batchID}})
		if err != nil {
			t.Fatal(err)
		}
		versions[run] = aws.ToString(out.VersionId)
	}
	// AWS's events name the version itself.
	_, obj, err := lake.GetNotified(ctx, store, lake.ObjectCreated{Key: key, VersionID: versions["run-a"]})
	if err != nil || obj.Metadata[lake.MetaRunID] != "run-a" {
		t.Fatalf("version %s of %s: metadata %v (%v)", versions["run-a"], key, obj.Metadata, err)
	}
	queue := top.Name(contracts.QueueLoader)
	sqsClient := sqs.NewFromConfig(cfg)
	urls, err := messaging.QueueURLs(ctx, sqsClient, queue)
	if err != nil {
		t.Fatal(err)
	}
	var events []lake.ObjectCreated
	for deadline := time.Now().Add(30 * time.Second); len(events) < 2 && time.Now().Before(deadline); {
		out, err := sqsClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(urls[queue]), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			recs, err := messaging.ParseS3Event([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, recs...)
		}
	}
	if len(events) != 2 {
		t.Fatalf("%d notifications for the two puts", len(events))
	}

	wh, err := warehouse.OpenDuckDB(filepath.Join(t.TempDir(), "gfn.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	if err := wh.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	pub := &messagingtest.Recorder{}
	l := load.New(load.Config{TempDir: t.TempDir()}, store, wh, pub)
	for _, ev := range events {
		if err := l.Handle(ctx, &ev); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	fresh := 0
	for _, m := range loaded(pub) {
		got[m.RunID] = true
		if !m.AlreadyLoaded {
			fresh++
		}
	}
	if !got["run-a"] || !got["run-b"] || fresh != 1 {
		t.Fatalf("BatchLoaded for runs %v with %d fresh loads; want both runs and one load", got, fresh)
	}
}
