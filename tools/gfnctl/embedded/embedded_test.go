package embedded_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/shared/warehouse/whtest"
	"github.com/gfnpipeline/tools/gfnctl/embedded"
	"github.com/gfnpipeline/tools/gfnctl/runs"
	"github.com/gfnpipeline/tools/gfnctl/status"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func run(t *testing.T, dataDir, simData string, req contracts.ExtractionRequested) *contracts.RunCompleted {
	t.Helper()
	res, err := embedded.Run(context.Background(), embedded.Options{
		DataDir: dataDir, SimDataDir: simData, Request: req, Timeout: 3 * time.Minute, Logger: quiet,
	})
	if err != nil {
		t.Fatalf("embedded run: %v (dead letters %+v)", err, res.DeadLetters)
	}
	done, ok := res.Outcome.(*contracts.RunCompleted)
	if !ok {
		t.Fatalf("run did not complete: %+v", res.Outcome)
	}
	if len(res.DeadLetters) != 0 {
		t.Fatalf("dead letters: %+v", res.DeadLetters)
	}
	return done
}

// A fresh clone without ../shared runs on generated data, and a second run loads nothing twice.
func TestGeneratedDataRunsAndRerunsIdempotently(t *testing.T) {
	dir := t.TempDir()
	first := run(t, dir, "", contracts.ExtractionRequested{})
	if first.RowsIn == 0 || first.RowsLoaded != int64(first.RowsIn) || first.Rejected != 0 {
		t.Fatalf("first run %+v", first.RunSummary)
	}
	second := run(t, dir, "", contracts.ExtractionRequested{})
	if second.RowsLoaded != first.RowsLoaded {
		t.Fatalf("second run has %d rows, first %d", second.RowsLoaded, first.RowsLoaded)
	}
	if n := count(t, dir, "SELECT count(*) FROM "+warehouse.TransformedTable); n != first.RowsLoaded {
		t.Fatalf("warehouse holds %d rows, summary said %d", n, first.RowsLoaded)
	}
	// `gfnctl status --lake-dir` reads the embedded run's ledger: every batch went all the way.
	store, err := lake.NewDir(filepath.Join(dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := status.Gather(context.Background(), store, nil, second.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != status.StatusCompleted || len(rep.Batches) != second.Batches {
		t.Fatalf("status %s with %d batches, want completed with %d", rep.Status, len(rep.Batches), second.Batches)
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil || !strings.Contains(buf.String(), "completed") || strings.Contains(buf.String(), "QUEUE") {
		t.Fatalf("status table (%v):\n%s", err, buf.String())
	}
	firstReportReadsLikeTheRealOne(t, dir)
}

// A newcomer's first `gfnctl report` (generated data) reads like the real one: the World
// overshoots its biocapacity with a day in summer, and per-person balances have the signs of
// the totals.
func firstReportReadsLikeTheRealOne(t *testing.T, dir string) {
	t.Helper()
	wh, err := warehouse.OpenDuckDB(filepath.Join(dir, "gfn.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	r, err := warehouse.ReadReport(context.Background(), wh.DB(), 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Overshoot) == 0 {
		t.Fatal("no overshoot days")
	}
	for _, o := range r.Overshoot {
		if !o.Overshoot || o.DayOfYear < 175 || o.DayOfYear > 240 || o.Earths < 1.4 || o.Earths > 2 {
			t.Errorf("%d: %.2f Earths, overshoot day %d", o.Year, o.Earths, o.DayOfYear)
		}
	}
	for _, b := range append(r.LargestDeficit, r.LargestReserve...) {
		if (b.BalanceGHA < 0) != (b.BalancePerCap < 0) {
			t.Errorf("%s %d: balance %.4g gha but %.4g gha per person", b.CountryName, b.Year, b.BalanceGHA, b.BalancePerCap)
		}
	}
	if r.Reserves == 0 || r.Deficits == 0 {
		t.Errorf("%d reserves, %d deficits", r.Reserves, r.Deficits)
	}
}

// A revised year: the new value wins in TRANSFORMED, RAW keeps both versions, the count holds.
func TestRevisedValueReplacesTheOldOne(t *testing.T) {
	dir, simData := t.TempDir(), t.TempDir()
	raw := whtest.RawYear(t, 2022)
	writeFile(t, filepath.Join(simData, "data_all_2022.json"), raw)
	req := contracts.ExtractionRequested{FromYear: 2022, ToYear: 2022}
	first := run(t, dir, simData, req)

	// GFN revises Armenia's 2022 population (a row without land-type components).
	old := []byte(`"record": "Population",`)
	at := bytes.Index(raw, old)
	if at < 0 || !bytes.Contains(raw[:at], []byte(`"countryCode": 1,`)) {
		t.Fatal("Armenia's 2022 Population row not found in the recording")
	}
	valueAt := at + bytes.Index(raw[at:], []byte(`"value": `)) + len(`"value": `)
	end := valueAt + bytes.IndexByte(raw[valueAt:], ',')
	revised := append(append(append([]byte{}, raw[:valueAt]...), []byte("2999999.0")...), raw[end:]...)
	writeFile(t, filepath.Join(simData, "data_all_2022.json"), revised)
	second := run(t, dir, simData, req)

	if second.RowsLoaded != first.RowsLoaded {
		t.Fatalf("count changed from %d to %d", first.RowsLoaded, second.RowsLoaded)
	}
	key := " WHERE country_code = 1 AND year = 2022 AND record_type = 'Population'"
	if n := count(t, dir, "SELECT count(*) FROM "+warehouse.TransformedTable+key+" AND value = 2999999.0"); n != 1 {
		t.Fatalf("transformed table does not hold the revised value (%d rows)", n)
	}
	if n := count(t, dir, "SELECT count(DISTINCT value) FROM "+warehouse.RawTable+key); n != 2 {
		t.Fatalf("RAW holds %d versions of the row, want both", n)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, dir, query string, args ...any) int64 {
	t.Helper()
	db, err := sql.Open("duckdb", filepath.Join(dir, "gfn.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// A year with too many broken rows is quarantined: the run fails once, naming the batch and
// the reason, the rejects are kept under failed/, and nothing of that year is loaded.
func TestQuarantinedBatchFailsTheRun(t *testing.T) {
	dir, simData := t.TempDir(), t.TempDir()
	raw := whtest.RawYear(t, 2021)
	// Every Population row gets a negative value: about 6% of the year's rows.
	var records []map[string]any
	if err := json.Unmarshal(raw, &records); err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if r["record"] == "Population" {
			r["value"] = -1
		}
	}
	broken, err := json.Marshal(records)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(simData, "data_all_2021.json"), broken)
	res, err := embedded.Run(context.Background(), embedded.Options{DataDir: dir, SimDataDir: simData, Request: contracts.ExtractionRequested{FromYear: 2021, ToYear: 2021}, Timeout: 3 * time.Minute, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	failed, ok := res.Outcome.(*contracts.RunFailed)
	if !ok {
		t.Fatalf("outcome %+v, want RunFailed", res.Outcome)
	}
	if failed.FailedBatch != "ef-2021" || !strings.Contains(failed.Reason, "quarantined") || !strings.Contains(failed.Reason, "non_negative") || failed.FailedBatches != 1 {
		t.Fatalf("RunFailed names batch %q, reason %q", failed.FailedBatch, failed.Reason)
	}
	if failed.Rejected == 0 || failed.RowsLoaded != 0 {
		t.Fatalf("summary %+v", failed.RunSummary)
	}
	rejects, err := filepath.Glob(filepath.Join(dir, "lake", "failed", "ecological_footprint", "*", "*", "*", "error_*_ef-2021.json"))
	if err != nil || len(rejects) != 1 {
		t.Fatalf("failed/ holds %v (%v)", rejects, err)
	}
	outcomes, _ := filepath.Glob(filepath.Join(dir, "lake", "metadata", "runs", failed.RunID, "outcome", "*.announced.json"))
	if len(outcomes) != 1 {
		t.Fatalf("run announced %d outcomes, want exactly one", len(outcomes))
	}
}

// A quarantined year among healthy ones: the run drains (every healthy year loads), fails
// naming that one batch (failed_batches=1); an incremental run afterwards plans the year that
// never loaded again, from raw, loads no file twice and leaves no healthy year behind.
func TestQuarantinedYearDoesNotStrandHealthyOnesAndIncrementalCatchesUp(t *testing.T) {
	dir, simData := t.TempDir(), t.TempDir()
	years := []int{2017, 2018, 2019, 2020, 2021, 2022}
	const bad = 2018
	healthyRows := whtest.WriteCorpusWithBadYear(t, simData, years, bad)
	runOnce := func(mode string) (*contracts.RunFailed, time.Duration) {
		t.Helper()
		begin := time.Now()
		res, err := embedded.Run(context.Background(), embedded.Options{DataDir: dir, SimDataDir: simData, Request: contracts.ExtractionRequested{Mode: mode}, Timeout: 3 * time.Minute, Logger: quiet})
		if err != nil {
			t.Fatalf("%s run: %v", mode, err)
		}
		failed, ok := res.Outcome.(*contracts.RunFailed)
		if !ok {
			t.Fatalf("%s run: outcome %+v, want RunFailed", mode, res.Outcome)
		}
		return failed, time.Since(begin)
	}

	full, _ := runOnce(contracts.ModeFull)
	if full.Batches != len(years) || full.FailedBatches != 1 || len(full.Failures) != 1 ||
		full.Failures[0].BatchID != fmt.Sprintf("ef-%d", bad) || full.Failures[0].Year != bad ||
		!strings.Contains(full.Failures[0].Reason, "quarantined") {
		t.Fatalf("full run: %+v", full)
	}
	if full.RowsLoaded != int64(healthyRows) {
		t.Fatalf("full run loaded %d rows, want every healthy year's %d", full.RowsLoaded, healthyRows)
	}
	if line := runs.SummaryLine(full); !strings.HasSuffix(line, " failed_batches=1") || !strings.Contains(line, "status=failed") {
		t.Fatalf("summary line %q", line)
	}

	inc, _ := runOnce(contracts.ModeIncremental)
	planned := map[int]bool{}
	store, err := lake.NewDir(filepath.Join(dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := status.Gather(context.Background(), store, nil, inc.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rep.Batches {
		if b.Planned {
			planned[b.Year] = true
		}
	}
	// The quarantined year never loaded, so it is planned again; plus the newest three.
	if len(planned) != 4 || !planned[bad] || !planned[2020] || !planned[2021] || !planned[2022] {
		t.Fatalf("incremental planned %v", planned)
	}
	if inc.FailedBatches != 1 || inc.RowsLoaded != int64(healthyRows) {
		t.Fatalf("incremental run %+v", inc)
	}
	if n := count(t, dir, "SELECT count(*) FROM "+warehouse.TransformedTable); n != int64(healthyRows) {
		t.Fatalf("warehouse holds %d rows, want %d", n, healthyRows)
	}
	if n := count(t, dir, "SELECT count(DISTINCT year) FROM "+warehouse.TransformedTable); n != int64(len(years)-1) {
		t.Fatalf("warehouse holds %d years, want every healthy one (%d)", n, len(years)-1)
	}
	if n := count(t, dir, "SELECT max(loads) FROM "+warehouse.LoadHistoryTable); n != 1 {
		t.Fatalf("a file was loaded %d times", n)
	}
	if n := count(t, dir, "SELECT count(*) FROM "+warehouse.RawTable); n != int64(healthyRows) {
		t.Fatalf("RAW holds %d rows, want %d: something loaded twice", n, healthyRows)
	}
}

// `make run GFN_DATA_DIR=...` after a plain `make run` would mix generated and recorded rows
// in one warehouse: the second source is refused, with the way to start clean, and the
// warehouse keeps only the first source's rows.
func TestAnotherSourceIsRefusedInTheSameDataDir(t *testing.T) {
	dir, simData := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(simData, "data_all_2022.json"), whtest.RawYear(t, 2022))
	first := run(t, dir, "", contracts.ExtractionRequested{FromYear: 2020, ToYear: 2022})
	_, err := embedded.Run(context.Background(), embedded.Options{DataDir: dir, SimDataDir: simData, Request: contracts.ExtractionRequested{}, Timeout: time.Minute, Logger: quiet})
	if !errors.Is(err, embedded.ErrOtherSource) || !strings.Contains(err.Error(), "make clean") || !strings.Contains(err.Error(), "generated data") {
		t.Fatalf("err = %v, want ErrOtherSource naming both sources and how to start clean", err)
	}
	if n := count(t, dir, "SELECT count(*) FROM "+warehouse.TransformedTable); n != first.RowsLoaded {
		t.Fatalf("warehouse holds %d rows, want the first source's %d", n, first.RowsLoaded)
	}
	// The same source again is fine, and a fresh directory takes the other one.
	run(t, dir, "", contracts.ExtractionRequested{FromYear: 2020, ToYear: 2022})
	run(t, t.TempDir(), simData, contracts.ExtractionRequested{})
}
