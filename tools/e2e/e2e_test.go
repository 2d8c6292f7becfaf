package e2e_test

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/contracts"
	loader "github.com/gfnpipeline/services/loader/service"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/tools/e2e/stack"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error

	snowBuildOnce sync.Once
	snowBuildErr  error

	endpointOnce sync.Once
)

// The stacks of most tests run two at a time (t.Parallel). The kill -9 and SIGTERM tests and
// the Lambda tests run alone, before them: they time restarts against visibility timeouts and
// invocations against the functions' own timeouts, which a busy machine would stretch.

// start builds the binaries once per test binary (into the shared directory: up to date
// when another package built them) and starts a stack with its own names.
func start(t *testing.T, opts stack.Options) *stack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end stack skipped in -short mode")
	}
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	buildOnce.Do(func() {
		binDir = stack.SharedDir(root)
		buildErr = stack.Build(context.Background(), root, binDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	if opts.Warehouse == stack.WarehouseSnowflake {
		snowBuildOnce.Do(func() { snowBuildErr = stack.BuildSnowflake(context.Background(), root, binDir) })
		if snowBuildErr != nil {
			t.Fatal(snowBuildErr)
		}
	}
	dir := t.TempDir()
	if err := os.Symlink(binDir+"/bin", dir+"/bin"); err != nil {
		t.Fatal(err)
	}
	// Share the emulator CI started (or start one for this binary), process-wide: the tests
	// run in parallel, which t.Setenv does not allow.
	endpoint := awstest.Endpoint(t)
	endpointOnce.Do(func() { os.Setenv("AWS_ENDPOINT_URL", endpoint) })
	opts.Root, opts.Dir, opts.Prefix = root, dir, awstest.Prefix()
	s, err := stack.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(s.Logs(4000))
		}
		s.Stop()
	})
	return s
}

var summary = regexp.MustCompile(`(?m)^run=(\S+) status=(\w+) batches=(\d+) rows_in=(\d+) rows_loaded=(\d+) rejected=(\d+) seconds=([\d.]+) failed_batches=(\d+)$`)

type result struct {
	runID, status                                        string
	batches, rowsIn, rowsLoaded, rejected, failedBatches int
}

func runPipeline(t *testing.T, s *stack.Stack, args ...string) (result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := s.Gfnctl(ctx, append([]string{"run", "--wait", "--timeout", "8m"}, args...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	m := summary.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line is not the summary: %q (err %v)", out, err)
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	return result{runID: m[1], status: m[2], batches: n(3), rowsIn: n(4), rowsLoaded: n(5), rejected: n(6), failedBatches: n(8)}, err
}

func assertDLQsEmpty(t *testing.T, s *stack.Stack) {
	t.Helper()
	depths, err := s.DLQDepths(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for q, n := range depths {
		if n != 0 {
			t.Errorf("%s holds %d messages", q, n)
		}
	}
}

// expectedRows: the recording holds 73,942 records with no duplicate keys; generated data
// is whatever the simulator generates (checked against rows_in instead).
func expectedRows(root string, res result) int {
	if stack.Recording(root) != "" {
		return 73942
	}
	return res.rowsIn
}

func TestBackfillThenRerunThenIncremental(t *testing.T) {
	t.Parallel()
	root, _ := stack.RepoRoot()
	s := start(t, stack.Options{SimDataDir: stack.Recording(root)})

	full, err := runPipeline(t, s)
	if err != nil || full.status != "completed" {
		t.Fatalf("full run: %+v %v", full, err)
	}
	want := expectedRows(root, full)
	if full.rowsLoaded != want || full.rowsIn != want || full.rejected != 0 {
		t.Fatalf("full run %+v, want %d rows loaded", full, want)
	}
	again, err := runPipeline(t, s)
	if err != nil || again.status != "completed" || again.rowsLoaded != want {
		t.Fatalf("second full run %+v (%v): loads must be idempotent", again, err)
	}
	inc, err := runPipeline(t, s, "--mode", "incremental")
	if err != nil || inc.status != "completed" {
		t.Fatalf("incremental run %+v: %v", inc, err)
	}
	// Everything has landed: only the newest three years are checked again.
	if inc.batches != 3 || inc.rowsLoaded != want {
		t.Fatalf("incremental run %+v, want 3 batches and %d rows", inc, want)
	}
	assertDLQsEmpty(t, s)
	redeliverEveryNotification(t, s, want)
}

// Snowpipe semantics: S3 may notify twice; every file still loads once.
func redeliverEveryNotification(t *testing.T, s *stack.Stack, want int) {
	ctx := context.Background()
	cfg := s.AWSConfig()
	top := s.Topology()
	files, err := lake.NewS3(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), top.Bucket).List(ctx, lake.TransformedPrefix)
	if err != nil || len(files) == 0 {
		t.Fatalf("transformed files: %d (%v)", len(files), err)
	}
	client := sqs.NewFromConfig(cfg)
	urls, err := messaging.QueueURLs(ctx, client, top.Name(contracts.QueueLoader))
	if err != nil {
		t.Fatal(err)
	}
	before := loaderStatus(t, s)
	for _, f := range files {
		body := messaging.S3EventBody(lake.ObjectCreated{Bucket: top.Bucket, Key: f.Key, Size: f.Size})
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(urls[top.Name(contracts.QueueLoader)]), MessageBody: aws.String(string(body))}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := loaderStatus(t, s)
		if st.FilesAlreadyLoaded-before.FilesAlreadyLoaded == len(files) {
			if st.TableRows != int64(want) || st.FilesLoaded != before.FilesLoaded {
				t.Fatalf("after redelivery: %+v (before %+v)", st, before)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("loader saw %d of %d redelivered notifications", st.FilesAlreadyLoaded-before.FilesAlreadyLoaded, len(files))
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.Stop()
	wh, err := warehouse.OpenDuckDB(s.DuckDBPath())
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	var histFiles, maxLoads, rows int64
	if err := wh.DB().QueryRow("SELECT count(*), max(loads) FROM "+warehouse.LoadHistoryTable).Scan(&histFiles, &maxLoads); err != nil {
		t.Fatal(err)
	}
	if err := wh.DB().QueryRow("SELECT count(*) FROM " + warehouse.TransformedTable).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if histFiles != int64(len(files)) || maxLoads != 1 || rows != int64(want) {
		t.Fatalf("load history: %d files (want %d), max loads %d (want 1); transformed rows %d (want %d)", histFiles, len(files), maxLoads, rows, want)
	}
}

func loaderStatus(t *testing.T, s *stack.Stack) loader.Status {
	t.Helper()
	var st loader.Status
	if err := s.LoaderStatus(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestBackfillSurvivesAPIFaults(t *testing.T) {
	t.Parallel()
	root, _ := stack.RepoRoot()
	s := start(t, stack.Options{SimDataDir: stack.Recording(root), SimFaults: "500:0.2,429:0.1,reset:0.05,truncate:0.02"})
	res, err := runPipeline(t, s)
	if err != nil || res.status != "completed" || res.rowsLoaded != expectedRows(root, res) {
		t.Fatalf("run under faults: %+v %v", res, err)
	}
	assertDLQsEmpty(t, s)
	logs, _ := os.ReadFile(s.LogPath("extractor"))
	if !strings.Contains(string(logs), "gfn api retry") {
		t.Fatal("the extractor's logs show no retries under injected faults")
	}
	stats, err := s.SimStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := stats["faults_injected"].(float64); f == 0 {
		t.Fatalf("no fault was injected: %v", stats)
	}
}

func TestWrongKeyFailsFastAfterOneForbidden(t *testing.T) {
	t.Parallel()
	s := start(t, stack.Options{ServiceAPIKey: "not-the-key"})
	begin := time.Now()
	res, err := runPipeline(t, s)
	if err == nil || res.status != "failed" {
		t.Fatalf("run with a wrong key: %+v %v", res, err)
	}
	if !strings.Contains(err.Error(), "rejected the API key (403)") {
		t.Fatalf("the error does not name the cause: %v", err)
	}
	if d := time.Since(begin); d > time.Minute {
		t.Fatalf("took %v to fail", d)
	}
	stats, err := s.SimStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := stats["forbidden"].(float64); f != 1 {
		t.Fatalf("simulator answered 403 %v times, want exactly 1", stats["forbidden"])
	}
}
