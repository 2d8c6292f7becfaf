package deploytest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gfnpipeline/contracts"
)

// repoRoot is the repository this module sits in (tools/deploytest).
const repoRoot = "../.."

// pipelineServices is what the deployment must run: each service, its queue and the
// settings its code reads: the Env* constants of its service package, read from source
// (importing the loader would link DuckDB through CGO, and a service under change must not
// stop the deploy checks from building).
func pipelineServices(t *testing.T) []Service {
	t.Helper()
	var out []Service
	for _, s := range contracts.Services() {
		out = append(out, Service{Name: s.Name, Queue: s.Queue, Env: envConstants(t, s.Name)})
	}
	return out
}

// envConstants returns the values of the exported Env* string constants in a service's
// service package.
func envConstants(t *testing.T, svc string) []string {
	t.Helper()
	dir := filepath.Join(repoRoot, "services", svc, "service")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("service package %s: %v (no Go files)", dir, err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "Env") || !n.IsExported() || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						out = append(out, v)
					}
				}
			}
		}
	}
	return out
}

func TestEnvConstantsReadsServiceSource(t *testing.T) {
	got := envConstants(t, "loader")
	for _, want := range []string{"DUCKDB_PATH", "GFN_STATUS_ADDR"} {
		if !strings.Contains(strings.Join(got, ","), want) {
			t.Errorf("loader Env constants %v lack %s", got, want)
		}
	}
}

// The services/ directories and go.work's modules are the services contracts lists (Make
// finds the services from services/*/go.mod).
func TestServiceModulesAreTheServices(t *testing.T) {
	mods, err := filepath.Glob(filepath.Join(repoRoot, "services", "*", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range mods {
		dirs = append(dirs, filepath.Base(filepath.Dir(m)))
	}
	want := contracts.ServiceNames()
	slices.Sort(dirs)
	slices.Sort(want)
	if !slices.Equal(dirs, want) {
		t.Errorf("services/*/go.mod modules %v, contracts.Services %v", dirs, want)
	}
	work, err := os.ReadFile(filepath.Join(repoRoot, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range want {
		if !strings.Contains(string(work), "./services/"+name+"\n") {
			t.Errorf("go.work does not use ./services/%s", name)
		}
	}
}
