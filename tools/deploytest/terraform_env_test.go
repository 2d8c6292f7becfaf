package deploytest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gfnpipeline/shared/platform"
)

func TestTerraformEnvMatchesConfig(t *testing.T) {
	probs, err := CheckTerraformEnv(filepath.Join(repoRoot, "terraform"), settingNames(platform.Settings[platform.Config]()), pipelineServices(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Error(p)
	}
}

// TestTerraformEnvCheckerCatchesDrift renames a variable the loader module sets.
func TestTerraformEnvCheckerCatchesDrift(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(repoRoot, "terraform")
	copyTF := func(rel string) {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(src, rel, "*.tf"))
		if err := os.MkdirAll(filepath.Join(dir, rel), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b = []byte(strings.ReplaceAll(string(b), "GFN_LOAD_CONFIRM_DEADLINE", "GFN_LOAD_DEADLINE"))
			b = []byte(strings.ReplaceAll(string(b), "GFN_NAME_PREFIX ", "GFN_PREFIX      "))
			if err := os.WriteFile(filepath.Join(dir, rel, filepath.Base(f)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	copyTF(".")
	for _, s := range pipelineServices(t) {
		copyTF(filepath.Join("modules", s.Name))
	}
	probs, err := CheckTerraformEnv(dir, settingNames(platform.Settings[platform.Config]()), pipelineServices(t))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(probs, "\n")
	for _, want := range []string{"module loader: sets GFN_LOAD_DEADLINE", "common_env sets GFN_PREFIX"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q, want one with %q", probs, want)
		}
	}
}

func TestSodaJobEnvMatchesHandler(t *testing.T) {
	probs, err := CheckSodaEnv(filepath.Join(repoRoot, "terraform"), filepath.Join(repoRoot, "soda", "lambda", "handler.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Error(p)
	}
}

// TestSodaEnvCheckerCatchesDrift: the alert topic's variable under another name than the
// handler reads (as terraform once had it) is reported.
func TestSodaEnvCheckerCatchesDrift(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(repoRoot, "terraform", "soda.tf"))
	if err != nil {
		t.Fatal(err)
	}
	drifted := strings.Replace(string(b), "GFN_ALERT_TOPIC_ARN ", "GFN_ALERTS_TOPIC_ARN", 1)
	if drifted == string(b) {
		t.Fatal("soda.tf no longer sets GFN_ALERT_TOPIC_ARN: update this test")
	}
	if err := os.WriteFile(filepath.Join(dir, "soda.tf"), []byte(drifted), 0o644); err != nil {
		t.Fatal(err)
	}
	probs, err := CheckSodaEnv(dir, filepath.Join(repoRoot, "soda", "lambda", "handler.py"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(probs, "\n"); !strings.Contains(got, "sets GFN_ALERTS_TOPIC_ARN") {
		t.Errorf("problems %q, want one naming GFN_ALERTS_TOPIC_ARN", probs)
	}
}
