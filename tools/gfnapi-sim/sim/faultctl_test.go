package sim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gfnpipeline/tools/gfnapi-sim/sim"
)

func putFaults(t *testing.T, url, spec string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url+"/_sim/faults", strings.NewReader(spec))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A year-scoped fault set at runtime fails only that year, and clearing it heals it.
func TestRuntimeYearFault(t *testing.T) {
	s, ts := start(t, sim.Config{})
	status := func(year string) int {
		resp, _ := get(t, ts.URL+"/v1/data/all/"+year, "k")
		return resp.StatusCode
	}
	if got := status("2016"); got != 200 {
		t.Fatalf("before faults: %d", got)
	}
	if code, body := putFaults(t, ts.URL, "500:1@2016"); code != 200 || !strings.Contains(body, "500:1@2016") {
		t.Fatalf("PUT faults: %d %s", code, body)
	}
	for range 3 {
		if got := status("2016"); got != 500 {
			t.Fatalf("2016 with its fault: %d", got)
		}
	}
	if got := status("2017"); got != 200 {
		t.Fatalf("2017 must not be faulted: %d", got)
	}
	resp, body := get(t, ts.URL+"/_sim/faults", "")
	var cur struct{ Faults string }
	if resp.StatusCode != 200 || json.Unmarshal(body, &cur) != nil || cur.Faults != "500:1@2016" {
		t.Fatalf("GET faults: %d %s", resp.StatusCode, body)
	}
	if code, body := putFaults(t, ts.URL, "bogus:1"); code != 400 {
		t.Fatalf("bad spec accepted: %d %s", code, body)
	}
	if code, _ := putFaults(t, ts.URL, ""); code != 200 {
		t.Fatalf("clear faults: %d", code)
	}
	if got := status("2016"); got != 200 {
		t.Fatalf("2016 after clearing: %d", got)
	}
	if st := s.Stats(); st.Faults[string(sim.Fault500)] != 3 {
		t.Fatalf("stats %+v", st)
	}
}
