package deploytest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// envReaders are the standard library's ways to read the environment.
var envReaders = map[string]bool{
	"os.Getenv": true, "os.LookupEnv": true, "os.Environ": true, "os.ExpandEnv": true,
	"syscall.Getenv": true, "syscall.Environ": true,
}

// envReads returns file:line: call for every use of an environment reader in the non-test Go
// files under dir, except in config code: a file or package (directory) named for config.
// Test helper packages (shared/awstest) are test code too.
func envReads(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); strings.Contains(name, "config") || name == "awstest" || name == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || strings.Contains(name, "config") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && envReaders[pkg.Name+"."+sel.Sel.Name] {
				found = append(found, fset.Position(sel.Pos()).String()+": "+pkg.Name+"."+sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestOnlyConfigReadsTheEnvironment: services, shared and contracts take their settings from
// their Config structs (platform.Parse), so that what a service reads is declared in one place
// (and the deploy checks and the README table can be compared with it).
func TestOnlyConfigReadsTheEnvironment(t *testing.T) {
	for _, dir := range []string{"services", "shared", "contracts"} {
		for _, r := range envReads(t, filepath.Join(repoRoot, dir)) {
			t.Errorf("%s: only config code (a file or package named for config) reads the environment", r)
		}
	}
}

// TestEnvReadsFindsViolations keeps the check above able to fail.
func TestEnvReadsFindsViolations(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("svc/app.go", "package svc\n\nimport \"os\"\n\nvar a = os.Getenv(\"X\")\nvar b = os.Getenv\n\nfunc f() { _, _ = os.LookupEnv(\"Y\") }\n")
	write("svc/config.go", "package svc\n\nimport \"os\"\n\nvar c = os.Getenv(\"X\")\n")
	write("svc/app_test.go", "package svc\n\nimport \"os\"\n\nvar d = os.Getenv(\"X\")\n")
	write("svcconfig/read.go", "package svcconfig\n\nimport \"os\"\n\nvar e = os.Environ()\n")
	got := envReads(t, dir)
	if len(got) != 3 || !strings.Contains(got[0], "app.go:5") || !strings.Contains(got[2], "os.LookupEnv") {
		t.Fatalf("found %v, want app.go's three reads only", got)
	}
}
