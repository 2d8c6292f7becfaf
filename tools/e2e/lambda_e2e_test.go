package e2e_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/tools/e2e/lambdaesm"
	"github.com/gfnpipeline/tools/e2e/stack"
)

var (
	lambdaOnce sync.Once
	lambdaDir  string
	rieBin     string
	lambdaErr  error
)

// startLambda starts a stack whose services are Lambda functions: the bootstraps `make
// package` builds, each under AWS's runtime emulator, fed by event-source pollers with
// terraform's settings.
func startLambda(t *testing.T, opts stack.Options) *stack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end stack skipped in -short mode")
	}
	lambdaOnce.Do(func() {
		root, err := stack.RepoRoot()
		if err != nil {
			lambdaErr = err
			return
		}
		if lambdaDir, lambdaErr = os.MkdirTemp("", "gfn-e2e-lambda-"); lambdaErr == nil {
			rieBin, lambdaErr = stack.BuildLambdas(context.Background(), root, lambdaDir)
		}
	})
	if lambdaErr != nil {
		t.Fatal(lambdaErr)
	}
	opts.Runtime, opts.RIE, opts.LambdaDir = stack.RuntimeLambda, rieBin, lambdaDir
	return start(t, opts)
}

// checkEventSources: every function was invoked as its mapping allows, and no invocation
// failed as a whole.
func checkEventSources(t *testing.T, s *stack.Stack) {
	t.Helper()
	root, _ := stack.RepoRoot()
	mappings, err := lambdaesm.ReadTerraform(filepath.Join(root, "terraform"))
	if err != nil {
		t.Fatal(err)
	}
	stats := s.Lambdas().Stats()
	for _, m := range mappings {
		for svc, q := range stack.ServiceQueues {
			if q != m.Queue {
				continue
			}
			st := stats[svc]
			t.Logf("%s: %+v", svc, st)
			if st.Invocations == 0 || st.LargestBatch > m.BatchSize || st.MostConcurrent > m.MaximumConcurrency || st.FailedBatches != 0 {
				t.Errorf("%s: %+v, want invocations of at most %d records, at most %d at once, none failed", svc, st, m.BatchSize, m.MaximumConcurrency)
			}
		}
	}
}

func TestLambdaBackfill(t *testing.T) {
	root, _ := stack.RepoRoot()
	s := startLambda(t, stack.Options{SimDataDir: stack.Recording(root)})
	res, err := runPipeline(t, s)
	if err != nil || res.status != "completed" || res.rowsLoaded != expectedRows(root, res) || res.rejected != 0 {
		t.Fatalf("run on Lambda: %+v %v", res, err)
	}
	assertDLQsEmpty(t, s)
	checkEventSources(t, s)
	assertLambdaMetrics(t, s)
	scheduledDLQWatchFailsRuns(t, s)
}

// assertLambdaMetrics: the Lambda runtime emits the same EMF metrics as the poller, from
// every function, with the per-batch and per-run counts of the stage that decides them.
func assertLambdaMetrics(t *testing.T, s *stack.Stack) {
	t.Helper()
	want := map[string]string{"extractor": "bytes", "validator": "rows_valid", "transformer": "bytes", "loader": "rows_loaded", "notifier": "run_completed"}
	for _, svc := range stack.Services {
		lines, err := s.EMF(svc)
		if err != nil {
			t.Fatalf("%s: %v", svc, err)
		}
		seen := map[string]float64{}
		for _, e := range lines {
			if e.Namespace != "GFN/Pipeline" || e.Fields["service"] != svc {
				t.Errorf("%s: line %+v", svc, e)
			}
			for k, v := range e.Values {
				seen[k] += v
			}
		}
		if seen["handled"] == 0 || seen[want[svc]] == 0 {
			t.Errorf("%s: handled %v, %s %v in %d EMF lines", svc, seen["handled"], want[svc], seen[want[svc]], len(lines))
		}
	}
}

func TestLambdaBackfillSurvivesAPIFaults(t *testing.T) {
	root, _ := stack.RepoRoot()
	s := startLambda(t, stack.Options{SimDataDir: stack.Recording(root), SimFaults: "500:0.2,429:0.1,reset:0.05,truncate:0.02"})
	res, err := runPipeline(t, s)
	if err != nil || res.status != "completed" || res.rowsLoaded != expectedRows(root, res) {
		t.Fatalf("run on Lambda under faults: %+v %v", res, err)
	}
	assertDLQsEmpty(t, s)
	// Each extractor instance logs to its own file (extractor-0.log, ...).
	logs, _ := filepath.Glob(strings.TrimSuffix(s.LogPath("extractor"), ".log") + "-*.log")
	retried := false
	for _, p := range logs {
		b, _ := os.ReadFile(p)
		retried = retried || strings.Contains(string(b), "gfn api retry")
	}
	if !retried {
		t.Fatalf("the extractor's logs %v show no retries under injected faults", logs)
	}
	stats, err := s.SimStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := stats["faults_injected"].(float64); f == 0 {
		t.Fatalf("no fault was injected: %v", stats)
	}
}

// scheduledDLQWatchFailsRuns: two messages reach DLQs with nothing announcing their failure
// (one moved by the redrive policy, one S3 notification the loader dead-lettered, which
// carries no run); an EventBridge scheduled event to the notifier fails both runs.
func scheduledDLQWatchFailsRuns(t *testing.T, s *stack.Stack) {
	ctx := context.Background()
	cfg := s.AWSConfig()
	top := s.Topology()
	client := sqs.NewFromConfig(cfg)
	transformerDLQ := top.Name(contracts.QueueTransformer) + contracts.DLQSuffix
	loaderDLQ := top.Name(contracts.QueueLoader) + contracts.DLQSuffix
	urls, err := messaging.QueueURLs(ctx, client, transformerDLQ, loaderDLQ)
	if err != nil {
		t.Fatal(err)
	}

	// Each run planned one batch, so the notifier can settle it once that batch fails.
	pub, err := messaging.NewAWSPublisher(cfg, top, "e2e-test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		run, batch string
		year       int
	}{{"run-dlq-s3", "ef-1900", 1900}, {"run-dlq-redrive", "ef-1901", 1901}} {
		plan := &contracts.ExtractionPlanned{Header: contracts.Header{RunID: p.run}, Mode: "full",
			Batches: []contracts.PlannedBatch{{BatchID: p.batch, Year: p.year}}, PlannedAt: time.Now(), StartedAt: time.Now()}
		if err := pub.Publish(ctx, plan); err != nil {
			t.Fatal(err)
		}
	}

	// A transformed file Snowpipe or the loader cannot load, with its run in its metadata.
	raw := lake.RawKey(time.Now(), "ef-1900")
	key, _ := lake.TransformedKey(raw)
	store := lake.NewS3(awsconfig.S3(cfg), top.Bucket)
	if err := store.Put(ctx, key, []byte("not parquet"), map[string]string{lake.MetaRunID: "run-dlq-s3", lake.MetaBatchID: "ef-1900"}); err != nil {
		t.Fatal(err)
	}
	// A BatchValidated the transformer never finished: the queue's redrive policy moved it,
	// so no reason and no BatchFailed came with it.
	body, _ := json.Marshal(&contracts.BatchValidated{Header: contracts.Header{RunID: "run-dlq-redrive", BatchID: "ef-1901"}, Year: 1901})
	str := func(v string) sqstypes.MessageAttributeValue {
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(urls[transformerDLQ]), MessageBody: aws.String(string(body)),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{contracts.AttrType: str(contracts.TypeBatchValidated), contracts.AttrRunID: str("run-dlq-redrive")}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		depths, err := s.DLQDepths(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if depths[loaderDLQ] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the loader did not dead-letter %s", key)
		}
	}

	event := `{"version":"0","id":"5f1e2d3c-0000-4000-8000-000000000001","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"` +
		time.Now().UTC().Format(time.RFC3339) + `","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/gfn-dlq-watch"],"detail":{}}`
	if out, err := s.Lambdas().Invoke(ctx, "notifier", []byte(event)); err != nil {
		t.Fatalf("scheduled invocation: %v (%s)", err, out)
	}
	for _, want := range []struct{ run, batch string }{{"run-dlq-s3", "ef-1900"}, {"run-dlq-redrive", "ef-1901"}} {
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
			out, _ := s.Gfnctl(ctx, "status", want.run, "--json")
			var rep struct {
				Status      string `json:"status"`
				FailedBatch string `json:"failed_batch"`
			}
			if json.Unmarshal([]byte(out), &rep) == nil && rep.Status == "failed" && rep.FailedBatch == want.batch {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s did not fail naming batch %s: %s", want.run, want.batch, out)
			}
		}
	}
}
