package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/notifier/notify"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
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
		{"all loaded, largest table count wins", []contracts.Message{plan("a", "b"), loaded("b", 9), loaded("a", 5)}, "RunCompleted", 9, ""},
		{"a year without data counts as done", []contracts.Message{plan("a", "b"), loaded("a", 5),
			&contracts.BatchTransformed{Header: h("b"), Rows: 0}}, "RunCompleted", 5, ""},
		{"quarantine fails the run at once", []contracts.Message{plan("a", "b"),
			&contracts.BatchQuarantined{Header: h("b"), Reason: "reject ratio 12% exceeds 5%", RowsRejected: 40}}, "RunFailed", 0, "quarantined: reject ratio 12% exceeds 5%"},
		{"dead letter fails the run", []contracts.Message{plan("a"),
			&contracts.BatchFailed{Header: h("a"), Stage: "gfn-extractor", Reason: "permanent: 403"}}, "RunFailed", 0, "gfn-extractor gave up: permanent: 403"},
		{"failure before planning fails the run", []contracts.Message{
			&contracts.BatchFailed{Header: contracts.Header{RunID: "run-1"}, Stage: "gfn-extractor", Reason: "permanent: 403"}}, "RunFailed", 0, "gfn-extractor gave up: permanent: 403"},
		{"a redriven batch that loads completes the run", []contracts.Message{plan("a", "b"), loaded("a", 5),
			&contracts.BatchFailed{Header: h("b"), Stage: "gfn-loader", Reason: "x"}, loaded("b", 8)}, "RunCompleted", 8, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, err := lake.NewDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			ledger := notify.NewLedger(store)
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
				if o.Reason != tc.reason {
					t.Fatalf("reason %q, want %q", o.Reason, tc.reason)
				}
			}
		})
	}
}

func TestQuarantineAnnouncesExactlyOneRunFailedAndTellsSlack(t *testing.T) {
	var (
		mu    sync.Mutex
		posts []string
	)
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(b))
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
	q := &contracts.BatchQuarantined{Header: h("ef-2005"), Reason: "reject ratio 12.00% exceeds 5.00%", RowsIn: 100, RowsRejected: 12}
	// Redelivery of the quarantine and later events must not announce again.
	for _, e := range []contracts.Message{plan("ef-2004", "ef-2005"), q, q, loaded("ef-2004", 3)} {
		if err := n.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	out := pub.Messages()
	if len(out) != 1 {
		t.Fatalf("published %d outcomes, want exactly one", len(out))
	}
	f, ok := out[0].(*contracts.RunFailed)
	if !ok || f.FailedBatch != "ef-2005" || !strings.Contains(f.Reason, "reject ratio 12.00%") {
		t.Fatalf("outcome %+v", out[0])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 1 {
		t.Fatalf("slack got %d posts", len(posts))
	}
	var msg map[string]string
	if err := json.Unmarshal([]byte(posts[0]), &msg); err != nil || !strings.Contains(msg["text"], "ef-2005") {
		t.Fatalf("slack post %q", posts[0])
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
	if err := first.Handle(ctx, plan(batches...)); err != nil {
		t.Fatal(err)
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
