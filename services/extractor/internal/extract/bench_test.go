package extract_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/extractor/internal/gfnapi"
	"github.com/gfnpipeline/shared/lake"
)

// BenchmarkExtract: a full backfill 2000-2022 (the recording when present, else generated
// data) from the simulator over HTTP into a fresh directory lake, three batches at a time
// like three consumers. The client's rate limit is raised to 10,000 req/s (burst 10,000) so
// the code is measured, not GFN's 2 req/s; concurrency stays at the default 3 in flight.
func BenchmarkExtract(b *testing.B) {
	o := envOpts{client: func(c *gfnapi.Config) { c.RatePerSecond, c.Burst = 10000, 10000 }}
	source := "generated"
	if haveRecording() {
		o.sim.DataDir, source = recordingDir, "recording"
	}
	e := newEnv(b, o)
	root := b.TempDir()
	var rows, bytesIn int64
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		store, err := lake.NewDir(filepath.Join(root, strconv.Itoa(i)))
		if err != nil {
			b.Fatal(err)
		}
		o.store = store
		run := newEnvFor(b, e.url, o)
		_, landed := run.run(b, contracts.ExtractionRequested{
			Header: contracts.Header{RunID: "bench"}, Mode: contracts.ModeFull, FromYear: 2000, ToYear: 2022, RequestedAt: time.Now(),
		}, 3)
		for _, ev := range landed {
			rows += int64(ev.Records)
			bytesIn += ev.Bytes
		}
	}
	secs := time.Since(start).Seconds()
	b.StopTimer()
	rps, mbps := float64(rows)/secs, float64(bytesIn)/secs/1e6
	b.ReportMetric(rps, "rows/s")
	b.ReportMetric(mbps, "MB/s")
	fmt.Printf("bench extract rows_per_s=%.0f mb_per_s=%.1f\n", rps, mbps)
	b.Logf("source=%s rate_limit=10000/s burst=10000 max_in_flight=3 workers=3 gzip=false", source)
}
