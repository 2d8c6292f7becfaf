// Package whtest builds warehouse test inputs from the recorded GFN API data: typed rows and
// real Parquet files written with parquet-go from contracts.Row, as the transformer writes them.
// The recording lives outside the repository (../shared/data); tests that need it skip when
// it is absent.
package whtest

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
)

// Years are the recorded years.
const (
	FirstYear = 2000
	LastYear  = 2022
	// RecordedRows is the number of records across all recorded years.
	RecordedRows = 73942
)

// RepoRoot walks up from the working directory to the go.work file.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.work not found above the working directory")
		}
		dir = parent
	}
}

// RecordingDir is the recorded API data next to the repository; the test skips if it is absent.
func RecordingDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "..", "shared", "data", "gfn-api-recording")
	if _, err := os.Stat(filepath.Join(dir, "data_all_2000.json.gz")); err != nil {
		t.Skipf("recorded GFN data not available at %s: %v", dir, err)
	}
	return dir
}

// RawYear is one recorded year's bytes as the API sent them (gunzipped).
func RawYear(t testing.TB, year int) []byte {
	t.Helper()
	path := filepath.Join(RecordingDir(t), fmt.Sprintf("data_all_%d.json.gz", year))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// WriteCorpusWithBadYear writes the recorded years into dir as a simulator recording
// (data_all_YYYY.json), with about 30% of bad's rows breaking a rule (negative value), far
// above the quarantine threshold. It returns the rows of the healthy years.
func WriteCorpusWithBadYear(t testing.TB, dir string, years []int, bad int) (healthyRows int) {
	t.Helper()
	for _, y := range years {
		raw := RawYear(t, y)
		var records []map[string]any
		if err := json.Unmarshal(raw, &records); err != nil {
			t.Fatal(err)
		}
		if y == bad {
			for i, r := range records {
				if i%10 < 3 {
					r["value"] = -1
				}
			}
			b, err := json.Marshal(records)
			if err != nil {
				t.Fatal(err)
			}
			raw = b
		} else {
			healthyRows += len(records)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("data_all_%d.json", y)), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return healthyRows
}

// ReadYear decodes one recorded year.
func ReadYear(t testing.TB, year int) []contracts.APIRecord {
	t.Helper()
	var recs []contracts.APIRecord
	if err := json.Unmarshal(RawYear(t, year), &recs); err != nil {
		t.Fatalf("recorded year %d: %v", year, err)
	}
	return recs
}

// Rows converts API records to warehouse rows (a plain mapping: no concordance lookup, so
// iso_alpha3 stays null).
func Rows(recs []contracts.APIRecord, runID, batchID, sourceKey string, extractedAt time.Time) []contracts.Row {
	rows := make([]contracts.Row, len(recs))
	for i, r := range recs {
		var value float64
		if r.Value != nil {
			value = *r.Value
		}
		rows[i] = contracts.Row{
			Year:          int32(r.Year),
			CountryCode:   int32(r.CountryCode),
			CountryName:   r.CountryName,
			ShortName:     r.ShortName,
			ISOAlpha2:     r.ISOA2,
			IsAggregate:   r.CountryCode >= contracts.AggregateCodeMin,
			RecordType:    r.Record,
			CropLand:      r.CropLand,
			GrazingLand:   r.GrazingLand,
			ForestLand:    r.ForestLand,
			FishingGround: r.FishingGround,
			BuiltupLand:   r.BuiltupLand,
			Carbon:        r.Carbon,
			Value:         value,
			Score:         r.Score,
			RunID:         runID,
			BatchID:       batchID,
			SourceKey:     sourceKey,
			ExtractedAt:   extractedAt,
		}
	}
	return rows
}

// YearRows reads a recorded year as warehouse rows of batch ef-<year>.
func YearRows(t testing.TB, year int, runID string, extractedAt time.Time) []contracts.Row {
	t.Helper()
	return Rows(ReadYear(t, year), runID, contracts.BatchID(year, nil, nil),
		lake.RawPrefix+fmt.Sprintf("data_all_%d.json", year), extractedAt)
}

// WriteParquet writes rows to path with zstd, as the transformer does.
func WriteParquet(t testing.TB, path string, rows []contracts.Row) {
	t.Helper()
	if err := parquet.WriteFile(path, rows, parquet.Compression(&parquet.Zstd)); err != nil {
		t.Fatalf("write parquet %s: %v", path, err)
	}
}
