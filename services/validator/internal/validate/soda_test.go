package validate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/contracts/quality"
	"github.com/gfnpipeline/contracts/quality/qualitytest"
)

// buildTable makes the DuckDB file Soda scans with the venv's own duckdb (1.0, which Soda
// pins), so the storage format is one it reads. Mode "json" keeps every API key as a JSON
// column (a "2020" string stays apart from 2020); "auto" is read_json_auto over NDJSON, what
// soda/scan.sh does with staged/.
const buildTable = `
import sys, duckdb
db, mode, src, cols = sys.argv[1:5]
con = duckdb.connect(db)
src = src.replace("'", "''")
if mode == "json":
    spec = "{" + ", ".join(f"{c}: 'JSON'" for c in cols.split(",")) + "}"
    con.execute(f"CREATE TABLE staged_ecological_footprint AS SELECT * FROM read_json('{src}', format='array', columns={spec})")
else:
    con.execute(f"CREATE TABLE staged_ecological_footprint AS SELECT * FROM read_json_auto('{src}', format='newline_delimited')")
con.close()
`

// sodaBinary finds Soda Core: GFN_SODA, else the repository's venv. CI creates the venv, so
// a missing Soda is a failure, not a skip.
func sodaBinary(t *testing.T) string {
	t.Helper()
	soda := os.Getenv("GFN_SODA")
	if soda == "" {
		soda = filepath.Join(repoRoot(t), ".venv", "bin", "soda")
	}
	if _, err := os.Stat(soda); err != nil {
		t.Fatalf("soda not found at %s (set GFN_SODA or run `make venv` in the repository root): %v", soda, err)
	}
	return soda
}

// sodaScan builds the table from src and returns each check's measured value by name.
func sodaScan(t *testing.T, soda, mode, src string) map[string]float64 {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "staging.duckdb")
	python := filepath.Join(filepath.Dir(soda), "python")
	build := exec.Command(python, "-c", buildTable, db, mode, src, strings.Join(contracts.APIFields, ","))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build DuckDB file with %s: %v\n%s", python, err, out)
	}
	// Soda's anonymous usage stats retry for seconds without network: turn them off in a
	// scratch HOME rather than the user's.
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(filepath.Join(home, ".soda"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".soda", "config.yml"), []byte("send_anonymous_usage_stats: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(dir, "results.json")
	root := repoRoot(t)
	scan := exec.Command(soda, "scan", "-d", "gfn_staging",
		"-c", filepath.Join(root, "soda", "testdata", "configuration.yml"),
		"-srf", results, filepath.Join(root, "soda", "staging_checks.yml"))
	scan.Env = append(os.Environ(), "HOME="+home, "GFN_STAGING_DUCKDB="+db)
	out, err := scan.CombinedOutput()
	// Exit codes: 0 pass, 1 warnings, 2 failures, 3 errors.
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode() > 2) {
		t.Fatalf("soda scan: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(results)
	if err != nil {
		t.Fatalf("soda wrote no results: %v\n%s", err, out)
	}
	var res struct {
		HasErrors bool `json:"hasErrors"`
		Checks    []struct {
			Name        string `json:"name"`
			Diagnostics struct {
				Value *float64 `json:"value"`
			} `json:"diagnostics"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.HasErrors {
		t.Fatalf("soda scan had errors:\n%s", out)
	}
	got := map[string]float64{}
	for _, c := range res.Checks {
		if c.Diagnostics.Value == nil {
			t.Fatalf("check %s has no value:\n%s", c.Name, out)
		}
		got[c.Name] = *c.Diagnostics.Value
	}
	return got
}

func asFloats(m map[string]int) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		out[k] = float64(v)
	}
	return out
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Soda's staging checks and the validator count the same rows for every rule.
func TestSodaAgreesWithValidator(t *testing.T) {
	soda := sodaBinary(t)
	f := qualitytest.Build()
	res, err := quality.ValidateBatch(f.Body, quality.Options{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("fixture breaking every rule once", func(t *testing.T) {
		want := asFloats(res.CountByRule())
		got := sodaScan(t, soda, "json", writeFile(t, "fixture.json", f.Body))
		compare(t, got, want)
		for rule, n := range got {
			if n != 1 {
				t.Errorf("soda counted %v rows for %s, want 1", n, rule)
			}
		}
	})

	t.Run("staged rows typed as scan.sh loads them", func(t *testing.T) {
		staged, err := quality.EncodeStaged(res.Rows)
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimSpace(staged), []byte("\n"))
		again, err := quality.ValidateBatch(append(append([]byte("["), bytes.Join(lines, []byte(","))...), ']'), quality.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := asFloats(again.CountByRule())
		if want[quality.RuleRecordType] != 1 {
			t.Fatalf("staged fixture should keep its one unknown record type: %v", want)
		}
		compare(t, sodaScan(t, soda, "auto", writeFile(t, "staged.ndjson", staged)), want)
	})

	t.Run("recording", func(t *testing.T) {
		dir := filepath.Join(repoRoot(t), "..", "shared", "data", "gfn-api-recording")
		files, _ := filepath.Glob(filepath.Join(dir, "data_all_*.json.gz"))
		if len(files) == 0 {
			t.Skip("GFN API recording not available")
		}
		total := quality.Result{}.CountByRule()
		rows := 0
		for _, file := range files {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			r, err := quality.ValidateBatch(body, quality.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rows += r.RowsIn
			for k, v := range r.CountByRule() {
				total[k] += v
			}
		}
		if rows != 73942 {
			t.Fatalf("%d rows in the recording", rows)
		}
		compare(t, sodaScan(t, soda, "json", filepath.Join(dir, "data_all_*.json.gz")), asFloats(total))
	})
}

// compare checks that Soda ran one check per rule and measured what the validator counted.
func compare(t *testing.T, soda, validator map[string]float64) {
	t.Helper()
	for _, r := range quality.Rules {
		if _, ok := soda[r.Name]; !ok {
			t.Errorf("staging_checks.yml has no check named %q", r.Name)
		}
	}
	if !maps.Equal(soda, validator) {
		t.Errorf("soda and validator disagree:\n%s", diff(soda, validator))
	}
}

func diff(soda, validator map[string]float64) string {
	var b strings.Builder
	for _, r := range quality.Rules {
		fmt.Fprintf(&b, "  %-15s soda=%v validator=%v\n", r.Name, soda[r.Name], validator[r.Name])
	}
	return b.String()
}
