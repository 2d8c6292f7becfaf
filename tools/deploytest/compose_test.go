package deploytest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gfnpipeline/contracts"
)

const tokenSentinel = "token-from-the-environment"

func checkComposeFile(t *testing.T, file string) []string {
	t.Helper()
	p, err := LoadCompose(context.Background(), file, map[string]string{"LOCALSTACK_AUTH_TOKEN": tokenSentinel})
	if err != nil {
		t.Fatal(err)
	}
	return CheckCompose(p, contracts.DefaultTopology(""), pipelineServices(t), tokenSentinel)
}

func TestComposeMatchesCode(t *testing.T) {
	for _, p := range checkComposeFile(t, filepath.Join(repoRoot, "docker-compose.yml")) {
		t.Error(p)
	}
}

// The checker must catch drift: each edit below breaks one rule in a copy of the file.
func TestComposeCheckerCatchesDrift(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"renamed queue", "gfn.queue: gfn-validator", "gfn.queue: gfn-validator-v2", "validator: label gfn.queue"},
		{"lambda runtime", "RUNTIME: poller", "RUNTIME: lambda", "RUNTIME=\"lambda\""},
		{"no endpoint", "AWS_ENDPOINT_URL: http://emulator:4566", "AWS_ENDPOINT_URL: http://localhost:4566", "AWS_ENDPOINT_URL"},
		{"bootstrap not awaited", "condition: service_completed_successfully", "condition: service_started", "depends_on bootstrap"},
		{"typo in a setting", "GFN_API_RATE: ${GFN_API_RATE:-10}", "GFN_API_RATES: ${GFN_API_RATE:-10}", "sets GFN_API_RATES"},
		{"duckdb off the volume", "DUCKDB_PATH: /var/lib/gfn/gfn.duckdb", "DUCKDB_PATH: /tmp/gfn.duckdb", "not on a named volume"},
		{"unpinned emulator", "motoserver/moto:5.2.1", "motoserver/moto:latest", "not pinned"},
		{"token not passed", "LOCALSTACK_AUTH_TOKEN: ${LOCALSTACK_AUTH_TOKEN:-}", "LOCALSTACK_AUTH_TOKEN: \"\"", "LOCALSTACK_AUTH_TOKEN"},
		{"bootstrap command", `command: ["infra", "apply"]`, `command: ["infra", "plan"]`, "want \"infra apply\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(src), tt.old) {
				t.Fatalf("docker-compose.yml no longer contains %q; update the test", tt.old)
			}
			file := filepath.Join(t.TempDir(), "docker-compose.yml")
			if err := os.WriteFile(file, []byte(strings.Replace(string(src), tt.old, tt.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			probs := checkComposeFile(t, file)
			if !containsProblem(probs, tt.want) {
				t.Errorf("want a problem mentioning %q, got %q", tt.want, probs)
			}
		})
	}
}

func containsProblem(probs []string, want string) bool {
	for _, p := range probs {
		if strings.Contains(p, want) {
			return true
		}
	}
	return false
}
