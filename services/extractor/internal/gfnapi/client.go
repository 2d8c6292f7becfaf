// Package gfnapi is the Global Footprint Network API v1 client: basic auth with the API key,
// bounded concurrency, a client-side rate limit, and retries with backoff for the failures
// that pass (429, 5xx, network errors, truncated bodies). A rejected key fails at once.
package gfnapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/gfnpipeline/shared/telemetry"
)

// DefaultBaseURL is the public API.
const DefaultBaseURL = "https://api.footprintnetwork.org/v1"

// The API ignores the basic-auth user name; the key is the password.
const userName = "gfnpipeline"

var (
	// ErrForbidden: the API rejected the key. Permanent: retrying cannot fix it.
	ErrForbidden = errors.New("GFN API rejected the API key (403)")
	// ErrNoData: the API has no data for the request (404), e.g. a year not published yet.
	ErrNoData = errors.New("GFN API has no data (404)")
	// ErrTooLarge: the body exceeded Config.MaxBodyBytes. Permanent.
	ErrTooLarge = errors.New("GFN API response exceeds the size limit")
)

// StatusError is an HTTP status the client does not retry and has no sentinel for (other 4xx),
// or the last retryable status once attempts are exhausted.
type StatusError struct {
	Method, URL string
	StatusCode  int
	// Body is the start of the response body, for the log.
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.URL, e.StatusCode, e.Body)
}

// Config configures a Client. Zero values take the defaults in brackets.
type Config struct {
	BaseURL string // [DefaultBaseURL]
	APIKey  string
	// Timeout bounds one attempt, body included [60 s]. With the other defaults a call's
	// worst case (6 attempts, capped waits) stays under the extractor queue's 900 s visibility.
	Timeout time.Duration
	// MaxInFlight bounds concurrent requests [3].
	MaxInFlight int
	// RatePerSecond and Burst limit request starts [2/s, burst 5].
	RatePerSecond float64
	Burst         int
	// MaxAttempts per call, first included [6].
	MaxAttempts int
	// MaxBodyBytes is the largest body accepted [64 MiB].
	MaxBodyBytes int64
	// BackoffBase doubles per retry up to BackoffMax [500 ms, 30 s]; Retry-After overrides
	// a shorter backoff, capped at MaxRetryAfter [60 s].
	BackoffBase   time.Duration
	BackoffMax    time.Duration
	MaxRetryAfter time.Duration
	HTTPClient    *http.Client // [a client with no overall timeout; Timeout applies per attempt]
}

// Client calls the GFN API. It is safe for concurrent use.
type Client struct {
	cfg     Config
	base    string
	http    *http.Client
	sem     chan struct{}
	limiter *rate.Limiter
}

// New returns a Client with cfg's defaults filled in.
func New(cfg Config) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 3
	}
	if cfg.RatePerSecond <= 0 {
		cfg.RatePerSecond = 2
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 5
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 500 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = time.Minute
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{
		cfg:     cfg,
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		http:    hc,
		sem:     make(chan struct{}, cfg.MaxInFlight),
		limiter: rate.NewLimiter(rate.Limit(cfg.RatePerSecond), cfg.Burst),
	}
}

// Years lists the years the API has data for, ascending as the API sends them.
func (c *Client) Years(ctx context.Context) ([]int, error) {
	body, err := c.get(ctx, "/years")
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Year int `json:"year"`
	}
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("decode /years: %w", err)
	}
	years := make([]int, 0, len(rows))
	for _, r := range rows {
		years = append(years, r.Year)
	}
	return years, nil
}

// DataAllYear returns the body of GET /data/all/{year} exactly as sent: every country and
// aggregate, every record type. A year the API does not have is ErrNoData.
func (c *Client) DataAllYear(ctx context.Context, year int) ([]byte, error) {
	return c.get(ctx, "/data/all/"+strconv.Itoa(year))
}

// attemptError is one failed attempt: retry says whether another attempt may succeed.
type attemptError struct {
	err        error
	retry      bool
	status     int
	retryAfter time.Duration
}

// get fetches path with retries. Only the request itself holds a concurrency slot, so
// backoff sleeps do not block other callers.
func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	url := c.base + path
	log := telemetry.Logger(ctx)
	var last *attemptError
	for attempt := 1; ; attempt++ {
		body, aerr := c.attempt(ctx, url)
		if aerr == nil {
			return body, nil
		}
		last = aerr
		if !aerr.retry || ctx.Err() != nil {
			return nil, aerr.err
		}
		if attempt >= c.cfg.MaxAttempts {
			return nil, fmt.Errorf("GET %s: giving up after %d attempts: %w", url, attempt, last.err)
		}
		delay := c.backoff(attempt, aerr.retryAfter)
		log.Warn("gfn api retry", "url", url, "attempt", attempt, "status", aerr.status,
			"delay_ms", delay.Milliseconds(), "error", aerr.err.Error())
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("GET %s: %w (last error: %w)", url, ctx.Err(), last.err)
		case <-t.C:
		}
	}
}

func (c *Client) attempt(ctx context.Context, url string) ([]byte, *attemptError) {
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, &attemptError{err: fmt.Errorf("GET %s: rate limit wait: %w", url, err)}
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, &attemptError{err: fmt.Errorf("GET %s: %w", url, ctx.Err())}
	}
	defer func() { <-c.sem }()

	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &attemptError{err: fmt.Errorf("GET %s: %w", url, err)}
	}
	req.SetBasicAuth(userName, c.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// Network errors and attempt timeouts pass; the caller's own cancellation does not.
		return nil, &attemptError{err: fmt.Errorf("GET %s: %w", url, err), retry: ctx.Err() == nil}
	}
	defer resp.Body.Close()

	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusForbidden:
		return nil, &attemptError{err: fmt.Errorf("GET %s: %w", url, ErrForbidden), status: resp.StatusCode}
	case http.StatusNotFound:
		return nil, &attemptError{err: fmt.Errorf("GET %s: %w", url, ErrNoData), status: resp.StatusCode}
	default:
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, &attemptError{
			err:        &StatusError{Method: http.MethodGet, URL: url, StatusCode: resp.StatusCode, Body: string(snippet)},
			retry:      resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
			status:     resp.StatusCode,
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		}
	}
	if resp.ContentLength > c.cfg.MaxBodyBytes {
		return nil, &attemptError{err: c.tooLarge(url, resp.ContentLength), status: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBodyBytes+1))
	if err != nil {
		// A body cut short (connection dropped, unexpected EOF) is worth another attempt.
		return nil, &attemptError{err: fmt.Errorf("GET %s: read body: %w", url, err), retry: ctx.Err() == nil, status: resp.StatusCode}
	}
	if int64(len(body)) > c.cfg.MaxBodyBytes {
		return nil, &attemptError{err: c.tooLarge(url, int64(len(body))), status: resp.StatusCode}
	}
	return body, nil
}

func (c *Client) tooLarge(url string, n int64) error {
	return fmt.Errorf("GET %s: %w: more than %d bytes (got at least %d)", url, ErrTooLarge, c.cfg.MaxBodyBytes, n)
}

// backoff is exponential with equal jitter (half fixed, half random) so retries spread out,
// and never shorter than the server's Retry-After.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := c.cfg.BackoffBase << min(attempt-1, 30)
	if d <= 0 || d > c.cfg.BackoffMax {
		d = c.cfg.BackoffMax
	}
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = min(retryAfter, c.cfg.MaxRetryAfter)
	}
	return d
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
