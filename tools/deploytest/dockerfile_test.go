package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gfnpipeline/contracts"
)

// dockerImage is one Dockerfile and the main package it must build.
type dockerImage struct {
	dockerfile, moduleDir, pkg string
	cgo                        bool
}

func dockerImages(t *testing.T) []dockerImage {
	t.Helper()
	images := []dockerImage{
		{"tools/gfnapi-sim/Dockerfile", "tools/gfnapi-sim", "./cmd/gfnapi-sim", false},
		// gfnctl links DuckDB through shared/warehouse (`run --embedded`, `load`).
		{"tools/gfnctl/Dockerfile", "tools/gfnctl", ".", true},
	}
	for _, s := range pipelineServices(t) {
		// DuckDB is the one C dependency: only the loader builds with CGO.
		images = append(images, dockerImage{"services/" + s.Name + "/Dockerfile", "services/" + s.Name, "./cmd/" + s.Name, s.Name == contracts.ServiceLoader})
	}
	return images
}

// makefileGo is the toolchain the Makefile exports (GOTOOLCHAIN), e.g. go1.27.3.
func makefileGo(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^export GOTOOLCHAIN :?= *(go\S+)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("Makefile does not export GOTOOLCHAIN")
	}
	return string(m[1])
}

func TestDockerfiles(t *testing.T) {
	wantGo := makefileGo(t)
	for _, im := range dockerImages(t) {
		t.Run(im.dockerfile, func(t *testing.T) {
			ins, err := ParseDockerfile(filepath.Join(repoRoot, im.dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range CheckServiceDockerfile(ins, im.moduleDir, im.pkg, im.cgo) {
				t.Error(p)
			}
			for _, p := range CheckReplaceCopies(ins, repoRoot, im.moduleDir) {
				t.Error(p)
			}
			// The image builds with the Go the Makefile (and so tests and `make package`) use.
			if m := golangImage.FindStringSubmatch(Stages(ins)[0].Base); m == nil || "go"+m[1] != wantGo {
				t.Errorf("build stage FROM %s, want golang:%s-...", Stages(ins)[0].Base, strings.TrimPrefix(wantGo, "go"))
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

// editDockerfile writes a copy of a repository Dockerfile with one edit and returns its path.
func editDockerfile(t *testing.T, dockerfile, old, new string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), old) {
		t.Fatalf("%s no longer contains %q; update the test", dockerfile, old)
	}
	p := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(p, []byte(strings.Replace(string(src), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The checker must catch drift in a copy of a Dockerfile.
func TestDockerfileCheckerCatchesDrift(t *testing.T) {
	const validator, loader = "services/validator/Dockerfile", "services/loader/Dockerfile"
	distroless := "gcr.io/distroless/static-debian12:nonroot@sha256:"
	tests := []struct {
		name, dockerfile, old, new, want string
		cgo                              bool
	}{
		{"wrong cmd", validator, "./cmd/validator", "./cmd/transformer", "want ./cmd/validator", false},
		{"cgo", validator, "GOWORK=off CGO_ENABLED=0", "GOWORK=off CGO_ENABLED=1", "want CGO_ENABLED=0", false},
		{"root", validator, "USER nonroot:nonroot", "USER root", "non-root", false},
		{"latest base", validator, "golang:1.27.3-bookworm", "golang:latest", "not pinned", false},
		{"moving tag", validator, distroless + "d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639", "gcr.io/distroless/static-debian12:nonroot", "not pinned", false},
		{"moving debian tag", loader, "FROM debian:12.15-slim", "FROM debian:bookworm-slim", "not pinned", true},
		{"baked secret", validator, "ENV RUNTIME=poller", "ENV GFN_API_KEY=abc", "ENV GFN_API_KEY", false},
		{"no CA certificates", loader, "ca-certificates libstdc++6", "libstdc++6", "no CA certificates", true},
		{"cgo on a static base", loader, "FROM debian:12.15-slim", "FROM " + distroless + "d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639", "has no libc", true},
		{"unknown base", loader, "FROM debian:12.15-slim", "FROM alpine:3.22.1", "unknown", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ins, err := ParseDockerfile(editDockerfile(t, tt.dockerfile, tt.old, tt.new))
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Dir(tt.dockerfile)
			if probs := CheckServiceDockerfile(ins, dir, "./cmd/"+filepath.Base(dir), tt.cgo); !containsProblem(probs, tt.want) {
				t.Errorf("want a problem mentioning %q, got %q", tt.want, probs)
			}
		})
	}
}

// A COPY line dropped for a `replace` target is caught before anything builds, even when
// today's imports let `go build` pass without it (the extractor's tests use the simulator,
// its binary does not): the next import would break the image.
func TestReplaceCopiesCatchesMissingTarget(t *testing.T) {
	ins, err := ParseDockerfile(editDockerfile(t, "services/extractor/Dockerfile", "COPY tools/gfnapi-sim/ tools/gfnapi-sim/\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	probs := CheckReplaceCopies(ins, repoRoot, "services/extractor")
	if !containsProblem(probs, "no COPY copies tools/gfnapi-sim") {
		t.Errorf("want the missing tools/gfnapi-sim COPY reported, got %q", probs)
	}
}
