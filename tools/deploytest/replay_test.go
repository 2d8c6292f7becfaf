package deploytest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// replayEnv is what the build stage's cache mounts and network give `go` in Docker: the
// host's module and build caches (shared, so a replay after `go test` reuses its work) and
// proxy settings. Nothing else of the host's Go configuration leaks in: GOENV=off, and
// GOFLAGS is empty as in the golang image.
func replayEnv(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "-json", "GOMODCACHE", "GOCACHE", "GOPROXY", "GOSUMDB",
		"GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOINSECURE").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	var goenv map[string]string
	if err := json.Unmarshal(out, &goenv); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(), "GOENV=off", "GOFLAGS="}
	for k, v := range goenv {
		env = append(env, k+"="+v)
	}
	return env
}

func replay(t *testing.T, dockerfile string) (Replay, error) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds every image's binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	return ReplayBuild(ctx, repoRoot, dockerfile, t.TempDir(), replayEnv(t))
}

// Each Dockerfile's build stage, replayed without Docker, builds a binary its runtime base
// can start. In parallel: `make package` and the stack's builds have usually compiled the
// packages already (-trimpath leaves the copied tree's path out of the build cache's keys),
// so what remains is mostly each binary's link, which uses one core.
func TestDockerfileBuildReplay(t *testing.T) {
	for _, im := range dockerImages(t) {
		t.Run(im.dockerfile, func(t *testing.T) {
			t.Parallel()
			r, err := replay(t, filepath.Join(repoRoot, im.dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			if want := makefileGo(t); r.Go != want {
				t.Errorf("built with %s, want %s", r.Go, want)
			}
			for _, p := range CheckBinary(r.Binary, r.RuntimeBase) {
				t.Error(p)
			}
			// The check must be able to fail: a CGO binary has no place on distroless static.
			if im.cgo && len(CheckBinary(r.Binary, "gcr.io/distroless/static-debian12:nonroot")) == 0 {
				t.Errorf("%s links libc, yet CheckBinary accepts it on distroless static", r.Binary)
			}
		})
	}
}

// The replay fails the way `docker build` would on what issue 12 found, and on the next
// Dockerfile that misses a `replace` target.
func TestDockerfileBuildReplayCatchesBrokenBuilds(t *testing.T) {
	before, err := os.ReadFile("testdata/gfnctl-before-issue12.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	beforeFile := filepath.Join(t.TempDir(), "Dockerfile")
	// Same Go as today, so the replay fails for the Dockerfile's own reasons.
	if err := os.WriteFile(beforeFile, []byte(strings.ReplaceAll(string(before), "golang:1.26.8-", "golang:1.27.3-")), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, dockerfile, want string }{
		{"gfnctl before issue 12: services not copied", beforeFile, "replacement directory ../../services/extractor does not exist"},
		{"gfnctl without CGO: DuckDB will not build",
			editDockerfile(t, "tools/gfnctl/Dockerfile", "GOWORK=off CGO_ENABLED=1", "GOWORK=off CGO_ENABLED=0"),
			"build constraints exclude all Go files"},
		{"validator missing a replace target",
			editDockerfile(t, "services/validator/Dockerfile", "COPY shared/ shared/\n", ""),
			"replacement directory ../../shared does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := replay(t, tt.dockerfile)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("want a replay error mentioning %q, got %v", tt.want, err)
			}
		})
	}
}
