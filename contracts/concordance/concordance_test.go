package concordance

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// csvPath is the shared data directory next to the repository (never copied into it).
var csvPath = filepath.Join("..", "..", "..", "shared", "data", "gfn-concordance", "gfn_country_code_concordance.csv")

func TestLookupQuirks(t *testing.T) {
	tests := []struct {
		code           int
		name           string
		alpha2, alpha3 string
	}{
		{1, "Armenia", "AM", "ARM"},
		{147, "Namibia", "NA", "NAM"},       // "NA" is a code, not a missing value
		{41, "China, mainland", "", ""},     // "NULL" in both columns
		{128, "China, Macao SAR", "MO", ""}, // "NULL" alpha-3 only
		{228, "USSR", "", ""},               // "SUN" is not an alpha-2 code
		{206, "Sudan (former)", "", ""},     // empty cells
		{107, "Côte d'Ivoire", "CI", "CIV"}, // non-ASCII name
		{5001, "World", "", ""},             // aggregate
		{248, "Yugoslav SFR", "", "YUG"},    // four-letter alpha-2 dropped, alpha-3 kept
	}
	for _, tc := range tests {
		e, ok := Lookup(tc.code)
		if !ok {
			t.Errorf("Lookup(%d) missing", tc.code)
			continue
		}
		if e.Name != tc.name || e.Alpha2 != tc.alpha2 || e.Alpha3 != tc.alpha3 {
			t.Errorf("Lookup(%d) = %+v, want %q %q %q", tc.code, e, tc.name, tc.alpha2, tc.alpha3)
		}
		a3, ok3 := Alpha3(tc.code)
		if a3 != tc.alpha3 || ok3 != (tc.alpha3 != "") {
			t.Errorf("Alpha3(%d) = %q, %v", tc.code, a3, ok3)
		}
		a2, ok2 := Alpha2(tc.code)
		if a2 != tc.alpha2 || ok2 != (tc.alpha2 != "") {
			t.Errorf("Alpha2(%d) = %q, %v", tc.code, a2, ok2)
		}
	}
	if _, ok := Lookup(999999); ok {
		t.Error("Lookup of an unknown code succeeded")
	}
	// The data README says 245 rows; the CSV has 246 data rows (247 lines with the header).
	if n := len(Entries()); n != 246 {
		t.Errorf("%d entries, want the source's 246", n)
	}
}

// The committed table must be what the generator makes from the source CSV today.
func TestGeneratedTableUpToDate(t *testing.T) {
	if _, err := os.Stat(csvPath); err != nil {
		t.Skipf("concordance CSV not available: %v", err)
	}
	out := filepath.Join(t.TempDir(), "table_gen.go")
	if err := runGen(t, csvPath, out); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("table_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("table_gen.go is stale: run `go generate ./...` in contracts/concordance")
	}
}

// runGen runs the generator as go:generate does.
func runGen(t *testing.T, in, out string) error {
	t.Helper()
	cmd := exec.Command("go", "run", "./internal/gen", "-in", in, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Logf("%s", b)
		return err
	}
	return nil
}
