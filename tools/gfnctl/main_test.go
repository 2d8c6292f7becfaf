package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets a test run this binary as gfnctl itself (GFNCTL_AS_MAIN=1): exit codes and
// output as a user sees them.
func TestMain(m *testing.M) {
	if os.Getenv("GFNCTL_AS_MAIN") == "1" {
		os.Args = append([]string{"gfnctl"}, strings.Fields(os.Getenv("GFNCTL_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// gfnctlMain runs gfnctl with args as a process and returns its output and exit code.
func gfnctlMain(t *testing.T, args string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	// No AWS at all: a command that got past its flags fails fast on the missing endpoint.
	cmd.Env = append(os.Environ(), "GFNCTL_AS_MAIN=1", "GFNCTL_ARGS="+args, "AWS_ENDPOINT_URL=http://127.0.0.1:1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "AWS_MAX_ATTEMPTS=1")
	out, err := cmd.CombinedOutput()
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		return string(out), exit.ExitCode()
	} else if err != nil {
		t.Fatalf("gfnctl %s: %v", args, err)
	}
	return string(out), 0
}

// Every command's help exits 0, unknown commands are named with the usage exit codes of
// before, and flags parse before or after positional arguments.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args string
		code int
		want string
	}{
		// help on every command
		{"--help", 0, "Available Commands:"},
		{"help dlq", 0, "gfnctl dlq [command]"},
		{"run --help", 0, "--until-completed"},
		{"run -h", 0, "--pickup-timeout"},
		{"status --help", 0, "--lake-dir"},
		{"report --help", 0, "--top"},
		{"load --help", 0, "--force"},
		{"replay --help", 0, "--run-id"},
		{"infra --help", 0, "apply"},
		{"infra apply --help", 0, "idempotently"},
		{"dlq --help", 0, "redrive"},
		{"dlq list --help", 0, "--sample"},
		{"dlq peek --help", 0, "-n, --n"},
		{"dlq export --help", 0, "--filter"},
		{"dlq redrive --help", 0, "--dry-run"},
		{"dlq purge --help", 0, "--yes"},
		// unknown or missing commands: 2 at the top, 1 below it (as before)
		{"", 2, "gfnctl needs a command"},
		{"bogus", 2, `unknown command "bogus" for "gfnctl"`},
		{"dlq", 1, "gfnctl dlq needs a command"},
		{"dlq bogus", 1, `unknown command "bogus" for "gfnctl dlq"`},
		{"infra bogus", 1, `unknown command "bogus" for "gfnctl infra"`},
		// bad flags and arguments: 1
		{"run --no-such-flag", 1, "unknown flag: --no-such-flag"},
		{"dlq peek --no-such-flag q", 1, "unknown flag: --no-such-flag"},
		{"status a b", 1, "usage: gfnctl status"},
		{"replay", 1, "usage: gfnctl replay --from"},
		{"load", 1, "usage: gfnctl load"},
		{"dlq peek", 1, "usage: gfnctl dlq peek"},
		{"dlq purge gfn-loader-dlq extra --yes", 1, "usage: gfnctl dlq purge"},
		// flags after and before arguments reach the command (the filter is parsed before
		// AWS is touched, so a bad one proves the flag was read)
		{"dlq peek gfn-loader-dlq --filter nonsense", 1, "filter"},
		{"dlq peek --filter nonsense gfn-loader-dlq -n 2", 1, "filter"},
		{"dlq export gfn-loader-dlq - --filter nonsense", 1, "filter"},
		{"dlq redrive gfn-loader-dlq --dry-run --filter nonsense", 1, "filter"},
		{"replay --from 2024-13-01", 1, "--from"},
		{"run --years 2020-2019", 1, `--years "2020-2019"`},
	} {
		t.Run(tc.args, func(t *testing.T) {
			t.Parallel() // each runs its own gfnctl process
			out, code := gfnctlMain(t, tc.args)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("gfnctl %s: exit %d, want %d with %q:\n%s", tc.args, code, tc.code, tc.want, out)
			}
		})
	}
}
