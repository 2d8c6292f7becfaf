package status_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/runledger"
	"github.com/gfnpipeline/tools/gfnctl/dlq"
	"github.com/gfnpipeline/tools/gfnctl/status"
)

func TestGather(t *testing.T) {
	cfg := awstest.Config(t)
	top := awstest.Topology(t, cfg)
	ctx := context.Background()
	store := lake.NewS3(awsconfig.S3(cfg), top.Bucket)
	tool := &dlq.Tool{SQS: sqs.NewFromConfig(cfg), Topology: top, HoldFor: 10 * time.Second}
	if _, err := status.Newest(ctx, store); !errors.Is(err, status.ErrNoRuns) {
		t.Fatalf("empty ledger: %v", err)
	}

	ledger := runledger.New(store)
	h := func(run, batch string) contracts.Header { return contracts.Header{RunID: run, BatchID: batch} }
	record := func(ms ...contracts.Message) {
		for _, m := range ms {
			if err := ledger.Record(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	record(&contracts.ExtractionPlanned{Header: h("run-a", ""), Batches: []contracts.PlannedBatch{{BatchID: "ef-2005", Year: 2005}}})
	time.Sleep(1100 * time.Millisecond) // S3 times are in seconds: make run-b start later
	record(
		&contracts.ExtractionPlanned{Header: h("run-b", ""), Batches: []contracts.PlannedBatch{{BatchID: "ef-2005", Year: 2005}, {BatchID: "ef-2006", Year: 2006}}},
		&contracts.RawBatchLanded{Header: h("run-b", "ef-2005"), Year: 2005, Records: 100},
		&contracts.BatchValidated{Header: h("run-b", "ef-2005"), RowsValid: 98, RowsRejected: 2},
		&contracts.BatchTransformed{Header: h("run-b", "ef-2005"), Rows: 98},
		&contracts.BatchLoaded{Header: h("run-b", "ef-2005"), RowsLoaded: 98},
		&contracts.BatchFailed{Header: h("run-b", "ef-2006"), Stage: "gfn-extractor", Reason: "failed 4 deliveries: GET /data/all/2006: 500"},
	)
	newest, err := status.Newest(ctx, store)
	if err != nil || newest != "run-b" {
		t.Fatalf("newest: %q %v", newest, err)
	}
	rep, err := status.Gather(ctx, store, tool, newest)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != status.StatusRunning || len(rep.Batches) != 2 || len(rep.Queues) != 2*len(top.Queues) {
		t.Fatalf("report: %+v", rep)
	}
	b5, b6 := rep.Batches[0], rep.Batches[1]
	if !b5.Planned || *b5.Landed != 100 || *b5.Validated != 98 || *b5.Rejected != 2 || *b5.Transformed != 98 || *b5.Loaded != 98 || b5.Failure != "" {
		t.Fatalf("ef-2005: %+v", b5)
	}
	if b6.Year != 2006 || b6.Landed != nil || !strings.Contains(b6.Failure, "gfn-extractor gave up") {
		t.Fatalf("ef-2006: %+v", b6)
	}
	wantStages := []status.Stage{
		{Name: "extractor", Handled: 1, Failed: 1, LastError: "failed 4 deliveries: GET /data/all/2006: 500"},
		{Name: "validator", Handled: 1}, {Name: "transformer", Handled: 1}, {Name: "loader", Handled: 1},
	}
	if fmt.Sprint(rep.Stages) != fmt.Sprint(wantStages) {
		t.Fatalf("stages %+v, want %+v", rep.Stages, wantStages)
	}
	if e := rep.LastError; e == nil || e.Source != "ledger" || e.BatchID != "ef-2006" {
		t.Fatalf("last error: %+v", e)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil || !strings.Contains(table.String(), "run run-b: running") || !strings.Contains(table.String(), "last error (ledger, batch ef-2006)") ||
		!strings.Contains(table.String(), "extractor    1        1       failed 4 deliveries") {
		t.Fatalf("table (%v):\n%s", err, table.String())
	}

	// Without a failure in the ledger, the newest DLQ message's reason is the last error.
	url, err := tool.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(top.Name(contracts.QueueLoader + contracts.DLQSuffix))})
	if err != nil {
		t.Fatal(err)
	}
	for _, reason := range []string{"older", "newest"} {
		time.Sleep(10 * time.Millisecond)
		if _, err := tool.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url.QueueUrl, MessageBody: aws.String("{}"), MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			contracts.AttrError: {DataType: aws.String("String"), StringValue: aws.String(reason)},
			contracts.AttrRunID: {DataType: aws.String("String"), StringValue: aws.String("run-a")},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err = status.Gather(ctx, store, tool, "run-a")
	if err != nil {
		t.Fatal(err)
	}
	if e := rep.LastError; e == nil || e.Source != "dlq" || e.Error != "newest" || e.RunID != "run-a" {
		t.Fatalf("last error from the DLQ: %+v", e)
	}
	for _, q := range rep.Queues {
		if q.Name == top.Name(contracts.QueueLoader+contracts.DLQSuffix) && (q.Visible != 2 || !q.DLQ) {
			t.Fatalf("loader DLQ depth: %+v", q)
		}
	}
	// A run no stage reported on yet is pending, with its queues; nothing to show without them.
	pending, err := status.Gather(ctx, store, tool, "run-none")
	if err != nil || pending.Status != status.StatusPending || len(pending.Queues) != 2*len(top.Queues) || len(pending.Batches) != 0 {
		t.Fatalf("run not in the ledger: %+v %v", pending, err)
	}
	if _, err := status.Gather(ctx, store, nil, "run-none"); !errors.Is(err, status.ErrNoRuns) {
		t.Fatalf("unknown run without queues: %v", err)
	}
}

// The production Soda job's record in the run's ledger (soda/lambda/handler.py writes it)
// appears in the report and its table.
func TestGatherShowsTheSodaScan(t *testing.T) {
	ctx := context.Background()
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plan := &contracts.ExtractionPlanned{Header: contracts.Header{RunID: "run-q"}, Batches: []contracts.PlannedBatch{{BatchID: "ef-2022", Year: 2022}}}
	if err := runledger.New(store).Record(ctx, plan); err != nil {
		t.Fatal(err)
	}
	rep, err := status.Gather(ctx, store, nil, "run-q")
	if err != nil || rep.Quality != nil {
		t.Fatalf("before the scan: quality %+v, %v", rep.Quality, err)
	}
	scan := `{"run_id": "run-q", "passed": 17, "failed": 1, "total": 18,
  "failed_checks": ["No duplicate natural keys (country_code, year, record_type)"], "errors": [],
  "scanned_at": "2026-11-29T16:00:00Z", "data_source": "snowflake"}`
	if err := store.Put(ctx, lake.RunQualityKey("run-q"), []byte(scan), nil); err != nil {
		t.Fatal(err)
	}
	if rep, err = status.Gather(ctx, store, nil, "run-q"); err != nil {
		t.Fatal(err)
	}
	if q := rep.Quality; q == nil || q.Passed != 17 || q.Total != 18 || len(q.FailedChecks) != 1 {
		t.Fatalf("quality %+v", rep.Quality)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if want := "quality (soda tier 2 on snowflake, 2026-11-29T16:00:00Z): 17/18 checks passed; failed: No duplicate natural keys"; !strings.Contains(table.String(), want) {
		t.Fatalf("table lacks %q:\n%s", want, table.String())
	}
}
