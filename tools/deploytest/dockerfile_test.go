package deploytest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerfiles(t *testing.T) {
	type image struct {
		dockerfile, moduleDir, pkg string
		cgo                        bool
	}
	images := []image{
		{"tools/gfnapi-sim/Dockerfile", "tools/gfnapi-sim", "./cmd/gfnapi-sim", false},
		{"tools/gfnctl/Dockerfile", "tools/gfnctl", ".", false},
	}
	for _, s := range pipelineServices(t) {
		// DuckDB is the one C dependency: only the loader builds with CGO.
		images = append(images, image{"services/" + s.Name + "/Dockerfile", "services/" + s.Name, "./cmd/" + s.Name, s.Name == "loader"})
	}
	for _, im := range images {
		t.Run(im.dockerfile, func(t *testing.T) {
			ins, err := ParseDockerfile(filepath.Join(repoRoot, im.dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range CheckServiceDockerfile(ins, im.moduleDir, im.pkg, im.cgo) {
				t.Error(p)
			}
			// The package must exist and be a main package.
			mains, err := filepath.Glob(filepath.Join(repoRoot, im.moduleDir, im.pkg, "*.go"))
			isMain := false
			for _, f := range mains {
				src, _ := os.ReadFile(f)
				isMain = isMain || strings.Contains(string(src), "\npackage main\n") || strings.HasPrefix(string(src), "package main\n")
			}
			if err != nil || !isMain {
				t.Errorf("%s builds %s in %s, which is not a main package", im.dockerfile, im.pkg, im.moduleDir)
			}
		})
	}
}

// The checker must catch drift in a copy of a Dockerfile.
func TestDockerfileCheckerCatchesDrift(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "services/validator/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, old, new, want string }{
		{"wrong cmd", "./cmd/validator", "./cmd/transformer", "want ./cmd/validator"},
		{"cgo", "GOWORK=off CGO_ENABLED=0", "GOWORK=off CGO_ENABLED=1", "want CGO_ENABLED=0"},
		{"root", "USER nonroot:nonroot", "USER root", "non-root"},
		{"latest base", "golang:1.26.8-bookworm", "golang:latest", "not pinned"},
		{"baked secret", "ENV RUNTIME=poller", "ENV GFN_API_KEY=abc", "ENV GFN_API_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(src), tt.old) {
				t.Fatalf("validator Dockerfile no longer contains %q; update the test", tt.old)
			}
			p := filepath.Join(t.TempDir(), "Dockerfile")
			if err := os.WriteFile(p, []byte(strings.Replace(string(src), tt.old, tt.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			ins, err := ParseDockerfile(p)
			if err != nil {
				t.Fatal(err)
			}
			if probs := CheckServiceDockerfile(ins, "services/validator", "./cmd/validator", false); !containsProblem(probs, tt.want) {
				t.Errorf("want a problem mentioning %q, got %q", tt.want, probs)
			}
		})
	}
}
