package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/tools/e2e/snowpipe"
	"github.com/gfnpipeline/tools/e2e/stack"
)

// WAREHOUSE=snowflake, as `make e2e` runs it: every service over moto, fakesnow's server as
// Snowflake, the Snowpipe stand-in loading from its own subscription of gfn-lake-events, and
// the loader as the production load confirmer. The run completes only through the
// confirmer's BatchLoaded events, and its rows_loaded is TRANSFORMED's count in Snowflake.
//
// What fakesnow cannot run, and what ran instead, is snowpipe.Substitutions (logged below):
// notably the confirmer's COPY_HISTORY query is answered from INFORMATION_SCHEMA.LOAD_HISTORY
// through the warehouse.LoadRecords interface, and SYSTEM$PIPE_STATUS is unavailable.
func TestSnowflakeWarehouseRunCompletesThroughLoadConfirmation(t *testing.T) {
	t.Parallel()
	for _, sub := range snowpipe.Substitutions {
		t.Logf("fakesnow substitution: %s -> %s", sub.Production, sub.Instead)
	}
	root, _ := stack.RepoRoot()
	s := start(t, stack.Options{SimDataDir: stack.Recording(root), Warehouse: stack.WarehouseSnowflake})

	res, err := runPipeline(t, s)
	if err != nil || res.status != "completed" {
		t.Fatalf("run: %+v %v", res, err)
	}
	want := expectedRows(root, res)
	ctx := context.Background()
	sf, err := snowpipe.Open(ctx, s.FakesnowPort)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	if n, err := sf.Count(ctx); err != nil || n != int64(want) {
		t.Errorf("TRANSFORMED in Snowflake holds %d rows (%v), want %d", n, err, want)
		for _, table := range []string{warehouse.RawTable, warehouse.TransformedTable} {
			var years, rows int
			sf.DB().QueryRowContext(ctx, `SELECT count(DISTINCT year), count(*) FROM `+table).Scan(&years, &rows)
			t.Logf("%s: %d years, %d rows", table, years, rows)
		}
	}
	if res.rowsLoaded != want {
		t.Fatalf("rows_loaded = %d, want %d", res.rowsLoaded, want)
	}
	assertDLQsEmpty(t, s)
	var files, loaded int
	if err := sf.DB().QueryRowContext(ctx, `SELECT count(*), count_if(status = 'LOADED') FROM information_schema.load_history
WHERE schema_name = 'RAW' AND table_name = 'ECOLOGICAL_FOOTPRINT'`).Scan(&files, &loaded); err != nil {
		t.Fatal(err)
	}
	var rawFiles int
	if err := sf.DB().QueryRowContext(ctx, `SELECT count(DISTINCT file_name) FROM `+warehouse.RawTable).Scan(&rawFiles); err != nil {
		t.Fatal(err)
	}
	if files != res.batches || loaded != files || rawFiles != files {
		t.Fatalf("load history: %d files, %d loaded, RAW from %d files; want %d batches", files, loaded, rawFiles, res.batches)
	}
	logs, err := os.ReadFile(s.LogPath("loader"))
	if err != nil {
		t.Fatal(err)
	}
	// Every file confirmed; a notification redelivered under load may confirm its file again.
	confirmed := map[string]int{}
	for _, line := range strings.Split(string(logs), "\n") {
		var l struct{ Msg, Key string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "snowpipe load confirmed" {
			confirmed[l.Key]++
		}
	}
	if len(confirmed) != res.batches {
		t.Fatalf("the loader confirmed %d files (%v), want %d", len(confirmed), confirmed, res.batches)
	}
	if strings.Contains(string(logs), `"msg":"warehouse load"`) {
		t.Fatal("the loader loaded files itself in confirm mode")
	}
}
