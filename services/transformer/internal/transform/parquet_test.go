package transform_test

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/contracts/concordance"
	"github.com/gfnpipeline/contracts/quality"
	"github.com/gfnpipeline/services/transformer/internal/transform"

	_ "github.com/duckdb/duckdb-go/v2"
)

// recordingDir is the shared data next to the repository (never copied into it).
var recordingDir = filepath.Join("..", "..", "..", "..", "..", "shared", "data", "gfn-api-recording")

const recordingRows = 73942

// recording returns the recorded API bodies, decompressed, skipping when absent.
func recording(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(recordingDir, "data_all_*.json.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Skipf("GFN API recording not found in %s", recordingDir)
	}
	out := map[string][]byte{}
	for _, f := range files {
		gz, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			tb.Fatal(err)
		}
		var body bytes.Buffer
		if _, err := body.ReadFrom(zr); err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(f)] = body.Bytes()
	}
	return out
}

func openDuckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func writeFile(t *testing.T, path string, rows []contracts.Row) {
	t.Helper()
	var buf bytes.Buffer
	if err := transform.WriteParquet(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// DuckDB reads back exactly what was written: nulls stay null, "" stays "", lineage intact.
func TestParquetReadBackByDuckDB(t *testing.T) {
	rows, err := transform.ToRows(fixtureRows(t), transform.Lineage{RunID: "run-1", BatchID: "ef-2020", SourceKey: "raw/k.json", ExtractedAt: extractedAt.Add(123456 * time.Microsecond)})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "batch.parquet")
	writeFile(t, path, rows)
	db := openDuckDB(t)

	q, err := db.Query(`SELECT year, country_code, country_name, short_name, iso_alpha2, iso_alpha3, is_aggregate, record_type,
		crop_land, grazing_land, forest_land, fishing_ground, builtup_land, carbon, value, score, extra,
		run_id, batch_id, source_key, extracted_at FROM read_parquet(?)`, path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	i := 0
	for q.Next() {
		var (
			got                    contracts.Row
			iso2, iso3, score, ex  sql.NullString
			c1, c2, c3, c4, c5, c6 sql.NullFloat64
		)
		if err := q.Scan(&got.Year, &got.CountryCode, &got.CountryName, &got.ShortName, &iso2, &iso3, &got.IsAggregate, &got.RecordType,
			&c1, &c2, &c3, &c4, &c5, &c6, &got.Value, &score, &ex, &got.RunID, &got.BatchID, &got.SourceKey, &got.ExtractedAt); err != nil {
			t.Fatal(err)
		}
		got.ISOAlpha2, got.ISOAlpha3, got.Score, got.Extra = str(iso2), str(iso3), str(score), str(ex)
		got.CropLand, got.GrazingLand, got.ForestLand, got.FishingGround, got.BuiltupLand, got.Carbon = flt(c1), flt(c2), flt(c3), flt(c4), flt(c5), flt(c6)
		got.ExtractedAt = got.ExtractedAt.UTC()
		if want := rows[i]; fmt.Sprint(deref(got)) != fmt.Sprint(deref(want)) {
			t.Errorf("row %d read back\n%v\nwant\n%v", i, deref(got), deref(want))
		}
		i++
	}
	if err := q.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(rows) {
		t.Fatalf("read %d rows, wrote %d", i, len(rows))
	}

	var codecs string
	if err := db.QueryRow(`SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata(?)`, path).Scan(&codecs); err != nil {
		t.Fatal(err)
	}
	if codecs != "ZSTD" {
		t.Errorf("compression %s, want ZSTD", codecs)
	}
	var version string
	if err := db.QueryRow(`SELECT decode(value) FROM parquet_kv_metadata(?) WHERE decode(key) = 'gfn.schema_version'`, path).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != fmt.Sprint(contracts.RecordSchemaVersion) {
		t.Errorf("schema version metadata %q", version)
	}
}

func str(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func flt(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}

// deref renders a row with its pointers followed, so rows compare by value and nil shows.
func deref(r contracts.Row) []any {
	p := func(s *string) any {
		if s == nil {
			return "<nil>"
		}
		return fmt.Sprintf("%q", *s)
	}
	f := func(x *float64) any {
		if x == nil {
			return "<nil>"
		}
		return *x
	}
	return []any{r.Year, r.CountryCode, r.CountryName, r.ShortName, p(r.ISOAlpha2), p(r.ISOAlpha3), r.IsAggregate, r.RecordType,
		f(r.CropLand), f(r.GrazingLand), f(r.ForestLand), f(r.FishingGround), f(r.BuiltupLand), f(r.Carbon), r.Value,
		p(r.Score), p(r.Extra), r.RunID, r.BatchID, r.SourceKey, r.ExtractedAt.Format(time.RFC3339Nano)}
}

// apiColumns maps the API's keys to the warehouse columns they fill.
var apiColumns = map[string]string{
	"year": "year", "countryCode": "country_code", "countryName": "country_name", "shortName": "short_name",
	"isoa2": "iso_alpha2", "record": "record_type", "cropLand": "crop_land", "grazingLand": "grazing_land",
	"forestLand": "forest_land", "fishingGround": "fishing_ground", "builtupLand": "builtup_land",
	"carbon": "carbon", "value": "value", "score": "score",
}

// The whole recording through validate -> transform -> Parquet, read back by DuckDB, matches
// the recording as encoding/json reads it: row count, value sums per record type, null counts.
func TestRecordingParquetMatchesRecording(t *testing.T) {
	bodies := recording(t)
	dir := t.TempDir()
	wantSum := map[string]float64{}
	wantNulls := map[string]int{}
	for _, c := range contracts.RowColumns {
		wantNulls[c] = 0
	}
	total := 0
	for name, body := range bodies {
		// Expectations from an independent decoder.
		var recs []map[string]any
		if err := json.Unmarshal(body, &recs); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			wantSum[r["record"].(string)] += r["value"].(float64)
			for k, col := range apiColumns {
				if r[k] == nil {
					wantNulls[col]++
				}
			}
			if _, ok := concordance.Alpha3(int(r["countryCode"].(float64))); !ok {
				wantNulls["iso_alpha3"]++
			}
			wantNulls["extra"]++ // the recording has no keys beyond the contract's
		}
		total += len(recs)

		res, err := quality.ValidateBatch(body, quality.Options{})
		if err != nil || len(res.Rejects) > 0 {
			t.Fatalf("%s: %v, %d rejects", name, err, len(res.Rejects))
		}
		rows, err := transform.ToRows(res.Rows, transform.Lineage{RunID: "run-1", BatchID: name, SourceKey: "raw/" + name, ExtractedAt: extractedAt})
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name+".parquet"), rows)
	}
	if total != recordingRows {
		t.Fatalf("recording has %d rows, want %d", total, recordingRows)
	}

	db := openDuckDB(t)
	glob := filepath.Join(dir, "*.parquet")
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM read_parquet(?)`, glob).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != recordingRows {
		t.Fatalf("DuckDB reads %d rows, want %d", n, recordingRows)
	}

	q, err := db.Query(`SELECT record_type, sum(value) FROM read_parquet(?) GROUP BY record_type`, glob)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	seen := 0
	for q.Next() {
		var rt string
		var sum float64
		if err := q.Scan(&rt, &sum); err != nil {
			t.Fatal(err)
		}
		if want := wantSum[rt]; math.Abs(sum-want) > 1e-9*math.Abs(want) {
			t.Errorf("sum(value) for %s = %v, want %v", rt, sum, want)
		}
		seen++
	}
	if err := q.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != len(wantSum) || seen != len(contracts.RecordTypes) {
		t.Errorf("%d record types in Parquet, %d in the recording", seen, len(wantSum))
	}

	for _, col := range contracts.RowColumns {
		var nulls int
		if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) - count(%s) FROM read_parquet(?)`, col), glob).Scan(&nulls); err != nil {
			t.Fatal(err)
		}
		if nulls != wantNulls[col] {
			t.Errorf("column %s has %d nulls, the recording %d", col, nulls, wantNulls[col])
		}
	}
	// Components are null on ~45% of rows; a writer that turned null into 0 would pass a
	// count check only if this were zero.
	if wantNulls["crop_land"] == 0 {
		t.Error("the recording should have null components")
	}
}

// BenchmarkTransform maps the whole recording's validated rows to warehouse rows and writes one
// Parquet file per recorded year (a batch), per iteration. Decompression and validation are
// setup, not timed.
func BenchmarkTransform(b *testing.B) {
	var batches [][]quality.Row
	rowsPerIter := 0
	for _, body := range recording(b) {
		res, err := quality.ValidateBatch(body, quality.Options{})
		if err != nil {
			b.Fatal(err)
		}
		batches = append(batches, res.Rows)
		rowsPerIter += len(res.Rows)
	}
	if rowsPerIter != recordingRows {
		b.Fatalf("%d rows, want %d", rowsPerIter, recordingRows)
	}
	lineage := transform.Lineage{RunID: "run-1", BatchID: "ef-bench", SourceKey: "raw/bench.json", ExtractedAt: extractedAt}
	var buf bytes.Buffer
	bytesOut := 0
	for b.Loop() {
		bytesOut = 0
		for _, staged := range batches {
			rows, err := transform.ToRows(staged, lineage)
			if err != nil {
				b.Fatal(err)
			}
			buf.Reset()
			if err := transform.WriteParquet(&buf, rows); err != nil {
				b.Fatal(err)
			}
			bytesOut += buf.Len()
		}
	}
	perSec := float64(rowsPerIter) * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(perSec, "rows/s")
	b.ReportMetric(float64(bytesOut), "parquet_bytes")
	fmt.Printf("bench transform rows_per_s=%.0f\n", perSec)
}
