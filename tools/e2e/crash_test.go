package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/tools/e2e/stack"
)

// crashOptions: the real data, the extractor paced as for the real API (about 10 s of
// downloads, so every service can be stopped mid-backfill), and 2005's download stalled 2 s so
// the extractor is stopped in the middle of it. Debug logs record each delivery's receive count.
func crashOptions(root string) stack.Options {
	return stack.Options{
		SimDataDir: stack.Recording(root),
		SimFaults:  "slow:1@2005",
		Env:        []string{"GFN_API_RATE=2", "GFN_API_BURST=5", "LOG_LEVEL=debug"},
	}
}

// startRun requests a backfill and returns a channel with gfnctl's output once it ends.
func startRun(s *stack.Stack) <-chan runOutput {
	out := make(chan runOutput, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		text, err := s.Gfnctl(ctx, "run", "--wait", "--timeout", "4m")
		out <- runOutput{text, err}
	}()
	return out
}

type runOutput struct {
	text string
	err  error
}

// waitStalledDownload returns while the extractor's download of 2005 is stalled (for 2 s):
// the simulator counts the fault as the request arrives.
func waitStalledDownload(t *testing.T, s *stack.Stack) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		stats, err := s.SimStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if faults, _ := stats["faults"].(map[string]any); faults["slow"] != nil {
			return
		}
	}
	t.Fatal("the extractor never requested 2005")
}

// redeliveries reads every service's "received" lines: receive counts above 1, by service.
func redeliveries(t *testing.T, s *stack.Stack) (total int, again map[string]int) {
	t.Helper()
	again = map[string]int{}
	for _, svc := range stack.Services {
		data, err := os.ReadFile(s.LogPath(svc))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg     string `json:"msg"`
				Attempt int    `json:"attempt"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "received" {
				continue
			}
			total++
			if line.Attempt > 1 {
				again[svc]++
			}
		}
	}
	return total, again
}

// finish waits for the run and checks what every crash test asks: completed, all 73,942 rows,
// no duplicate natural key, every DLQ empty. It returns the run's summary.
func finish(t *testing.T, s *stack.Stack, out runOutput, root string) result {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out.text), "\n")
	m := summary.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line is not the summary: %q (err %v)", out.text, out.err)
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	res := result{runID: m[1], status: m[2], batches: n(3), rowsIn: n(4), rowsLoaded: n(5), rejected: n(6)}
	secs, _ := strconv.ParseFloat(m[7], 64)
	want := expectedRows(root, res)
	if out.err != nil || res.status != "completed" || res.rowsLoaded != want || res.rowsIn != want {
		t.Fatalf("run %+v (%v), want completed with %d rows", res, out.err, want)
	}
	if secs > 120 {
		t.Errorf("the run took %.1f s from request to outcome, want <= 120", secs)
	}
	assertDLQsEmpty(t, s)
	s.Stop()
	wh, err := warehouse.OpenDuckDB(s.DuckDBPath())
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	var rows, keys int
	q := fmt.Sprintf("SELECT count(*), count(DISTINCT (country_code, year, record_type)) FROM %s", warehouse.TransformedTable)
	if err := wh.DB().QueryRow(q).Scan(&rows, &keys); err != nil {
		t.Fatal(err)
	}
	if rows != want || keys != rows {
		t.Fatalf("warehouse holds %d rows with %d distinct keys, want %d of each", rows, keys, want)
	}
	t.Logf("figures: run %s completed in %.1f s from request to outcome; rows=%d distinct_keys=%d duplicates=%d", res.runID, secs, rows, keys, rows-keys)
	return res
}

// Each service is killed with SIGKILL once mid-backfill (the extractor in the middle of a
// download) and restarted a second later; the messages they held come back after the queues'
// base visibility (not the old 900 s): 10 s here instead of contracts' 30 s, which the test
// would otherwise spend waiting, with the heartbeat every 3 s keeping live work invisible.
func TestSIGKILLEachServiceMidBackfill(t *testing.T) {
	root, _ := stack.RepoRoot()
	opts := crashOptions(root)
	opts.VisibilitySeconds = 10
	s := start(t, opts)
	run := startRun(s)
	waitStalledDownload(t, s)
	begin := time.Now()
	for _, svc := range stack.Services {
		if err := s.Kill(svc, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := s.Restart(svc); err != nil {
			t.Fatal(err)
		}
	}
	killed := time.Since(begin)
	out := <-run
	t.Logf("figures: %d services killed over %.1f s; outcome %.1f s after the first kill", len(stack.Services), killed.Seconds(), time.Since(begin).Seconds())
	stats, err := s.SimStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res := finish(t, s, out, root)
	// Downloaded again: the year whose download the kill interrupted (and the other year the
	// extractor held, with two messages at a time).
	endpoints, _ := stats["endpoints"].(map[string]any)
	if got, _ := endpoints["data"].(float64); int(got) <= res.batches {
		t.Errorf("%v data downloads for %d batches, want the interrupted one repeated", got, res.batches)
	}
	total, again := redeliveries(t, s)
	t.Logf("figures: %d deliveries; received again after the kills, by service: %v", total, again)
	if again["extractor"] == 0 {
		t.Error("no extractor message was received again: the kill did not interrupt its work")
	}
}

// A rolling restart with SIGTERM, one service after another mid-backfill: each drains what it
// holds and stops receiving, so no message is received a second time because of it.
func TestRollingSIGTERMRestartMidBackfill(t *testing.T) {
	root, _ := stack.RepoRoot()
	s := start(t, crashOptions(root))
	run := startRun(s)
	waitStalledDownload(t, s)
	begin := time.Now()
	for _, svc := range stack.Services {
		stopAt := time.Now()
		if err := s.Kill(svc, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		t.Logf("figures: %s stopped %.1f s after SIGTERM", svc, time.Since(stopAt).Seconds())
		if err := s.Restart(svc); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("figures: rolling restart took %.1f s", time.Since(begin).Seconds())
	finish(t, s, <-run, root)
	total, again := redeliveries(t, s)
	t.Logf("figures: %d deliveries, %d received more than once", total, len(again))
	if len(again) != 0 {
		t.Fatalf("messages received more than once after SIGTERM restarts: %v", again)
	}
	if total == 0 {
		t.Fatal("no delivery was logged: the receive counts were not measured")
	}
}
