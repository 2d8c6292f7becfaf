package load_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/loader/internal/load"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/shared/warehouse/whtest"
)

// loaded is what the loader published: BatchLoaded events only.
func loaded(r *messagingtest.Recorder) []*contracts.BatchLoaded {
	var out []*contracts.BatchLoaded
	for _, m := range r.Messages() {
		out = append(out, m.(*contracts.BatchLoaded))
	}
	return out
}

type env struct {
	store   *lake.Dir
	wh      *warehouse.DuckDB
	pub     *messagingtest.Recorder
	loader  *load.Loader
	tempDir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wh, err := warehouse.OpenDuckDB(filepath.Join(t.TempDir(), "gfn.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	if err := wh.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &env{store: store, wh: wh, pub: &messagingtest.Recorder{}, tempDir: t.TempDir()}
	e.loader = load.New(load.Config{TempDir: e.tempDir}, store, wh, e.pub)
	return e
}

// putYear writes a recorded year as the transformer does: Parquet under transformed/ with
// run and batch ids in the object metadata.
func (e *env) putYear(t testing.TB, year int, runID string, at time.Time) (string, int) {
	t.Helper()
	rows := whtest.YearRows(t, year, runID, at)
	path := filepath.Join(t.TempDir(), "batch.parquet")
	whtest.WriteParquet(t, path, rows)
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	batchID := contracts.BatchID(year, nil, nil)
	key := transformedKey(t, at, batchID)
	meta := map[string]string{lake.MetaRunID: runID, lake.MetaBatchID: batchID}
	if err := e.store.Put(context.Background(), key, body, meta); err != nil {
		t.Fatal(err)
	}
	return key, len(rows)
}

func TestHandleLoadsOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	at := time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC)
	key, n := e.putYear(t, 2022, "run-1", at)

	for range 2 { // the second is a redelivered notification
		if err := e.loader.Handle(ctx, &lake.ObjectCreated{Bucket: e.store.Bucket(), Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := loaded(e.pub)
	if len(msgs) != 2 {
		t.Fatalf("published %d messages, want 2", len(msgs))
	}
	first, again := msgs[0], msgs[1]
	want := contracts.BatchLoaded{Header: contracts.Header{RunID: "run-1", BatchID: "ef-2022"}, Key: key,
		LoadID: first.LoadID, RowsLoaded: n, TableRows: int64(n), LoadedAt: first.LoadedAt}
	if *first != want || first.LoadID == "" || first.LoadedAt.IsZero() {
		t.Fatalf("first BatchLoaded = %+v\nwant %+v", *first, want)
	}
	want.RowsLoaded, want.AlreadyLoaded, want.LoadedAt = 0, true, again.LoadedAt
	if *again != want {
		t.Fatalf("redelivered BatchLoaded = %+v\nwant %+v", *again, want)
	}
	if got, err := e.wh.Count(ctx); err != nil || got != int64(n) {
		t.Fatalf("transformed rows = %d, %v; want %d", got, err, n)
	}

	st, err := e.loader.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TableRows != int64(n) || st.FilesLoaded != 1 || st.FilesAlreadyLoaded != 1 || st.RowsLoaded != int64(n) ||
		st.LastLoad == nil || !st.LastLoad.AlreadyLoaded || st.LastLoad.Key != key {
		t.Fatalf("status = %+v (last %+v)", st, st.LastLoad)
	}
	if left, _ := os.ReadDir(e.tempDir); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

func TestHandleIgnoresOtherObjects(t *testing.T) {
	tests := []struct{ name, key string }{
		{"raw json", lake.RawKey(time.Now(), "ef-2022")},
		{"staged ndjson", lake.StagedKey("run-1", "ef-2022")},
		{"not parquet under transformed", lake.TransformedPrefix + "year=2025/month=12/day=01/notes.json"},
		{"parquet outside transformed", "exports/data.parquet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			// Nothing is stored under the key: an ignored key must not even be fetched.
			if err := e.loader.Handle(context.Background(), &lake.ObjectCreated{Key: tc.key}); err != nil {
				t.Fatalf("Handle(%s) = %v, want ignored", tc.key, err)
			}
			if len(e.pub.Messages()) != 0 {
				t.Fatalf("published %v for an ignored key", e.pub.Messages())
			}
		})
	}
}

func TestHandleFailures(t *testing.T) {
	ctx := context.Background()
	key := transformedKey(t, time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC), "ef-2022")
	meta := map[string]string{lake.MetaRunID: "run-1", lake.MetaBatchID: "ef-2022"}
	tests := []struct {
		name          string
		body          []byte // nil: no object
		wantPermanent bool
	}{
		{"not parquet", []byte("PAR1 but not really"), true},
		{"object gone", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.body != nil {
				if err := e.store.Put(ctx, key, tc.body, meta); err != nil {
					t.Fatal(err)
				}
			}
			err := e.loader.Handle(ctx, &lake.ObjectCreated{Key: key})
			if err == nil || messaging.IsPermanent(err) != tc.wantPermanent {
				t.Fatalf("Handle = %v; want an error, permanent %v", err, tc.wantPermanent)
			}
			if len(e.pub.Messages()) != 0 {
				t.Fatalf("published %v after a failure", e.pub.Messages())
			}
			if ok, err := e.wh.FileLoaded(ctx, key); err != nil || ok {
				t.Fatalf("failed file recorded as loaded (%v, %v)", ok, err)
			}
		})
	}
}

// A failed publish is retried; the retry finds the file loaded and still announces it.
func TestHandlePublishFailureRetries(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	key, n := e.putYear(t, 2021, "run-1", time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC))
	e.pub.FailNext(-1, errors.New("sns unavailable"))
	err := e.loader.Handle(ctx, &lake.ObjectCreated{Key: key})
	if err == nil || messaging.IsPermanent(err) {
		t.Fatalf("Handle with a failing publisher = %v, want a retryable error", err)
	}
	e.pub.FailNext(0, nil)
	if err := e.loader.Handle(ctx, &lake.ObjectCreated{Key: key}); err != nil {
		t.Fatal(err)
	}
	if msgs := loaded(e.pub); len(msgs) != 1 || !msgs[0].AlreadyLoaded || msgs[0].TableRows != int64(n) {
		t.Fatalf("after retry published %+v, want one BatchLoaded (already loaded, %d table rows)", msgs, n)
	}
}

func newBenchLoader(b *testing.B, store lake.Store, wh warehouse.Warehouse) *load.Loader {
	return load.New(load.Config{TempDir: b.TempDir()}, store, wh, &messagingtest.Recorder{})
}

// transformedKey is where the transformer puts the Parquet made from a batch landed at `at`.
func transformedKey(t testing.TB, at time.Time, batchID string) string {
	t.Helper()
	key, err := lake.TransformedKey(lake.RawKey(at, batchID))
	if err != nil {
		t.Fatal(err)
	}
	return key
}
