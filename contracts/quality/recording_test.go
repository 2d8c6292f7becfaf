package quality_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gfnpipeline/contracts/quality"
)

// recordingDir is the shared data next to the repository (never copied into it).
var recordingDir = filepath.Join("..", "..", "..", "shared", "data", "gfn-api-recording")

const recordingRows = 73942

// recording returns the recorded API bodies as stored (gzip), skipping when absent.
func recording(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(recordingDir, "data_all_*.json.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Skipf("GFN API recording not found in %s", recordingDir)
	}
	out := make([][]byte, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestRecordingPassesTier1(t *testing.T) {
	total := 0
	for i, body := range recording(t) {
		res, err := quality.ValidateBatch(body, quality.Options{})
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		for _, rj := range res.Rejects[:min(len(res.Rejects), 5)] {
			t.Errorf("file %d row %d rejected: %+v", i, rj.Index, rj.Violations)
		}
		if len(res.Rejects) > 0 || len(res.Warnings) > 0 || len(res.UnknownFields) > 0 {
			t.Errorf("file %d: %d rejects, %d warnings, unknown fields %v", i, len(res.Rejects), len(res.Warnings), res.UnknownFieldNames())
		}
		total += len(res.Rows)
	}
	if total != recordingRows {
		t.Fatalf("%d valid rows, want %d", total, recordingRows)
	}
}

// BenchmarkValidate validates the whole recording per iteration. Bodies are decompressed
// before timing: gzip is transport, the contract's speed is what is measured.
func BenchmarkValidate(b *testing.B) {
	var bodies [][]byte
	for _, gz := range recording(b) {
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	rows := 0
	for b.Loop() {
		rows = 0
		for _, body := range bodies {
			res, err := quality.ValidateBatch(body, quality.Options{})
			if err != nil {
				b.Fatal(err)
			}
			rows += len(res.Rows)
		}
	}
	if rows != recordingRows {
		b.Fatalf("%d valid rows, want %d", rows, recordingRows)
	}
	perSec := float64(rows) * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(perSec, "rows/s")
	fmt.Printf("bench validate rows_per_s=%.0f\n", perSec)
}
