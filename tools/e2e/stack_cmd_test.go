package e2e_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/telemetry/telemetrytest"
	"github.com/gfnpipeline/tools/e2e/stack"
)

// `make stack` as a user meets it: the command stays up, prints the environment to export,
// gfnctl run --wait and status work with it, every service emits CloudWatch EMF metrics and
// serves watermill's Prometheus metrics, and Ctrl-C stops everything.
func TestStackCommand(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end stack skipped in -short mode")
	}
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	buildOnce.Do(func() {
		binDir = stack.SharedDir(root)
		buildErr = stack.Build(context.Background(), root, binDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	dir := t.TempDir()
	if err := os.Symlink(binDir+"/bin", dir+"/bin"); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "stack"), "./tools/e2e/cmd/stack")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	cmd := exec.Command(filepath.Join(dir, "stack"), "-dir", dir, "-build=false")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+awstest.Endpoint(t), "GFN_NAME_PREFIX="+awstest.Prefix())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stack.err"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()

	// The exports come last, once the stack is up; a stack that never prints them fails here
	// rather than at the package's timeout.
	hung := time.AfterFunc(5*time.Minute, func() { cmd.Process.Kill() })
	var env []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "export AWS_REGION=") {
		if kv, ok := strings.CutPrefix(sc.Text(), "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			env = append(env, k+"="+strings.Trim(v, `"`))
		}
	}
	hung.Stop()
	if len(env) < 2 || !strings.HasPrefix(env[0], "AWS_ENDPOINT_URL=http") {
		errOut, _ := os.ReadFile(filepath.Join(dir, "stack.err"))
		t.Fatalf("exports %v\n%s", env, errOut)
	}
	go io.Copy(io.Discard, stdout)
	gfnctl := func(args ...string) (string, error) {
		c := exec.Command(filepath.Join(dir, "bin", "gfnctl"), args...)
		// Only what the stack printed: the test's own AWS settings must not help.
		c.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
		out, err := c.Output()
		return string(out), err
	}
	out, err := gfnctl("run", "--wait", "--years", "2019-2020", "--timeout", "5m")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	m := summary.FindStringSubmatch(lines[len(lines)-1])
	if err != nil || m == nil || m[2] != "completed" {
		t.Fatalf("run --wait: %v\n%s", err, out)
	}
	runID, rowsLoaded := m[1], m[5]
	if out, err := gfnctl("status"); err != nil || !strings.Contains(out, "run "+runID+": completed") || !strings.Contains(out, "loader       2        0") {
		t.Fatalf("status: %v\n%s", err, out)
	}

	errOut, _ := os.ReadFile(filepath.Join(dir, "stack.err"))
	metricsURLs := map[string]string{}
	for _, l := range strings.Split(string(errOut), "\n") {
		if f := strings.Fields(l); len(f) == 2 && strings.HasSuffix(f[1], "/metrics") {
			metricsURLs[f[0]] = f[1]
		}
	}
	// What each service must have emitted for this run, beyond handled and latency_ms.
	want := map[string][]string{
		"extractor":   {"bytes"},
		"validator":   {"rows_in", "rows_valid", "rows_rejected"},
		"transformer": {"bytes"},
		"loader":      {"rows_loaded"},
		"notifier":    {"run_duration_s", "run_completed"},
	}
	for _, svc := range stack.Services {
		f, err := os.Open(filepath.Join(dir, "logs", svc+".log"))
		if err != nil {
			t.Fatal(err)
		}
		lines, err := telemetrytest.ScanEMF(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", svc, err)
		}
		seen := map[string]float64{}
		for _, e := range lines {
			if e.Namespace != "GFN/Pipeline" || e.Fields["service"] != svc || e.Fields["event_type"] == "" {
				t.Errorf("%s: line %+v", svc, e)
			}
			for k, v := range e.Values {
				seen[k] += v
			}
		}
		for _, name := range append([]string{"handled", "latency_ms"}, want[svc]...) {
			if _, ok := seen[name]; !ok {
				t.Errorf("%s emitted no %s (%d EMF lines)", svc, name, len(lines))
			}
		}
		if seen["failed"] != 0 || seen["dead_lettered"] != 0 {
			t.Errorf("%s: failed %v dead_lettered %v in a clean run", svc, seen["failed"], seen["dead_lettered"])
		}
		if svc == "notifier" && seen["run_completed"] != 1 {
			t.Errorf("notifier: run_completed %v, want 1", seen["run_completed"])
		}
		if svc == "loader" && rowsLoaded != "" && seen["rows_loaded"] == 0 {
			t.Errorf("loader: rows_loaded %v", seen["rows_loaded"])
		}
		body := get(t, metricsURLs[svc])
		if !strings.Contains(body, "gfn_"+svc+"_handler_execution_time_seconds_count") {
			t.Errorf("%s /metrics lacks watermill's handler metrics:\n%.2000s", svc, body)
		}
	}

	// Ctrl-C stops the stack and every process it started.
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("stack exited with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("stack did not stop on interrupt")
	}
	for svc, url := range metricsURLs {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			t.Errorf("%s still serves %s after the stack stopped", svc, url)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, res.Status, err)
	}
	return string(b)
}
