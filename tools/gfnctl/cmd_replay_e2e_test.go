package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	loader "github.com/gfnpipeline/services/loader/service"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/tools/e2e/stack"
	"github.com/gfnpipeline/tools/gfnctl/dlq"
	"github.com/gfnpipeline/tools/gfnctl/status"
)

// The acceptance, on the deployed shape (every service its own process, moto, the
// simulator serving the recording): a batch the API keeps failing is dead-lettered and the
// run fails; once the API heals, `dlq redrive` brings it back and the same run completes
// with every row; `replay` of the extraction day then reloads from raw/ with no API call and
// no file loaded twice.
func TestRedriveAndReplayEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end stack skipped in -short mode")
	}
	t.Parallel()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	// The binaries the e2e tests use too: one build between the two packages.
	if err := stack.Build(ctx, root, stack.SharedDir(root)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(stack.SharedDir(root), "bin"), filepath.Join(dir, "bin")); err != nil {
		t.Fatal(err)
	}
	awstest.Config(t) // the stack finds the emulator in AWS_ENDPOINT_URL
	const faultYear = 2005
	s, err := stack.Start(ctx, stack.Options{
		Root: root, Dir: dir, SimDataDir: stack.Recording(root), Prefix: awstest.Prefix(),
		SimFaults: fmt.Sprintf("500:1@%d", faultYear),
		// Fewer API attempts per delivery make the dead-lettering quicker.
		Env: []string{"GFN_API_MAX_ATTEMPTS=2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(s.Logs(3000))
		}
		s.Stop()
	})
	gfnctl := func(args ...string) string {
		t.Helper()
		out, err := s.Gfnctl(ctx, args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}
	// statusOf is the run's report; until the notifier records the plan there is none.
	statusOf := func(runID string) (status.Report, error) {
		var rep status.Report
		out, err := s.Gfnctl(ctx, "status", runID, "--json")
		if err == nil {
			err = json.Unmarshal([]byte(out), &rep)
		}
		return rep, err
	}
	began := time.Now()
	extractionDay := time.Now().UTC().Format(time.DateOnly)

	// The run waits past its RunFailed for the RunCompleted the redrive brings.
	run := exec.Command(filepath.Join(dir, "bin", "gfnctl"), "run", "--wait", "--until-completed", "--timeout", "12m")
	run.Env = s.Env()
	var runOut, runErr bytes.Buffer
	run.Stdout = &runOut
	stderr, err := run.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	// The first stderr line names the run; the rest is kept for a failure report.
	sc := bufio.NewScanner(stderr)
	var runID string
	if sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), "requested run "); ok {
			runID, _, _ = strings.Cut(after, " ")
		}
	}
	if runID == "" {
		t.Fatalf("gfnctl run did not name its run: %q", sc.Text())
	}
	runDone := make(chan error, 1)
	go func() {
		for sc.Scan() {
			runErr.WriteString(sc.Text() + "\n")
		}
		runDone <- run.Wait()
	}()

	extractorDLQ := contracts.QueueExtractor + contracts.DLQSuffix
	var rep status.Report
	waitFor(t, 8*time.Minute, func() bool {
		rep, err = statusOf(runID)
		return err == nil && rep.Status == status.StatusFailed
	})
	t.Logf("run %s failed at %v", runID, time.Since(began))
	if rep.FailedBatch != fmt.Sprintf("ef-%d", faultYear) || rep.LastError == nil || !strings.Contains(rep.LastError.Error, "500") {
		t.Fatalf("failed run report: %+v (last error %+v)", rep, rep.LastError)
	}
	var peeked dlq.Message
	if err := json.Unmarshal([]byte(gfnctl("dlq", "peek", extractorDLQ, "-n", "1")), &peeked); err != nil || !strings.Contains(peeked.Error, "500") {
		t.Fatalf("peek of %s: %+v %v", extractorDLQ, peeked, err)
	}

	// Heal the API, then redrive only that year's request (the filter is what an operator
	// would type) and watch the same run complete.
	req, _ := http.NewRequest(http.MethodPut, s.SimURL+"/_sim/faults", strings.NewReader(""))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("heal the simulator: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("heal the simulator: %s", res.Status)
	}
	out := gfnctl("dlq", "redrive", extractorDLQ, "--filter", fmt.Sprintf("body~ef-%d", faultYear))
	var sum struct {
		Event string `json:"event"`
		dlq.Result
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || sum.Moved != 1 || sum.Failed != 0 {
		t.Fatalf("redrive summary: %s (%v)", out, err)
	}
	select {
	case err := <-runDone:
		if err != nil {
			t.Fatalf("gfnctl run --until-completed: %v\n%s\n%s", err, runOut.String(), runErr.String())
		}
	case <-time.After(8 * time.Minute):
		t.Fatal("the run did not complete after the redrive")
	}
	const wantRows = 73942
	if want := fmt.Sprintf("run=%s status=completed batches=23 rows_in=%d rows_loaded=%d rejected=0", runID, wantRows, wantRows); !strings.HasPrefix(lastLine(runOut.String()), want) {
		t.Fatalf("summary %q, want %q...", lastLine(runOut.String()), want)
	}
	t.Logf("run completed after the redrive at %v", time.Since(began))
	for q, n := range mustDepths(t, s) {
		if n != 0 {
			t.Errorf("%s holds %d messages after the redrive", q, n)
		}
	}

	// Replay the extraction day: same rows, no API request, no file loaded twice.
	apiBefore := simRequests(t, s)
	loaderBefore := loaderStatus(t, s)
	replayOut := gfnctl("replay", "--from", extractionDay, "--to", extractionDay, "--wait", "--timeout", "8m")
	if !strings.Contains(lastLine(replayOut), fmt.Sprintf("status=completed batches=23 rows_in=%d rows_loaded=%d", wantRows, wantRows)) {
		t.Fatalf("replay: %s", replayOut)
	}
	if after := simRequests(t, s); after != apiBefore {
		t.Fatalf("replay made %v API requests", after-apiBefore)
	}
	// Transformed files land under the original extraction's keys; the loader waits for
	// their notifications, which it must find already loaded.
	waitFor(t, 2*time.Minute, func() bool {
		return loaderStatus(t, s).FilesAlreadyLoaded-loaderBefore.FilesAlreadyLoaded >= 23
	})
	if after := loaderStatus(t, s); after.FilesLoaded != loaderBefore.FilesLoaded || after.TableRows != wantRows {
		t.Fatalf("after replay the loader loaded %d new files, table has %d rows (want 0 and %d)", after.FilesLoaded-loaderBefore.FilesLoaded, after.TableRows, wantRows)
	}
	t.Logf("replay done at %v", time.Since(began))
}

func lastLine(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	last := ""
	for sc.Scan() {
		last = sc.Text()
	}
	return last
}

func mustDepths(t *testing.T, s *stack.Stack) map[string]int {
	t.Helper()
	d, err := s.DLQDepths(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func simRequests(t *testing.T, s *stack.Stack) float64 {
	t.Helper()
	st, err := s.SimStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := st["requests"].(float64)
	return n
}

func loaderStatus(t *testing.T, s *stack.Stack) loader.Status {
	t.Helper()
	var st loader.Status
	if err := s.LoaderStatus(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}
