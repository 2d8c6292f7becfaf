package load_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
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
