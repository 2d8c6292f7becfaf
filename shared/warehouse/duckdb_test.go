package warehouse_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/shared/warehouse/whtest"
)

func openDuck(t *testing.T) *warehouse.DuckDB {
	t.Helper()
	wh, err := warehouse.OpenDuckDB(filepath.Join(t.TempDir(), "gfn.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	if err := wh.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return wh
}

func queryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func load(t *testing.T, wh warehouse.Warehouse, path, name string, force bool) warehouse.LoadResult {
	t.Helper()
	res, err := wh.LoadFile(context.Background(), warehouse.FileLoad{
		LocalPath: path, FileName: name, RunID: "run-1", BatchID: "b-1", Force: force,
	})
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return res
}

func writeYear(t *testing.T, year int, at time.Time) (string, int) {
	t.Helper()
	rows := whtest.YearRows(t, year, "run-1", at)
	path := filepath.Join(t.TempDir(), fmt.Sprintf("ef-%d.parquet", year))
	whtest.WriteParquet(t, path, rows)
	return path, len(rows)
}

// Snowpipe semantics: a file loads once; Force loads it into RAW again without changing
// TRANSFORMED's row count.
func TestLoadFileOnce(t *testing.T) {
	ctx := context.Background()
	wh := openDuck(t)
	db := wh.DB()
	path, n := writeYear(t, 2022, time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC))
	const key = "transformed/ecological_footprint/year=2025/month=12/day=01/data_20251201_060000_ef-2022.parquet"

	first := load(t, wh, path, key, false)
	if first.AlreadyLoaded || first.RowsLoaded != n || first.TableRows != int64(n) || first.LoadID == "" {
		t.Fatalf("first load = %+v, want %d rows loaded and in the table", first, n)
	}

	again := load(t, wh, path, key, false)
	if !again.AlreadyLoaded || again.RowsLoaded != 0 || again.LoadID != first.LoadID || again.TableRows != int64(n) {
		t.Fatalf("repeated load = %+v, want already loaded by %s, nothing loaded, %d table rows", again, first.LoadID, n)
	}
	if got := queryInt(t, db, `SELECT count(*) FROM raw.ecological_footprint`); got != int64(n) {
		t.Fatalf("raw rows after repeated load = %d, want %d", got, n)
	}
	if got := queryInt(t, db, `SELECT count(*) FROM raw.load_history WHERE file_name = ?`, key); got != 1 {
		t.Fatalf("load history rows for the file = %d, want 1", got)
	}
	if ok, err := wh.FileLoaded(ctx, key); err != nil || !ok {
		t.Fatalf("FileLoaded = %v, %v; want true", ok, err)
	}
	if err := wh.Migrate(ctx); err != nil { // a restarted loader migrates again
		t.Fatalf("second Migrate: %v", err)
	}
	if got, err := wh.Count(ctx); err != nil || got != int64(n) {
		t.Fatalf("count after second Migrate = %d, %v; want %d", got, err, n)
	}

	forced := load(t, wh, path, key, true)
	if forced.AlreadyLoaded || forced.RowsLoaded != n || forced.LoadID == first.LoadID || forced.TableRows != int64(n) {
		t.Fatalf("forced load = %+v, want a new load of %d rows and %d table rows", forced, n, n)
	}
	if got := queryInt(t, db, `SELECT count(*) FROM raw.ecological_footprint`); got != int64(2*n) {
		t.Fatalf("raw rows after forced load = %d, want %d", got, 2*n)
	}
	if got := queryInt(t, db, `SELECT loads FROM raw.load_history WHERE file_name = ?`, key); got != 2 {
		t.Fatalf("load history counts %d loads, want 2", got)
	}
	if got := queryInt(t, db, `SELECT count(*) FROM transformed.ecological_footprint WHERE load_id = ?`, forced.LoadID); got != int64(n) {
		t.Fatalf("transformed rows from the forced load = %d, want %d (a tie goes to the later load)", got, n)
	}
}

// One key, loaded from several files: the latest extracted_at wins, a tie goes to the later load.
func TestMergeLatestWins(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	base := func(v float64, at time.Time) contracts.Row {
		return contracts.Row{Year: 2020, CountryCode: 1, CountryName: "Armenia", ShortName: "Armenia",
			RecordType: "EFConsTotGHA", Value: v, RunID: "r", BatchID: "ef-2020", SourceKey: "raw/x", ExtractedAt: at}
	}
	type file struct {
		value float64
		at    time.Time
	}
	tests := []struct {
		name  string
		files []file
		want  float64
	}{
		{"later extraction wins", []file{{1, t0}, {2, t0.Add(time.Hour)}}, 2},
		{"earlier extraction loaded later loses", []file{{2, t0.Add(time.Hour)}, {1, t0}}, 2},
		{"tie goes to the later load", []file{{1, t0}, {3, t0}}, 3},
		{"three files", []file{{1, t0}, {5, t0.Add(2 * time.Hour)}, {4, t0.Add(time.Hour)}}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wh := openDuck(t)
			dir := t.TempDir()
			for i, f := range tc.files {
				path := filepath.Join(dir, fmt.Sprintf("f%d.parquet", i))
				whtest.WriteParquet(t, path, []contracts.Row{base(f.value, f.at)})
				res := load(t, wh, path, fmt.Sprintf("transformed/ecological_footprint/f%d.parquet", i), false)
				if res.TableRows != 1 {
					t.Fatalf("file %d: table rows = %d, want 1", i, res.TableRows)
				}
			}
			var got float64
			if err := wh.DB().QueryRow(`SELECT value FROM transformed.ecological_footprint`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("transformed value = %v, want %v", got, tc.want)
			}
			if raw := queryInt(t, wh.DB(), `SELECT count(*) FROM raw.ecological_footprint`); raw != int64(len(tc.files)) {
				t.Fatalf("raw rows = %d, want one per file (%d)", raw, len(tc.files))
			}
		})
	}
}

// A re-extraction with one revised value replaces that value and nothing else.
func TestRevisedFile(t *testing.T) {
	wh := openDuck(t)
	db := wh.DB()
	t1 := time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC)
	t2 := t1.Add(24 * time.Hour)
	path1, n := writeYear(t, 2021, t1)
	load(t, wh, path1, "transformed/a/data_20251201_060000_ef-2021.parquet", false)

	rows := whtest.YearRows(t, 2021, "run-2", t2)
	var changed contracts.Row
	for i := range rows {
		if rows[i].CountryCode == contracts.WorldCountryCode && rows[i].RecordType == "EFConsTotGHA" {
			rows[i].Value *= 1.01
			changed = rows[i]
		}
	}
	if changed.RecordType == "" {
		t.Fatal("no World EFConsTotGHA row in 2021")
	}
	path2 := filepath.Join(t.TempDir(), "revised.parquet")
	whtest.WriteParquet(t, path2, rows)
	res := load(t, wh, path2, "transformed/a/data_20251202_060000_ef-2021.parquet", false)
	if res.TableRows != int64(n) {
		t.Fatalf("table rows after revision = %d, want %d", res.TableRows, n)
	}
	var got float64
	var runID string
	err := db.QueryRow(`SELECT value, run_id FROM transformed.ecological_footprint
		WHERE country_code = ? AND year = 2021 AND record_type = 'EFConsTotGHA'`, contracts.WorldCountryCode).Scan(&got, &runID)
	if err != nil {
		t.Fatal(err)
	}
	if got != changed.Value || runID != "run-2" {
		t.Fatalf("world footprint = %v from %s, want %v from run-2", got, runID, changed.Value)
	}
	if raw := queryInt(t, db, `SELECT count(DISTINCT value) FROM raw.ecological_footprint
		WHERE country_code = ? AND year = 2021 AND record_type = 'EFConsTotGHA'`, contracts.WorldCountryCode); raw != 2 {
		t.Fatalf("raw holds %d distinct world footprint values, want both versions", raw)
	}
}

func TestLoadAllRecordedYears(t *testing.T) {
	wh := openDuck(t)
	at := time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC)
	var res warehouse.LoadResult
	for year := whtest.FirstYear; year <= whtest.LastYear; year++ {
		path, _ := writeYear(t, year, at)
		res = load(t, wh, path, fmt.Sprintf("transformed/ecological_footprint/year=2025/month=12/day=01/data_20251201_060000_ef-%d.parquet", year), false)
	}
	if res.TableRows != whtest.RecordedRows {
		t.Fatalf("transformed rows = %d, want %d", res.TableRows, whtest.RecordedRows)
	}
	countries := queryInt(t, wh.DB(), `SELECT count(*) FROM transformed.countries`)
	distinct := queryInt(t, wh.DB(), `SELECT count(DISTINCT country_code) FROM transformed.ecological_footprint`)
	if countries != distinct || countries == 0 {
		t.Fatalf("countries table has %d rows, transformed names %d country codes", countries, distinct)
	}
}

func TestLoadBadFile(t *testing.T) {
	dir := t.TempDir()
	notParquet := filepath.Join(dir, "not.parquet")
	if err := os.WriteFile(notParquet, []byte("this is not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	type partial struct {
		Year        int32  `parquet:"year"`
		CountryCode int32  `parquet:"country_code"`
		RecordType  string `parquet:"record_type"`
	}
	missingCols := filepath.Join(dir, "partial.parquet")
	if err := writeAny(missingCols, []partial{{2020, 1, "EFConsTotGHA"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantBad bool
	}{
		{"not parquet", notParquet, true},
		{"required columns missing", missingCols, true},
		{"file missing (a local fault, retryable)", filepath.Join(dir, "gone.parquet"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wh := openDuck(t)
			_, err := wh.LoadFile(context.Background(), warehouse.FileLoad{LocalPath: tc.path, FileName: "transformed/x.parquet"})
			if err == nil {
				t.Fatal("load succeeded")
			}
			if errors.Is(err, warehouse.ErrBadFile) != tc.wantBad {
				t.Fatalf("err = %v; errors.Is(ErrBadFile) = %v, want %v", err, !tc.wantBad, tc.wantBad)
			}
			if ok, err := wh.FileLoaded(context.Background(), "transformed/x.parquet"); err != nil || ok {
				t.Fatalf("a failed load is in the history (%v, %v)", ok, err)
			}
		})
	}
}

// A file written in DuckDB 1.5's own storage format cannot be read by Soda's DuckDB 1.0.
func TestOpenRejectsNewerStorage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.duckdb")
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"ATTACH '" + path + "' AS n (STORAGE_VERSION 'v1.5.0')",
		"CREATE TABLE n.x (i INTEGER)",
		"DETACH n",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if _, err := warehouse.OpenDuckDB(path); !errors.Is(err, warehouse.ErrStorageVersion) {
		t.Fatalf("OpenDuckDB on a v1.5 file: err = %v, want ErrStorageVersion", err)
	}
}
