package deploytest

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awstest"
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
		{"port on every interface", `"127.0.0.1:8090:8090"`, `"8090:8090"`, "loader: publishes port 8090"},
		{"costly health check", "localhost:4566/moto-api/config", "localhost:4566/moto-api/data.json", "data.json"},
		{"loader's concurrency drifts from make e2e's", `GFN_CONCURRENCY: "10"`, `GFN_CONCURRENCY: "4"`, "loader: GFN_CONCURRENCY=\"4\", want 10"},
		{"moto without the SQS fix", `entrypoint: ["python", "/gfn/motoserver.py", "-H", "0.0.0.0"]`, `entrypoint: ["moto_server", "-H", "0.0.0.0"]`, "does not run shared/awstest/motoserver.py"},
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

// Compose's moto command (its entrypoint, the mounted script run from the checkout) starts
// moto's real server (the image's version), and the healthcheck's URL answers on it.
func TestMotoHealthcheckAnswers(t *testing.T) {
	p, err := LoadCompose(context.Background(), filepath.Join(repoRoot, "docker-compose.yml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := strings.Join(p.Services[ProfileMoto].HealthCheck.Test, " ")
	m := regexp.MustCompile(`http://localhost:\d+(/[^'" ]*)`).FindStringSubmatch(hc)
	if m == nil {
		t.Fatalf("moto healthcheck %q names no http://localhost URL", hc)
	}
	cmd, err := MotoCommand(p)
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := awstest.StartMotoCommand(cmd)
	if err != nil {
		t.Skipf("moto not available: %v", err)
	}
	defer stop()
	c := http.Client{Timeout: 2 * time.Second} // the healthcheck's timeout
	res, err := c.Get(url + m[1])
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 { // urllib.request.urlopen fails on anything else
		t.Errorf("GET %s: %s", m[1], res.Status)
	}
}

// .env holds the LocalStack token: neither committed nor sent to a Docker build.
func TestDotEnvIsIgnored(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	cmd := exec.Command("git", "check-ignore", "-q", "--no-index", ".env")
	cmd.Dir = repoRoot
	if err := cmd.Run(); err != nil {
		t.Errorf(".env is not in .gitignore (git check-ignore: %v)", err)
	}
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".env", "services/loader/.env"} {
		if ok, err := patternmatcher.MatchesOrParentMatches(p, patterns); err != nil || !ok {
			t.Errorf("%s is not in .dockerignore (%v)", p, err)
		}
	}
}

// upDryRun is `make -n up` (or another target) with env as the whole environment besides PATH.
func upDryRun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	cmd := exec.Command("make", append([]string{"-s", "-n", "-f", "mk/deploy.mk"}, args...)...)
	cmd.Dir = repoRoot
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// `make up` picks the emulator from the token Compose itself would see: the environment's,
// else .env's, parsed as compose-go parses it.
func TestMakeUpReadsDotEnvLikeCompose(t *testing.T) {
	tests := []struct {
		name, dotenv string
		env          []string
	}{
		{"plain", "LOCALSTACK_AUTH_TOKEN=ls-abc\n", nil},
		{"export and quotes", "export LOCALSTACK_AUTH_TOKEN=\"ls abc\" # mine\n", nil},
		{"single quotes keep #", "LOCALSTACK_AUTH_TOKEN='ls#abc'\n", nil},
		{"inline comment", "LOCALSTACK_AUTH_TOKEN=ls-abc # mine\n", nil},
		{"empty", "LOCALSTACK_AUTH_TOKEN=\n", nil},
		{"comment only", "LOCALSTACK_AUTH_TOKEN= # no token yet\n", nil},
		{"commented out", "# LOCALSTACK_AUTH_TOKEN=ls-abc\nGFN_BUCKET=b\n", nil},
		{"last wins", "LOCALSTACK_AUTH_TOKEN=ls-abc\nLOCALSTACK_AUTH_TOKEN=\n", nil},
		{"shell wins", "LOCALSTACK_AUTH_TOKEN=ls-abc\n", []string{"LOCALSTACK_AUTH_TOKEN="}},
		{"shell token", "", []string{"LOCALSTACK_AUTH_TOKEN=ls-env"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), ".env")
			if err := os.WriteFile(file, []byte(tt.dotenv), 0o600); err != nil {
				t.Fatal(err)
			}
			fromFile, err := dotenv.Read(file)
			if err != nil {
				t.Fatal(err)
			}
			token := fromFile["LOCALSTACK_AUTH_TOKEN"]
			for _, kv := range tt.env { // the shell's value wins, as in Compose
				token = strings.TrimPrefix(kv, "LOCALSTACK_AUTH_TOKEN=")
			}
			want := "--profile moto up"
			if token != "" {
				want = "--profile localstack up"
			}
			if out := upDryRun(t, tt.env, "up", "ENV_FILE="+file); !strings.Contains(out, want) {
				t.Errorf("compose sees token %q; want %q in:\n%s", token, want, out)
			}
		})
	}
}

// `make up` clears the other profile's emulator (it would hold port 4566) and orphans;
// `make up-run` asks the stack's gfnctl for a run and its summary line.
func TestMakeUpHygiene(t *testing.T) {
	for profile, env := range map[string][]string{"moto": nil, "localstack": {"LOCALSTACK_AUTH_TOKEN=ls-abc"}} {
		other := map[string]string{"moto": "localstack", "localstack": "moto"}[profile]
		out := upDryRun(t, env, "up", "ENV_FILE=/nonexistent")
		for _, want := range []string{"--profile " + other + " rm --force --stop " + other, "--profile " + profile + " up -d --build --remove-orphans"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: make up lacks %q:\n%s", profile, want, out)
			}
		}
		out = upDryRun(t, env, "up-run", "ENV_FILE=/nonexistent", "RUN_ARGS=--years 2020-2021")
		if want := "--profile " + profile + " run --rm --no-deps bootstrap run --wait --years 2020-2021"; !strings.Contains(out, want) {
			t.Errorf("%s: make up-run lacks %q:\n%s", profile, want, out)
		}
	}
}
