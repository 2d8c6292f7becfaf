package snowpipe

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/shared/warehouse/whtest"
	"github.com/gfnpipeline/tools/e2e/fakesnow"
)

// The stand-in over fakesnow's server: a recorded year's Parquet goes through PUT, COPY INTO
// RAW and the task's MERGE; LOAD_HISTORY reports it loaded with its row count, the production
// backlog query (on the stream's stand-in table) finds nothing left to merge, and a second
// COPY of the same file is skipped as Snowpipe skips a loaded file. The key is partitioned
// like the lake's (year=2026/): the year loaded must be the file's, not the path's.
func TestStandInLoadsAndReportsTheLoad(t *testing.T) {
	ctx := context.Background()
	py, err := fakesnow.Python(whtest.RepoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "fakesnow.log")
	port, stop, err := fakesnow.Start(ctx, py, logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("fakesnow log:\n%s", b)
		}
	})
	sf, err := Open(ctx, port)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	if err := Setup(ctx, sf.DB()); err != nil {
		t.Fatal(err)
	}
	rows := whtest.YearRows(t, 2022, "run-1", time.Date(2026, 1, 2, 6, 0, 0, 0, time.UTC))
	key := "transformed/ecological_footprint/year=2026/month=01/day=02/data_20260102_060000_ef-2022.parquet"
	local := filepath.Join(t.TempDir(), "upload.parquet")
	whtest.WriteParquet(t, local, rows)
	start := time.Now().Add(-time.Minute)
	res, err := Load(ctx, sf, key, local, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.RowsLoaded != len(rows) {
		t.Fatalf("load = %+v, want %d rows", res, len(rows))
	}
	n, err := sf.Count(ctx)
	if err != nil || n != int64(len(rows)) {
		t.Fatalf("TRANSFORMED rows = %d, %v; want %d", n, err, len(rows))
	}
	var year int
	if err := sf.DB().QueryRowContext(ctx, "SELECT max(year) FROM raw.ecological_footprint").Scan(&year); err != nil || year != 2022 {
		t.Fatalf("RAW year = %d, %v; want the file's 2022", year, err)
	}
	name := warehouse.PipeFileName(key)
	recs, err := LoadHistory{DB: sf.DB()}.FileLoads(ctx, name, start)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Status != "LOADED" || recs[0].RowCount != int64(len(rows)) {
		t.Fatalf("load records %+v", recs)
	}
	if pending, err := sf.PendingMerge(ctx, name); err != nil || pending != 0 {
		t.Fatalf("pending merge = %d, %v", pending, err)
	}
	if id, err := sf.FileLoadID(ctx, name); err != nil || id != res.LoadID {
		t.Fatalf("load id = %q, %v; want %q", id, err, res.LoadID)
	}
	whtest.WriteParquet(t, local, rows)
	again, err := Load(ctx, sf, key, local, time.Now())
	if err != nil || !again.Skipped {
		t.Fatalf("second load = %+v, %v; want skipped", again, err)
	}
}
