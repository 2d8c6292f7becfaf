package embedded_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/warehouse/whtest"
	"github.com/gfnpipeline/tools/gfnctl/embedded"
)

// BenchmarkEmbeddedRun is `make run` over the recording: every stage, a fresh lake and
// warehouse per iteration.
func BenchmarkEmbeddedRun(b *testing.B) {
	rec := whtest.RecordingDir(b)
	var rows int64
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		res, err := embedded.Run(context.Background(), embedded.Options{DataDir: dir, SimDataDir: rec, Request: contracts.ExtractionRequested{}, Timeout: 5 * time.Minute, Logger: quiet})
		elapsed += time.Since(start)
		done, ok := res.Outcome.(*contracts.RunCompleted)
		if err != nil || !ok {
			b.Fatalf("run: %v %+v", err, res.Outcome)
		}
		rows += done.RowsLoaded
	}
	perS := float64(rows) / elapsed.Seconds()
	b.ReportMetric(perS, "rows/s")
	fmt.Printf("bench embedded_run rows_per_s=%.0f seconds=%.2f\n", perS, elapsed.Seconds()/float64(b.N))
}
