package gfnapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gfnpipeline/services/extractor/internal/gfnapi"
	"github.com/gfnpipeline/shared/telemetry"
	"github.com/gfnpipeline/tools/gfnapi-sim/sim"
)

const testKey = "client-test-key"

func startSim(t *testing.T, cfg sim.Config) (*sim.Server, *httptest.Server) {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// fastClient keeps production semantics but with millisecond backoff and no rate limit.
func fastClient(url string, mod func(*gfnapi.Config)) *gfnapi.Client {
	cfg := gfnapi.Config{
		BaseURL: url + "/v1", APIKey: testKey, RatePerSecond: 1000, Burst: 1000,
		BackoffBase: time.Millisecond, BackoffMax: 10 * time.Millisecond, Timeout: 10 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	return gfnapi.New(cfg)
}

func logCtx(buf *bytes.Buffer) context.Context {
	return telemetry.WithLogger(context.Background(), telemetry.NewLogger(buf, "test", "debug"))
}

func TestYears(t *testing.T) {
	_, ts := startSim(t, sim.Config{})
	years, err := fastClient(ts.URL, nil).Years(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(years) != len(sim.GeneratedYears) || years[0] != sim.GeneratedYears[0] {
		t.Fatalf("years %v", years)
	}
}

// Every transient fault kind is retried until the exact body comes through, and each retry
// is logged with its attempt, status and delay (never the key).
func TestRetriesTransientFaults(t *testing.T) {
	_, clean := startSim(t, sim.Config{})
	want, err := fastClient(clean.URL, nil).DataAllYear(context.Background(), 2020)
	if err != nil {
		t.Fatal(err)
	}
	for _, fault := range []string{"500:0.5", "reset:0.5", "truncate:0.5", "500:0.2,reset:0.2,truncate:0.2"} {
		t.Run(fault, func(t *testing.T) {
			s, ts := startSim(t, sim.Config{Faults: fault, Seed: 7})
			var logs bytes.Buffer
			c := fastClient(ts.URL, func(c *gfnapi.Config) { c.MaxAttempts = 20 })
			const calls = 8
			for range calls {
				got, err := c.DataAllYear(logCtx(&logs), 2020)
				if err != nil {
					t.Fatalf("DataAllYear: %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("body differs after retries (%d vs %d bytes)", len(got), len(want))
				}
			}
			st := s.Stats()
			if st.FaultsInjected == 0 {
				t.Fatalf("seed injected no faults: %+v", st)
			}
			// reset on a reused connection may be retried by net/http itself, so >=.
			if st.Endpoints[sim.EndpointData] < calls+st.FaultsInjected {
				t.Fatalf("data requests %d < calls %d + faults %d", st.Endpoints[sim.EndpointData], calls, st.FaultsInjected)
			}
			retries := strings.Count(logs.String(), `"msg":"gfn api retry"`)
			if retries == 0 || !strings.Contains(logs.String(), `"attempt":1`) || !strings.Contains(logs.String(), `"delay_ms"`) {
				t.Fatalf("retries not logged: %s", logs.String())
			}
			if strings.Contains(logs.String(), testKey) {
				t.Fatal("the API key appears in the logs")
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	s, ts := startSim(t, sim.Config{Faults: "429:0.5", Seed: 3})
	var logs bytes.Buffer
	c := fastClient(ts.URL, func(c *gfnapi.Config) { c.MaxAttempts = 10 })
	start := time.Now()
	for range 3 {
		if _, err := c.DataAllYear(logCtx(&logs), 2021); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	n := s.Stats().Faults["429"]
	if n == 0 {
		t.Fatal("seed injected no 429")
	}
	// Backoff alone is milliseconds here; only Retry-After: 1 explains whole seconds.
	if elapsed < time.Duration(n)*time.Second {
		t.Fatalf("%d 429s answered in %v: Retry-After ignored", n, elapsed)
	}
	if !strings.Contains(logs.String(), `"status":429`) {
		t.Fatalf("429 retry not logged: %s", logs.String())
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	s, ts := startSim(t, sim.Config{Faults: "500:1"})
	_, err := fastClient(ts.URL, func(c *gfnapi.Config) { c.MaxAttempts = 3 }).DataAllYear(context.Background(), 2020)
	var se *gfnapi.StatusError
	if !errors.As(err, &se) || se.StatusCode != 500 {
		t.Fatalf("err = %v, want a StatusError 500", err)
	}
	if n := s.Stats().Endpoints[sim.EndpointData]; n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

func TestPermanentAnswersAreNotRetried(t *testing.T) {
	tests := []struct {
		name    string
		cfg     sim.Config
		client  func(*gfnapi.Config)
		wantErr error
		wantMsg string
	}{
		{"rejected key", sim.Config{RejectAllKeys: true}, nil, gfnapi.ErrForbidden, "GFN API rejected the API key (403)"},
		{"wrong key", sim.Config{APIKey: "other"}, nil, gfnapi.ErrForbidden, "GFN API rejected the API key (403)"},
		{"missing year", sim.Config{MissingYears: []int{2020}}, nil, gfnapi.ErrNoData, "404"},
		{"too large", sim.Config{}, func(c *gfnapi.Config) { c.MaxBodyBytes = 1000 }, gfnapi.ErrTooLarge, "size limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ts := startSim(t, tc.cfg)
			_, err := fastClient(ts.URL, tc.client).DataAllYear(context.Background(), 2020)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if n := s.Stats().Requests; n != 1 {
				t.Fatalf("%d requests, want exactly 1", n)
			}
		})
	}
}

// A body without Content-Length is still cut off at the limit.
func TestSizeLimitWhenStreamed(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 10 {
			_, _ = w.Write(bytes.Repeat([]byte(" "), 500))
			w.(http.Flusher).Flush()
		}
	}))
	defer ts.Close()
	_, err := fastClient(ts.URL, func(c *gfnapi.Config) { c.MaxBodyBytes = 2000 }).DataAllYear(context.Background(), 2020)
	if !errors.Is(err, gfnapi.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	s, err := sim.New(sim.Config{APIKey: testKey, Faults: "slow:1", SlowDelay: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var inFlight, peak atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		s.ServeHTTP(w, r)
	}))
	defer ts.Close()
	c := fastClient(ts.URL, func(c *gfnapi.Config) { c.MaxInFlight = 2 })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.DataAllYear(context.Background(), 2020); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d, want 2", p)
	}
}

func TestRateLimit(t *testing.T) {
	_, ts := startSim(t, sim.Config{})
	c := fastClient(ts.URL, func(c *gfnapi.Config) { c.RatePerSecond = 20; c.Burst = 1 })
	start := time.Now()
	for range 5 {
		if _, err := c.Years(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Burst 1 at 20/s: four waits of 50 ms at least.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("5 requests in %v: rate limit not applied", d)
	}
}

func TestRequestHeaders(t *testing.T) {
	var got http.Header
	var pass string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		_, pass, _ = r.BasicAuth()
		_ = json.NewEncoder(w).Encode([]map[string]int{{"year": 1961}})
	}))
	defer ts.Close()
	if _, err := fastClient(ts.URL, nil).Years(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.Get("Accept") != "application/json" || pass != testKey {
		t.Fatalf("headers %v, password %q", got, pass)
	}
}
