package warehouse

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/warehouse/whtest"
)

// Loads queued together commit in one transaction, yet each file keeps its own outcome: its
// load id and rows, AlreadyLoaded for a redelivery, its own error for a bad file, and a tie on
// extracted_at still goes to the file that arrived later.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := OpenDuckDB(filepath.Join(dir, "gfn.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC)
	year := func(y int) (string, int) {
		rows := whtest.YearRows(t, y, "run-1", at)
		path := filepath.Join(dir, filepath.Base(t.Name())+string(rune('a'+y-2000))+".parquet")
		whtest.WriteParquet(t, path, rows)
		return path, len(rows)
	}
	p2020, n2020 := year(2020)
	p2021, n2021 := year(2021)
	one := func(name string, v float64) string {
		path := filepath.Join(dir, name)
		whtest.WriteParquet(t, path, []contracts.Row{{Year: 1999, CountryCode: 1, CountryName: "Armenia", ShortName: "Armenia",
			RecordType: "EFConsTotGHA", Value: v, RunID: "r", BatchID: "ef-1999", SourceKey: "raw/x", ExtractedAt: at}})
		return path
	}
	first, second := one("first.parquet", 1), one("second.parquet", 2)
	bad := filepath.Join(dir, "bad.parquet")
	if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}

	queue := func(files ...FileLoad) []*loadRequest {
		reqs := make([]*loadRequest, len(files))
		for i, f := range files {
			reqs[i] = &loadRequest{ctx: ctx, f: f, done: make(chan struct{})}
		}
		d.mu.Lock()
		d.queued = append(d.queued, reqs...)
		d.loadQueued()
		d.mu.Unlock()
		return reqs
	}
	reqs := queue(
		FileLoad{LocalPath: p2020, FileName: "y2020"},
		FileLoad{LocalPath: first, FileName: "first"},
		FileLoad{LocalPath: second, FileName: "second"},
		FileLoad{LocalPath: p2021, FileName: "y2021"},
		FileLoad{LocalPath: p2020, FileName: "y2020"}, // a redelivery: the next group
	)
	want := int64(n2020 + n2021 + 1)
	for i, wantRows := range []int{n2020, 1, 1, n2021} {
		r := reqs[i]
		if r.err != nil || r.res.RowsLoaded != wantRows || r.res.AlreadyLoaded || r.res.TableRows != want || r.res.LoadID == "" {
			t.Fatalf("load %s = %+v, %v; want %d rows loaded, %d in the table", r.f.FileName, r.res, r.err, wantRows, want)
		}
	}
	if r := reqs[4]; r.err != nil || !r.res.AlreadyLoaded || r.res.LoadID != reqs[0].res.LoadID {
		t.Fatalf("redelivered load = %+v, %v; want already loaded by %s", r.res, r.err, reqs[0].res.LoadID)
	}
	var v float64
	if err := d.db.QueryRowContext(ctx, `SELECT value FROM `+TransformedTable+` WHERE year = 1999`).Scan(&v); err != nil || v != 2 {
		t.Fatalf("tied key holds %v (%v), want 2 from the later file", v, err)
	}

	reqs = queue(
		FileLoad{LocalPath: bad, FileName: "bad"},
		FileLoad{LocalPath: one("third.parquet", 3), FileName: "third"},
	)
	if reqs[0].err == nil {
		t.Fatal("bad file loaded")
	}
	if r := reqs[1]; r.err != nil || r.res.RowsLoaded != 1 || r.res.TableRows != want {
		t.Fatalf("load beside a bad file = %+v, %v; want 1 row loaded", r.res, r.err)
	}
	if err := d.db.QueryRowContext(ctx, `SELECT value FROM `+TransformedTable+` WHERE year = 1999`).Scan(&v); err != nil || v != 3 {
		t.Fatalf("tied key holds %v (%v), want 3 from the latest load", v, err)
	}
	var history int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM `+LoadHistoryTable).Scan(&history); err != nil || history != 5 {
		t.Fatalf("load history rows = %d (%v), want 5", history, err)
	}
}
