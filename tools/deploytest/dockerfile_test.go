package deploytest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerfiles(t *testing.T) {
	type image struct {
		dockerfile, moduleDir, name string
		cgo                         bool
	}
	images := []image{
		{"tools/gfnapi-sim/Dockerfile", "tools/gfnapi-sim", "gfnapi-sim", false},
		{"tools/gfnctl/Dockerfile", "tools/gfnctl", "gfnctl", false},
	}
	for _, s := range pipelineServices(t) {
		// DuckDB is the one C dependency: only the loader builds with CGO.
		images = append(images, image{"services/" + s.Name + "/Dockerfile", "services/" + s.Name, s.Name, s.Name == "loader"})
	}
	for _, im := range images {
		t.Run(im.name, func(t *testing.T) {
			ins, err := ParseDockerfile(filepath.Join(repoRoot, im.dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range CheckServiceDockerfile(ins, im.moduleDir, im.name, im.cgo) {
				t.Error(p)
			}
			if _, err := os.Stat(filepath.Join(repoRoot, im.moduleDir, "cmd", im.name)); err != nil && im.name != "gfnctl" {
				t.Errorf("%s builds ./cmd/%s, which does not exist: %v", im.dockerfile, im.name, err)
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
		{"wrong cmd", "./cmd/validator", "./cmd/transformer", "does not build ./cmd/validator"},
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
			if probs := CheckServiceDockerfile(ins, "services/validator", "validator", false); !containsProblem(probs, tt.want) {
				t.Errorf("want a problem mentioning %q, got %q", tt.want, probs)
			}
		})
	}
}
