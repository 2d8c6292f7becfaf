package warehouse

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/warehouse/whtest"
)

// openMigrated opens a migrated warehouse in dir, closed when the test ends.
func openMigrated(t *testing.T, dir string) *DuckDB {
	t.Helper()
	d, err := OpenDuckDB(filepath.Join(dir, "gfn.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// Loads queued together commit in one transaction, yet each file keeps its own outcome: its
// load id and rows, AlreadyLoaded for a redelivery, its own error for a bad file, and a tie on
// extracted_at still goes to the file that arrived later.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := openMigrated(t, dir)
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
		d.writer <- struct{}{}
		d.queued = append(d.queued, reqs...)
		d.loadQueued()
		<-d.writer
		return reqs
	}
	var groups int
	d.now = func() time.Time { groups++; return time.Now() }
	reqs := queue(
		FileLoad{LocalPath: first, FileName: "first"},
		FileLoad{LocalPath: second, FileName: "second"}, // the same key and extracted_at: a tie
		FileLoad{LocalPath: p2020, FileName: "y2020"},
		FileLoad{LocalPath: p2021, FileName: "y2021"},
		FileLoad{LocalPath: p2020, FileName: "y2020"}, // a redelivery: a group of its own
	)
	if groups != 3 || maxGroupFiles != 2 {
		t.Fatalf("%d transactions of up to %d files, want 3 of up to 2", groups, maxGroupFiles)
	}
	want := int64(n2020 + n2021 + 1)
	for i, wantRows := range []int{1, 1, n2020, n2021} {
		r := reqs[i]
		if r.err != nil || r.res.RowsLoaded != wantRows || r.res.AlreadyLoaded || r.res.LoadID == "" {
			t.Fatalf("load %s = %+v, %v; want %d rows loaded", r.f.FileName, r.res, r.err, wantRows)
		}
	}
	if r := reqs[3]; r.res.TableRows != want {
		t.Fatalf("table rows after the second group = %d, want %d", r.res.TableRows, want)
	}
	if r := reqs[4]; r.err != nil || !r.res.AlreadyLoaded || r.res.LoadID != reqs[2].res.LoadID {
		t.Fatalf("redelivered load = %+v, %v; want already loaded by %s", r.res, r.err, reqs[2].res.LoadID)
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

// A caller whose file an earlier group loaded returns at once, without waiting for the
// writer. Waiting, it would hold up the next load, and the files that arrive meanwhile
// would be loaded one per transaction: a convoy, which had a loader taking ten
// notifications at a time load one file per transaction.
func TestLoadedCallersDoNotWaitForTheNextLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := openMigrated(t, dir)
	file := func(name string, year int32) FileLoad {
		path := filepath.Join(dir, name+".parquet")
		whtest.WriteParquet(t, path, []contracts.Row{{Year: year, CountryCode: 1, CountryName: "Armenia", ShortName: "Armenia",
			RecordType: "EFConsTotGHA", Value: 1, RunID: "r", BatchID: "b", SourceKey: "raw/x", ExtractedAt: time.Now().UTC()}})
		return FileLoad{LocalPath: path, FileName: name}
	}
	late := file("late", 2004)
	results := make(chan error, 3)
	load := func(f FileLoad) {
		go func() {
			_, err := d.LoadFile(ctx, f)
			results <- err
		}()
	}
	queuedAre := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			d.qmu.Lock()
			q := len(d.queued)
			d.qmu.Unlock()
			if q == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d loads queued, want %d", q, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// The first group's load queues the late file (and waits until it is queued); the second
	// group's waits for release.
	release := make(chan struct{})
	var groups atomic.Int32
	d.now = func() time.Time {
		switch groups.Add(1) {
		case 1:
			load(late)
			queuedAre(1)
		case 2:
			<-release
		}
		return time.Now()
	}

	d.writer <- struct{}{} // a load is running: the next two are queued together
	for i, name := range []string{"a", "b"} {
		load(file(name, 2001+int32(i)))
	}
	queuedAre(2)
	<-d.writer
	for i := range 2 {
		select {
		case err := <-results:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of the first group's callers returned while the late file's load ran: the others waited for it", i)
		}
	}
	close(release)
	if err := <-results; err != nil {
		t.Fatal(err)
	}
	if n := groups.Load(); n != 2 {
		t.Fatalf("%d transactions, want 2: the first two files and the late one", n)
	}
}
