package load_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gfnpipeline/services/loader/internal/load"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/shared/warehouse/whtest"
)

// BenchmarkLoad handles the notifications for all 23 recorded years (73,942 rows): download
// from the lake, load into RAW, merge into TRANSFORMED, publish. Each iteration starts from an
// empty warehouse. It prints two lines, bench load (notifications handled benchConcurrency at
// a time, as a poller with GFN_CONCURRENCY=10 or a Lambda batch hands them over, so DuckDB
// commits them in groups) and bench load_serial (one at a time):
// rows_per_s=N cpu_rows_per_s=N concurrency=N.
func BenchmarkLoad(b *testing.B) {
	benchLoad(b, "load", benchConcurrency)
	benchLoad(b, "load_serial", 1)
}

// BenchmarkLoadFloor is the least any load of the same files must do: DuckDB alone appends
// them to RAW and to TRANSFORMED of a warehouse file (both tables must hold every row, on
// disk) with plain INSERTs, in transactions of a given number of files, and none of the
// loader's work besides: no load history, no merge on the natural key, no counts, no lake.
// It prints bench load_floor (benchConcurrency files a transaction: as many as bench load
// hands over at once), load_serial_floor (one) and load_floor_one_tx (all 23 in one):
// rows_per_s=N files_per_tx=N. The loader cannot be faster than the best of these.
func BenchmarkLoadFloor(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	at := time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC)
	var paths []string
	rows := 0
	for year := whtest.FirstYear; year <= whtest.LastYear; year++ {
		yr := whtest.YearRows(b, year, "run-bench", at)
		path := filepath.Join(dir, fmt.Sprintf("%d.parquet", year))
		whtest.WriteParquet(b, path, yr)
		paths = append(paths, path)
		rows += len(yr)
	}
	for _, line := range []struct {
		name     string
		filesPer int
	}{{"load_floor", benchConcurrency}, {"load_serial_floor", 1}, {"load_floor_one_tx", len(paths)}} {
		var elapsed time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			wh, err := warehouse.OpenDuckDB(filepath.Join(b.TempDir(), "floor.duckdb"))
			if err != nil {
				b.Fatal(err)
			}
			if err := wh.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			for first := 0; first < len(paths); first += line.filesPer {
				if err := insertBoth(ctx, wh.DB(), paths[first:min(first+line.filesPer, len(paths))]); err != nil {
					b.Fatal(err)
				}
			}
			elapsed += time.Since(start)
			b.StopTimer()
			if n, err := wh.Count(ctx); err != nil || n != int64(rows) {
				b.Fatalf("transformed rows = %d, %v; want %d", n, err, rows)
			}
			if err := wh.Close(); err != nil {
				b.Fatal(err)
			}
		}
		fmt.Printf("bench %s rows_per_s=%.0f files_per_tx=%d\n", line.name, float64(rows)*float64(b.N)/elapsed.Seconds(), line.filesPer)
	}
}

// insertBoth appends the files to RAW and TRANSFORMED in one transaction, by column name.
func insertBoth(ctx context.Context, db *sql.DB, paths []string) error {
	var reads []string
	for i, p := range paths {
		reads = append(reads, fmt.Sprintf("SELECT *, '%s' AS file_name, 'load-%d' AS load_id, now()::TIMESTAMP AS loaded_at FROM read_parquet('%s')", p, i, p))
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, table := range []string{warehouse.RawTable, warehouse.TransformedTable} {
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+table+" BY NAME "+strings.Join(reads, " UNION ALL BY NAME ")); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return tx.Commit()
}

// benchConcurrency is SQS's largest receive batch.
const benchConcurrency = 10

func benchLoad(b *testing.B, name string, concurrency int) {
	ctx := context.Background()
	store, err := lake.NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	e := &env{store: store}
	at := time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC)
	var keys []string
	rows := 0
	for year := whtest.FirstYear; year <= whtest.LastYear; year++ {
		key, n := e.putYear(b, year, "run-bench", at)
		keys = append(keys, key)
		rows += n
	}

	var elapsed, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		wh, err := warehouse.OpenDuckDB(filepath.Join(b.TempDir(), fmt.Sprintf("bench-%d.duckdb", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := wh.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		l := newBenchLoader(b, store, wh)
		b.StartTimer()
		start, startCPU := time.Now(), cpuTime()
		if err := handleAll(ctx, l, keys, concurrency); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - startCPU
		b.StopTimer()
		if n, err := wh.Count(ctx); err != nil || n != int64(rows) {
			b.Fatalf("transformed rows = %d, %v; want %d", n, err, rows)
		}
		wh.Close()
	}
	rate := float64(rows) * float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, name+"_rows/s")
	fmt.Printf("bench %s rows_per_s=%.0f cpu_rows_per_s=%.0f concurrency=%d\n", name, rate, float64(rows)*float64(b.N)/cpu.Seconds(), concurrency)
}

// handleAll handles a notification per key, concurrency at a time, in key order.
func handleAll(ctx context.Context, l *load.Loader, keys []string, concurrency int) error {
	next := make(chan string)
	errs := make(chan error, concurrency)
	for range concurrency {
		go func() {
			var err error
			for key := range next {
				if err == nil {
					err = l.Handle(ctx, &lake.ObjectCreated{Key: key})
				}
			}
			errs <- err
		}()
	}
	for _, key := range keys {
		next <- key
	}
	close(next)
	var err error
	for range concurrency {
		err = errors.Join(err, <-errs)
	}
	return err
}

// cpuTime is the process's user+system CPU time: on a busy machine, rows per CPU second
// moves less than rows per wall second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
