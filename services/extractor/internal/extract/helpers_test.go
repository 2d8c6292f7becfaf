package extract_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/extractor/internal/extract"
	"github.com/gfnpipeline/services/extractor/internal/gfnapi"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
	"github.com/gfnpipeline/tools/gfnapi-sim/sim"
)

// recordingDir is ../shared/data relative to the repository root.
const recordingDir = "../../../../../shared/data/gfn-api-recording"

const apiKey = "extract-test-key"

func haveRecording() bool {
	files, _ := filepath.Glob(filepath.Join(recordingDir, "data_all_*.json.gz"))
	return len(files) > 0
}

var errPublish = errors.New("publish failed")

func ofType[T contracts.Message](msgs []contracts.Message) []T {
	var out []T
	for _, m := range msgs {
		if t, ok := m.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

type env struct {
	sim   *sim.Server
	url   string
	store *lake.Dir
	pub   *messagingtest.Recorder
	ex    *extract.Extractor
}

type envOpts struct {
	sim    sim.Config
	client func(*gfnapi.Config)
	cfg    extract.Config
	store  *lake.Dir // reuse a lake across environments
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	o.sim.APIKey = apiKey
	o.sim.Logger = slog.New(slog.DiscardHandler)
	s, err := sim.New(o.sim)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	e := newEnvFor(t, ts.URL, o)
	e.sim = s
	return e
}

// newEnvFor points an extractor at any server (for hand-made bad responses).
func newEnvFor(t testing.TB, url string, o envOpts) *env {
	t.Helper()
	store := o.store
	if store == nil {
		var err error
		if store, err = lake.NewDir(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	ccfg := gfnapi.Config{
		BaseURL: url + "/v1", APIKey: apiKey, RatePerSecond: 1000, Burst: 1000,
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, MaxAttempts: 10,
	}
	if o.client != nil {
		o.client(&ccfg)
	}
	pub := &messagingtest.Recorder{}
	return &env{url: url, store: store, pub: pub, ex: extract.New(o.cfg, gfnapi.New(ccfg), store, pub)}
}

// run plans req and handles every planned batch, `workers` at a time like parallel consumers.
func (e *env) run(t testing.TB, req contracts.ExtractionRequested, workers int) (*contracts.ExtractionPlanned, []*contracts.RawBatchLanded) {
	t.Helper()
	ctx := context.Background()
	if err := e.ex.Handle(ctx, &req); err != nil {
		t.Fatalf("plan: %v", err)
	}
	planMsgs := e.pub.Take()
	planned := ofType[*contracts.ExtractionPlanned](planMsgs)
	batches := ofType[*contracts.ExtractionRequested](planMsgs)
	if len(planned) != 1 || len(batches) != len(planned[0].Batches) {
		t.Fatalf("plan published %d plans and %d batch commands", len(planned), len(batches))
	}
	work := make(chan *contracts.ExtractionRequested)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range work {
				if err := e.ex.Handle(ctx, b); err != nil {
					t.Errorf("batch %s: %v", b.BatchID, err)
				}
			}
		})
	}
	for _, b := range batches {
		work <- b
	}
	close(work)
	wg.Wait()
	return planned[0], ofType[*contracts.RawBatchLanded](e.pub.Take())
}

func gunzipIfNeeded(t testing.TB, b []byte) []byte {
	t.Helper()
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readGz(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return gunzipIfNeeded(t, b)
}
