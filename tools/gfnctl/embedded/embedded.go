// Package embedded runs the whole pipeline in one process: every service's handlers on
// watermill's in-memory bus, the lake in a directory, DuckDB in a file, and the GFN API
// simulator in-process unless a real API key is given. Same handlers, same delivery policy as
// the deployed services.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gfnpipeline/contracts"
	extractor "github.com/gfnpipeline/services/extractor/service"
	loader "github.com/gfnpipeline/services/loader/service"
	"github.com/gfnpipeline/services/notifier/notify"
	notifier "github.com/gfnpipeline/services/notifier/service"
	transformer "github.com/gfnpipeline/services/transformer/service"
	validator "github.com/gfnpipeline/services/validator/service"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/tools/gfnapi-sim/sim"
	"github.com/gfnpipeline/tools/gfnctl/runs"
)

// Options of an embedded run.
type Options struct {
	// DataDir holds the lake (DataDir/lake) and the warehouse (DataDir/gfn.duckdb).
	DataDir string
	// SimDataDir is the recording the simulator serves (GFN_DATA_DIR); empty: generated data.
	SimDataDir string
	// Getenv reads settings such as GFN_API_KEY; a key means the real API is used.
	Getenv  func(string) string
	Request contracts.ExtractionRequested
	Timeout time.Duration
	Logger  *slog.Logger
	// Progress, when set, sees the run's ledger as the run goes (gfnctl's progress line).
	Progress func(notify.Run)
}

// Result of an embedded run.
type Result struct {
	Outcome     contracts.Message
	DeadLetters []messaging.DeadLetter
	// APIURL is where the extractor fetched from (the simulator's address when it ran).
	APIURL string
}

type service struct {
	name   string
	newApp platform.NewApplication
}

var services = []service{
	{"extractor", extractor.NewApplication},
	{"validator", validator.NewApplication},
	{"transformer", transformer.NewApplication},
	{"loader", loader.NewApplication},
	{"notifier", notifier.NewApplication},
}

// Run runs one pipeline run to its outcome.
func Run(ctx context.Context, opts Options) (Result, error) {
	var res Result
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Minute
	}
	log := opts.Logger
	if err := claimSource(opts.DataDir, source(opts)); err != nil {
		return res, err
	}
	store, err := lake.NewDir(filepath.Join(opts.DataDir, "lake"))
	if err != nil {
		return res, err
	}
	top := platform.Topology(opts.Getenv)
	bus := messaging.NewMemory(top, log)
	defer bus.Close() //nolint:errcheck // in-memory: the run has settled, nothing is in flight
	// The directory lake stands in for S3's bucket notifications.
	store.OnCreate(func(ctx context.Context, o lake.ObjectCreated) {
		if err := bus.NotifyObjectCreated(ctx, o); err != nil {
			log.Error("bucket notification", "key", o.Key, "error", err.Error())
		}
	})

	// The embedded run has no Snowpipe to confirm: it always loads DuckDB itself.
	env := map[string]string{loader.EnvDuckDBPath: filepath.Join(opts.DataDir, "gfn.duckdb"), loader.EnvWarehouse: loader.WarehouseDuckDB}
	if opts.Getenv(extractor.EnvAPIKey) == "" && opts.Getenv("GFN_API_KEY_SECRET_ARN") == "" {
		url, stop, err := startSimulator(sim.Config{DataDir: opts.SimDataDir, ServeYears: opts.Getenv(sim.EnvServeYears)}, log)
		if err != nil {
			return res, err
		}
		defer stop()
		env[extractor.EnvAPIURL] = url
		env[extractor.EnvAPIKey] = "embedded-simulator"
		// The simulator is in-process: no need to pace requests as the real API wants.
		env[extractor.EnvRate] = "1000"
		env[extractor.EnvBurst] = "1000"
	}
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return opts.Getenv(k)
	}
	res.APIURL = getenv(extractor.EnvAPIURL)

	var consumers []messaging.Consumer
	for _, s := range services {
		deps := platform.Deps{Topology: top, Store: store, Publisher: bus.Publisher("gfn/" + s.name), Logger: log.With("service", s.name), Getenv: getenv}
		app, cleanup, err := s.newApp(ctx, deps)
		if err != nil {
			return res, fmt.Errorf("start %s: %w", s.name, err)
		}
		defer cleanup()
		consumers = append(consumers, app.Consumers...)
	}
	// The in-memory bus hands a queue's messages over all at once; a poller takes
	// GFN_CONCURRENCY at a time. Bounding the bus the same way keeps a backfill's years from
	// all being in memory, in every form, at the same moment.
	concurrency, err := platform.IntEnv(getenv, platform.EnvConcurrency, 1)
	if err != nil {
		return res, err
	}
	loaderQueue := top.Name(contracts.QueueLoader)
	for i, c := range consumers {
		n := concurrency
		if c.Queue == loaderQueue {
			// The loader's handlers hold a small Parquet file each and wait for DuckDB, which
			// commits the files waiting together in one transaction: let it take a receive
			// batch's worth, as a poller with GFN_CONCURRENCY=10 would.
			n = max(n, loaderConcurrency)
		}
		consumers[i] = limited(c, n)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	running := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- bus.Run(runCtx, messaging.Policy{Publisher: bus.Publisher("gfn/platform")}, running, consumers...)
	}()
	select {
	case <-running:
	case err := <-done:
		return res, fmt.Errorf("message bus: %w", err)
	}

	req, err := runs.Request(ctx, bus.Publisher("gfnctl"), opts.Request)
	if err != nil {
		return res, err
	}
	log.Info("run requested", "run_id", req.RunID, "mode", req.Mode)
	waitCtx, cancelWait := context.WithTimeout(ctx, opts.Timeout)
	defer cancelWait()
	res.Outcome, err = runs.Wait(waitCtx, store, req.RunID, 100*time.Millisecond, runs.OnProgress(opts.Progress))
	res.DeadLetters = bus.DeadLetters()
	if err != nil {
		return res, err
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return res, fmt.Errorf("message bus: %w", err)
	}
	return res, nil
}

// ErrOtherSource: the data directory holds a lake and warehouse loaded from another source.
var ErrOtherSource = errors.New("data directory holds another source's data")

// sourceFile names the source a data directory's lake and warehouse were loaded from.
const sourceFile = "source"

// source names where a run's data comes from: generated or recorded simulator data, or the API.
func source(opts Options) string {
	if opts.Getenv(extractor.EnvAPIKey) != "" || opts.Getenv("GFN_API_KEY_SECRET_ARN") != "" {
		if url := opts.Getenv(extractor.EnvAPIURL); url != "" {
			return "GFN API at " + url
		}
		return "the GFN API"
	}
	if opts.SimDataDir == "" {
		return "simulator, generated data"
	}
	if abs, err := filepath.Abs(opts.SimDataDir); err == nil {
		return "simulator, recording " + abs
	}
	return "simulator, recording " + opts.SimDataDir
}

// claimSource keeps sources apart: a data directory is loaded from one source only, since
// rows from generated and recorded data would mix in one warehouse.
func claimSource(dataDir, src string) error {
	path := filepath.Join(dataDir, sourceFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if have := strings.TrimSpace(string(b)); have != src {
			return fmt.Errorf("%w: %s holds data from %q, this run reads %q; start clean with `make clean` (deletes %s), or keep both with another directory (GFN_RUN_DIR=data-other make run)",
				ErrOtherSource, dataDir, have, src, dataDir)
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if _, err := os.Stat(filepath.Join(dataDir, "gfn.duckdb")); err == nil {
		return fmt.Errorf("%w: %s holds a warehouse of unknown source; start clean with `make clean` (deletes %s)", ErrOtherSource, dataDir, dataDir)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(src+"\n"), 0o644)
}

// loaderConcurrency is SQS's largest receive batch.
const loaderConcurrency = 10

// limited lets at most n of c's messages be handled at once.
func limited(c messaging.Consumer, n int) messaging.Consumer {
	sem := make(chan struct{}, max(n, 1))
	handle := c.Handle
	c.Handle = func(ctx context.Context, d messaging.Delivery) error {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-sem }()
		return handle(ctx, d)
	}
	return c
}

// startSimulator serves the GFN API simulator on a loopback port.
func startSimulator(cfg sim.Config, log *slog.Logger) (url string, stop func(), err error) {
	cfg.Logger = log.With("service", "gfnapi-sim")
	srv, err := sim.New(cfg)
	if err != nil {
		return "", nil, fmt.Errorf("simulator: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("simulator: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln) //nolint:errcheck // returns ErrServerClosed when stopped; a failed request shows up as the run's error
	return "http://" + ln.Addr().String() + "/v1", func() { _ = hs.Close() }, nil
}

// DefaultDataDir is where `make run` keeps the lake and the warehouse.
func DefaultDataDir() string {
	if d := os.Getenv("GFN_RUN_DIR"); d != "" {
		return d
	}
	return "data"
}
