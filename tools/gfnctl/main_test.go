package main

import (
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

func TestHelpExitsZero(t *testing.T) {
	for _, args := range []string{"run --help", "status --help", "run -h", "report --help", "replay --help"} {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "GFNCTL_AS_MAIN=1", "GFNCTL_ARGS="+args)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("gfnctl %s: %v\n%s", args, err, out)
		}
		if !strings.Contains(string(out), "Usage of") || strings.Contains(string(out), "help requested") {
			t.Errorf("gfnctl %s printed:\n%s", args, out)
		}
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "GFNCTL_AS_MAIN=1", "GFNCTL_ARGS=run --no-such-flag")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("a bad flag exited 0:\n%s", out)
	}
}
