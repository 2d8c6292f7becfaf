package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/notifier/internal/notify"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
	"github.com/gfnpipeline/shared/runledger"
)

var start = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

func h(batch string) contracts.Header { return contracts.Header{RunID: "run-1", BatchID: batch} }

func plan(batches ...string) *contracts.ExtractionPlanned {
	p := &contracts.ExtractionPlanned{Header: contracts.Header{RunID: "run-1"}, Mode: "full", StartedAt: start}
	for i, b := range batches {
		p.Batches = append(p.Batches, contracts.PlannedBatch{BatchID: b, Year: 2000 + i})
	}
	return p
}

// planned is the run's plan and each batch's landing and validation (10 rows in, all valid),
// as the extractor and validator report them before the batch's load.
func planned(batches ...string) []contracts.Message {
	out := []contracts.Message{plan(batches...)}
	for _, b := range batches {
		out = append(out, &contracts.RawBatchLanded{Header: h(b), Records: 10},
			&contracts.BatchValidated{Header: h(b), RowsIn: 10, RowsValid: 10})
	}
	return out
}

func loaded(batch string, tableRows int64) *contracts.BatchLoaded {
	return &contracts.BatchLoaded{Header: h(batch), Key: "transformed/" + batch, RowsLoaded: 10, TableRows: tableRows}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name       string
		events     []contracts.Message
		want       string // "", RunCompleted, RunFailed
		rowsLoaded int64
		reason     string
	}{
		{"nothing planned yet", []contracts.Message{loaded("a", 5)}, "", 0, ""},
		{"one of two loaded", []contracts.Message{plan("a", "b"), loaded("a", 5)}, "", 0, ""},
		{"all loaded, largest table count wins", append(planned("a", "b"), loaded("b", 9), loaded("a", 5)), "RunCompleted", 9, ""},
		{"a load before its batch's landing waits for it (its rows in)", []contracts.Message{plan("a"),
			&contracts.BatchValidated{Header: h("a"), RowsIn: 10, RowsValid: 10}, loaded("a", 5)}, "", 0, ""},
		{"a load before its batch's validation waits for it (its rejects)", []contracts.Message{plan("a"),
			&contracts.RawBatchLanded{Header: h("a"), Records: 10}, loaded("a", 5)}, "", 0, ""},
		{"a load whose landing a stage gave up on does not wait", []contracts.Message{plan("a"), loaded("a", 5),
			&contracts.BatchFailed{Header: h("a"), Stage: "gfn-notifier", Reason: "dead-lettered"}}, "RunCompleted", 5, ""},
		{"a year without data counts as done", append(planned("a", "b"), loaded("a", 5),
			&contracts.BatchTransformed{Header: h("b"), Rows: 0}), "RunCompleted", 5, ""},
		{"a quarantine waits for the other batches", []contracts.Message{plan("a", "b"),
			&contracts.BatchQuarantined{Header: h("b"), Reason: "reject ratio 12% exceeds 5%", RowsRejected: 40}}, "", 0, ""},
		{"a quarantine fails the run once the rest loaded, counting what loaded", append(planned("a", "b"),
			&contracts.BatchQuarantined{Header: h("b"), Reason: "reject ratio 12% exceeds 5%", RowsRejected: 40}, loaded("a", 5)),
			"RunFailed", 5, "quarantined: reject ratio 12% exceeds 5%"},
		{"a dead letter waits for the other batches", []contracts.Message{plan("a", "b"),
			&contracts.BatchFailed{Header: h("a"), Stage: "gfn-extractor", Reason: "permanent: 403"}}, "", 0, ""},
		{"dead letter fails the run", []contracts.Message{plan("a"),
			&contracts.BatchFailed{Header: h("a"), Stage: "gfn-extractor", Reason: "permanent: 403"}}, "RunFailed", 0, "gfn-extractor gave up: permanent: 403"},
		{"failure before planning fails the run", []contracts.Message{
			&contracts.BatchFailed{Header: contracts.Header{RunID: "run-1"}, Stage: "gfn-extractor", Reason: "permanent: 403"}}, "RunFailed", 0, "gfn-extractor gave up: permanent: 403"},
		{"a failure before planning is resolved once the run is planned", []contracts.Message{
			&contracts.BatchFailed{Header: contracts.Header{RunID: "run-1"}, Stage: "gfn-extractor", Reason: "x"}, plan("a")}, "", 0, ""},
		{"a redriven batch that loads completes the run", append(planned("a", "b"), loaded("a", 5),
			&contracts.BatchFailed{Header: h("b"), Stage: "gfn-loader", Reason: "x"}, loaded("b", 8)), "RunCompleted", 8, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, err := lake.NewDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			ledger := runledger.New(store)
			ctx := context.Background()
			for _, e := range tc.events {
				if err := ledger.Record(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			run, err := ledger.Load(ctx, "run-1")
			if err != nil {
				t.Fatal(err)
			}
			got := notify.Evaluate(run, start.Add(time.Minute))
			switch {
			case tc.want == "" && got != nil:
				t.Fatalf("decided %s too early", got.EventType())
			case tc.want == "":
				return
			case got == nil || got.EventType() != tc.want:
				t.Fatalf("outcome %v, want %s", got, tc.want)
			}
			switch o := got.(type) {
			case *contracts.RunCompleted:
				if o.RowsLoaded != tc.rowsLoaded || o.DurationSec != 60 {
					t.Fatalf("summary %+v", o.RunSummary)
				}
			case *contracts.RunFailed:
				if o.Reason != tc.reason || o.RowsLoaded != tc.rowsLoaded || o.FailedBatches != len(o.Failures) {
					t.Fatalf("reason %q, want %q; summary %+v", o.Reason, tc.reason, o)
				}
			}
		})
	}
}

// A quarantine is alerted at once; the run's outcome waits for the other batch, then names
// the failed batch and counts what loaded. Redeliveries alert and announce nothing more.
func TestQuarantineAlertsAtOnceAndFailsTheRunOnceSettled(t *testing.T) {
	var (
		mu    sync.Mutex
		posts []string
	)
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var msg map[string]string
		json.Unmarshal(b, &msg)
		mu.Lock()
		posts = append(posts, msg["text"])
		mu.Unlock()
	}))
	defer slack.Close()
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pub := &messagingtest.Recorder{}
	n := notify.New(notify.Config{SlackWebhookURL: slack.URL}, store, pub)
	ctx := context.Background()
	q := &contracts.BatchQuarantined{Header: h("ef-2005"), Year: 2005, Reason: "reject ratio 12.00% exceeds 5.00%", RowsIn: 100, RowsRejected: 12}
	for _, e := range append(planned("ef-2004", "ef-2005"), q, q) {
		if err := n.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	if len(posts) != 1 || !strings.Contains(posts[0], "ef-2005") || !strings.Contains(posts[0], "quarantined") {
		t.Fatalf("slack alerts %q, want one naming the quarantined batch", posts)
	}
	mu.Unlock()
	if out := pub.Messages(); len(out) != 0 {
		t.Fatalf("outcome %+v announced while ef-2004 is in flight", out)
	}
	for _, e := range []contracts.Message{loaded("ef-2004", 3), loaded("ef-2004", 3), q} {
		if err := n.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	out := pub.Messages()
	if len(out) != 1 {
		t.Fatalf("published %d outcomes, want exactly one", len(out))
	}
	f, ok := out[0].(*contracts.RunFailed)
	if !ok || f.FailedBatch != "ef-2005" || !strings.Contains(f.Reason, "reject ratio 12.00%") || f.FailedBatches != 1 ||
		len(f.Failures) != 1 || f.Failures[0].Year != 2001 || f.RowsLoaded != 3 {
		t.Fatalf("outcome %+v", out[0])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 2 || !strings.Contains(posts[1], "1 of 2 batches failed") || !strings.Contains(posts[1], "ef-2005") {
		t.Fatalf("slack posts %q", posts)
	}
}

// dirNotifier is a notifier on a directory ledger, and what it publishes.
func dirNotifier(t *testing.T) (*notify.Notifier, *messagingtest.Recorder) {
	t.Helper()
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pub := &messagingtest.Recorder{}
	return notify.New(notify.Config{}, store, pub), pub
}

// Every failed batch is named, with its reason.
func TestRunFailedNamesEveryFailedBatch(t *testing.T) {
	n, pub := dirNotifier(t)
	ctx := context.Background()
	for _, e := range append(planned("a", "b", "c"),
		&contracts.BatchFailed{Header: h("c"), Stage: "gfn-loader", Reason: "bad parquet"},
		loaded("b", 7),
		&contracts.BatchQuarantined{Header: h("a"), Reason: "too many rejects"},
	) {
		if err := n.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	out := pub.Messages()
	if len(out) != 1 {
		t.Fatalf("%d outcomes", len(out))
	}
	f := out[0].(*contracts.RunFailed)
	want := []contracts.BatchFailure{{BatchID: "a", Year: 2000, Reason: "quarantined: too many rejects"},
		{BatchID: "c", Year: 2002, Reason: "gfn-loader gave up: bad parquet"}}
	if f.FailedBatches != 2 || f.RowsLoaded != 7 || len(f.Failures) != 2 || f.Failures[0] != want[0] || f.Failures[1] != want[1] {
		t.Fatalf("RunFailed %+v", f)
	}
}

// The publish fails once after the outcome was claimed (SNS down, or the function died): the
// retry of the same event announces the claimed outcome, on the S3 ledger the notifier uses in
// production; a later event of the run announces nothing twice.
func TestOutcomeClaimedButNotPublishedIsAnnouncedOnRetry(t *testing.T) {
	cfg := awstest.Config(t)
	top := awstest.Topology(t, cfg)
	store := lake.NewS3(awsconfig.S3(cfg), top.Bucket)
	pub := &messagingtest.Recorder{}
	ctx := context.Background()
	n := notify.New(notify.Config{}, store, pub)
	for _, e := range append(planned("a", "b"), loaded("a", 5)) {
		if err := n.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	last := loaded("b", 9)
	pub.FailNext(1, errors.New("sns: service unavailable"))
	if err := n.Handle(ctx, last); err == nil {
		t.Fatal("a failed publish was not reported: the message would be deleted")
	}
	if out := pub.Messages(); len(out) != 0 {
		t.Fatalf("published %+v", out)
	}
	// Another event of the run (a redelivered BatchLoaded of a) does not take over the claim.
	if err := notify.New(notify.Config{}, store, pub).Handle(ctx, loaded("a", 5)); err != nil {
		t.Fatal(err)
	}
	if out := pub.Messages(); len(out) != 0 {
		t.Fatalf("another event announced the claim: %+v", out)
	}
	// The retry, on a fresh instance (the Lambda that failed is gone), announces it.
	if err := notify.New(notify.Config{}, store, pub).Handle(ctx, last); err != nil {
		t.Fatal(err)
	}
	if err := n.Handle(ctx, last); err != nil {
		t.Fatal(err)
	}
	out := pub.Messages()
	if len(out) != 1 {
		t.Fatalf("%d outcomes announced, want 1", len(out))
	}
	if c, ok := out[0].(*contracts.RunCompleted); !ok || c.RowsLoaded != 9 {
		t.Fatalf("outcome %+v", out[0])
	}
	run, err := runledger.New(store).Load(ctx, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := run.OutcomeMessage(); err != nil || m == nil {
		t.Fatalf("ledger outcome %v (%v)", m, err)
	}
}

// A claim whose event was dead-lettered is announced by any later event of the run once the
// claim's lease has passed.
func TestStaleClaimIsAnnouncedByAnyEvent(t *testing.T) {
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pub := &messagingtest.Recorder{}
	ctx := context.Background()
	now := start
	n := notify.New(notify.Config{Now: func() time.Time { return now }}, store, pub)
	for _, e := range planned("a") {
		if err := n.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	pub.FailNext(1, errors.New("sns down"))
	if err := n.Handle(ctx, loaded("a", 4)); err == nil {
		t.Fatal("want the publish error")
	}
	now = now.Add(10 * time.Minute)
	if err := n.Handle(ctx, &contracts.BatchFailed{Header: h("a"), Stage: "gfn-notifier", Reason: "dead-lettered"}); err != nil {
		t.Fatal(err)
	}
	if out := pub.Messages(); len(out) != 1 || out[0].EventType() != "RunCompleted" {
		t.Fatalf("outcomes %+v", out)
	}
}

// The webhook URL is a secret: a network error names neither it nor its path.
func TestSlackErrorDoesNotLeakTheWebhookURL(t *testing.T) {
	secret := "http://127.0.0.1:1/services/T000/B000/very-secret-token"
	err := notify.Slack{URL: secret, Client: &http.Client{Timeout: time.Second}}.Post(context.Background(), "hi")
	if err == nil {
		t.Fatal("posting to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "very-secret-token") || strings.Contains(err.Error(), "/services/") {
		t.Fatalf("error leaks the webhook URL: %v", err)
	}
	err = notify.Slack{URL: "http://[::1:bad/very-secret-token", Client: http.DefaultClient}.Post(context.Background(), "hi")
	if err == nil || strings.Contains(err.Error(), "very-secret-token") {
		t.Fatalf("parse error leaks the webhook URL: %v", err)
	}
}

// Several notifier instances on the S3 ledger announce a run once.
func TestConcurrentNotifiersOnS3AnnounceOnce(t *testing.T) {
	cfg := awstest.Config(t)
	top := awstest.Topology(t, cfg)
	store := lake.NewS3(awsconfig.S3(cfg), top.Bucket)
	pub := &messagingtest.Recorder{}
	ctx := context.Background()
	batches := []string{"a", "b", "c", "d"}
	first := notify.New(notify.Config{}, store, pub)
	for _, e := range planned(batches...) {
		if err := first.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A fresh instance each: no shared cache, only the ledger in S3.
			n := notify.New(notify.Config{}, store, pub)
			for range 3 {
				if err := n.Handle(ctx, loaded(b, int64(10*(i+1)))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	out := pub.Messages()
	if len(out) != 1 {
		t.Fatalf("%d outcomes announced, want 1", len(out))
	}
	c, ok := out[0].(*contracts.RunCompleted)
	if !ok || c.Batches != 4 || c.RowsLoaded != 40 {
		t.Fatalf("outcome %+v", out[0])
	}
}

// A landing redelivered after its batch's load (the notifier was killed holding it) is what
// completes the run, with the batch's rows counted in.
func TestLateLandingCompletesTheRun(t *testing.T) {
	n, pub := dirNotifier(t)
	ctx := context.Background()
	for _, e := range []contracts.Message{plan("a"), &contracts.BatchValidated{Header: h("a"), RowsIn: 10, RowsValid: 10}, loaded("a", 10)} {
		if err := n.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if out := pub.Messages(); len(out) != 0 {
		t.Fatalf("announced %+v before the batch's landing", out)
	}
	if err := n.Handle(ctx, &contracts.RawBatchLanded{Header: h("a"), Records: 10}); err != nil {
		t.Fatal(err)
	}
	out := pub.Messages()
	if len(out) != 1 {
		t.Fatalf("%d outcomes, want 1", len(out))
	}
	if c, ok := out[0].(*contracts.RunCompleted); !ok || c.RowsIn != 10 || c.RowsLoaded != 10 {
		t.Fatalf("outcome %+v", out[0])
	}
}
