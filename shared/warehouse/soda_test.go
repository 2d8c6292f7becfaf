package warehouse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/shared/warehouse/whtest"
)

// sodaBin finds Soda Core: GFN_SODA, else the repository's venv. Missing Soda fails the test:
// tier 2 is part of the deliverable, not optional.
func sodaBin(t *testing.T, root string) string {
	t.Helper()
	bin := os.Getenv("GFN_SODA")
	if bin == "" {
		bin = filepath.Join(root, ".venv", "bin", "soda")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("soda not found at %s (%v): run make venv", bin, err)
	}
	return bin
}

// runTier2 runs soda/scan.sh's tier 2 on the DuckDB file at path.
func runTier2(t *testing.T, root, soda, path string) (string, int) {
	t.Helper()
	return runScan(t, root, "GFN_SODA="+soda, "GFN_DUCKDB="+path, "GFN_SODA_TIERS=2")
}

// runScan runs soda/scan.sh with env added and returns its output and exit code.
func runScan(t *testing.T, root string, env ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(root, "soda", "scan.sh"))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("run scan.sh: %v\n%s", err, out)
		return "", -1
	}
}

// Soda (Python duckdb 1.0) reads the file the loader (DuckDB 1.5) wrote: the checks pass on
// the recording, and fail, naming the checks, once bad rows are written past the loader.
func TestSodaTier2(t *testing.T) {
	root := whtest.RepoRoot(t)
	soda := sodaBin(t, root)
	path := filepath.Join(t.TempDir(), "gfn.duckdb")
	wh, err := warehouse.OpenDuckDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	loadYears(t, wh, 2018, whtest.LastYear)
	if err := wh.Close(); err != nil { // releases DuckDB's file lock for Soda
		t.Fatal(err)
	}

	out, code := runTier2(t, root, soda, path)
	if code != 0 {
		t.Fatalf("soda scan on the loaded recording exited %d:\n%s", code, out)
	}

	wh, err = warehouse.OpenDuckDB(path)
	if err != nil {
		t.Fatal(err)
	}
	// Writes past the loader's MERGE: a duplicate key and a negative value.
	for _, q := range []string{
		`INSERT INTO transformed.ecological_footprint
		   SELECT * FROM transformed.ecological_footprint WHERE country_code = 1 AND year = 2020 AND record_type = 'EFConsTotGHA'`,
		`UPDATE transformed.ecological_footprint SET value = -5
		   WHERE country_code = 2 AND year = 2020 AND record_type = 'Population'`,
	} {
		if _, err := wh.DB().Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := wh.Close(); err != nil {
		t.Fatal(err)
	}
	out, code = runTier2(t, root, soda, path)
	if code == 0 {
		t.Fatalf("soda scan passed on a duplicate key and a negative value:\n%s", out)
	}
	for _, check := range []string{"No duplicate natural keys", "value is non-negative"} {
		if !failedCheck(out, check) {
			t.Errorf("soda output does not report %q as failed", check)
		}
	}
	if failedCheck(out, "Components sum to value") || failedCheck(out, "Row count within expected range") {
		t.Errorf("checks the changes do not break failed")
	}
	if t.Failed() {
		t.Log(out)
	}
}

// failedCheck finds check in Soda's scan summary marked [FAILED].
func failedCheck(out, check string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, check) && strings.HasSuffix(strings.TrimSpace(line), "[FAILED]") {
			return true
		}
	}
	return false
}

// scan.sh's tier 1 builds the staging table from the newest run's staged NDJSON (the API's
// keys) and runs the other engineer's soda/staging_checks.yml on it.
func TestSodaTier1Staged(t *testing.T) {
	root := whtest.RepoRoot(t)
	soda := sodaBin(t, root)
	lakeDir := t.TempDir()
	runDir := filepath.Join(lakeDir, "staged", "ecological_footprint", "run=r1")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range whtest.ReadYear(t, 2022) {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(runDir, "ef-2022.ndjson"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runScan(t, root, "GFN_SODA="+soda, "GFN_LAKE_DIR="+lakeDir, "GFN_SODA_TIERS=1")
	if code != 0 {
		t.Fatalf("tier 1 on the recorded 2022 batch exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "staged_ecological_footprint") {
		t.Fatalf("tier 1 did not scan staged_ecological_footprint:\n%s", out)
	}
}
