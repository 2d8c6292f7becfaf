package e2e_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gfnpipeline/tools/e2e/stack"
)

// Every service of a deployed stack emits CloudWatch EMF metrics on stdout and serves
// watermill's Prometheus metrics.
func TestEveryServiceEmitsMetrics(t *testing.T) {
	root, _ := stack.RepoRoot()
	s := start(t, stack.Options{SimDataDir: stack.Recording(root)})
	res, err := runPipeline(t, s, "--years", "2019-2020")
	if err != nil || res.status != "completed" {
		t.Fatalf("run: %+v %v", res, err)
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
		lines, err := s.EMF(svc)
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
		if svc == "loader" && int(seen["rows_loaded"]) != res.rowsLoaded {
			t.Errorf("loader: rows_loaded %v, summary says %d", seen["rows_loaded"], res.rowsLoaded)
		}
		body := get(t, s.MetricsURLs[svc])
		if !strings.Contains(body, "gfn_"+svc+"_handler_execution_time_seconds_count") || !strings.Contains(body, "gfn_"+svc+"_subscriber_messages_received_total") {
			t.Errorf("%s /metrics lacks watermill's handler metrics:\n%.2000s", svc, body)
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
