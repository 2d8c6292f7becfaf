package deploytest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/platform"
)

// docRow is one variable of the README's configuration table.
type docRow struct {
	name, readBy, def string
}

var backticked = regexp.MustCompile("`([^`]*)`")

// configTable parses the table under "## Configuration": one docRow per variable. A cell may
// name several (`A`, `_B` or `C`: `_B` shares A's first word) with one default for all or one
// each (`2` / `5`); "none" and "off" mean no default.
func configTable(t *testing.T, readme string) []docRow {
	t.Helper()
	var rows []docRow
	in := false
	sc := bufio.NewScanner(strings.NewReader(readme))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Configuration"
			continue
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) < 4 {
			t.Fatalf("README configuration row %q: want 4 cells", line)
		}
		var names []string
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			n := m[1]
			if strings.HasPrefix(n, "_") && len(names) > 0 {
				first, _, _ := strings.Cut(names[0], "_")
				n = first + n
			}
			names = append(names, n)
		}
		defs := strings.Split(cells[2], " / ")
		for i, n := range names {
			d := defs[0]
			if len(defs) == len(names) {
				d = defs[i]
			}
			d = strings.Trim(strings.TrimSpace(d), "`")
			if d == "none" || d == "off" {
				d = ""
			}
			rows = append(rows, docRow{name: n, readBy: cells[1], def: d})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("README: no configuration table under ## Configuration")
	}
	return rows
}

// checkConfigTable compares the table's rows with the platform's and every service's
// settings: each is there with its default (or "required") and its reader, and no row says a
// service reads what its Config does not (the SDK's own AWS_* aside).
func checkConfigTable(rows []docRow) []string {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	documented := map[string][]docRow{}
	for _, r := range rows {
		documented[r.name] = append(documented[r.name], r)
	}
	read := map[string]bool{}
	check := func(reader string, settings []platform.Setting, readers ...string) {
		for _, s := range settings {
			read[s.Name] = true
			docs, ok := documented[s.Name]
			if !ok {
				bad("%s (read by %s) is missing", s.Name, reader)
				continue
			}
			want := s.Default
			if s.Required {
				want = "required"
			}
			named := false
			for _, d := range docs {
				if d.def != want {
					bad("%s: default %q, the code's is %q", s.Name, d.def, want)
				}
				for _, r := range readers {
					named = named || strings.Contains(d.readBy, r)
				}
			}
			if !named {
				bad("%s is read by %s, the table says %q", s.Name, reader, docs[0].readBy)
			}
		}
	}
	check("every service", platform.Settings[platform.Config](), "every service", "everything")
	for _, name := range contracts.ServiceNames() {
		check(name, serviceSettings[name], name)
	}
	for _, r := range rows {
		if read[r.name] || strings.HasPrefix(r.name, "AWS_") {
			continue
		}
		for _, name := range contracts.ServiceNames() {
			if strings.Contains(r.readBy, name) {
				bad("%s is documented as read by %s, whose Config does not read it", r.name, name)
			}
		}
	}
	return probs
}

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadmeConfigurationMatchesConfig keeps the README's configuration table in step with
// the Config structs.
func TestReadmeConfigurationMatchesConfig(t *testing.T) {
	for _, p := range checkConfigTable(configTable(t, readme(t))) {
		t.Errorf("README configuration: %s", p)
	}
}

func TestConfigTableCheckerCatchesDrift(t *testing.T) {
	src := readme(t)
	rows := configTable(t, src)
	if got := len(rows); got < 30 {
		t.Fatalf("parsed %d rows from the README's table: the parser misses rows", got)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"default", "| `GFN_CONCURRENCY` | every service (poller), `make run` | `1` |", "| `GFN_CONCURRENCY` | every service (poller), `make run` | `2` |", `GFN_CONCURRENCY: default "2", the code's is "1"`},
		{"second of two defaults", "| `2` / `5` |", "| `2` / `6` |", `GFN_API_BURST: default "6"`},
		{"missing", "| `DUCKDB_PATH` | loader | `data/gfn.duckdb` | the local warehouse file |\n", "", "DUCKDB_PATH (read by loader) is missing"},
		{"abbreviated name", "`_PROTOCOL`", "`_PROTO`", "SNOWFLAKE_PROTO is documented as read by loader"},
		{"reader", "| `GFN_REJECT_THRESHOLD` | validator |", "| `GFN_REJECT_THRESHOLD` | transformer |", "GFN_REJECT_THRESHOLD is read by validator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(src, tc.old) {
				t.Fatalf("README lacks %q", tc.old)
			}
			probs := checkConfigTable(configTable(t, strings.Replace(src, tc.old, tc.new, 1)))
			if !strings.Contains(strings.Join(probs, "\n"), tc.want) {
				t.Fatalf("problems %q, want one with %q", probs, tc.want)
			}
		})
	}
}
