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
	notifier "github.com/gfnpipeline/services/notifier/service"
	transformer "github.com/gfnpipeline/services/transformer/service"
	validator "github.com/gfnpipeline/services/validator/service"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/shared/runledger"
	"github.com/gfnpipeline/tools/gfnapi-sim/sim"
	"github.com/gfnpipeline/tools/gfnctl/runs"
)

// Options of an embedded run.
type Options struct {
	// DataDir holds the lake (DataDir/lake) and the warehouse (DataDir/gfn.duckdb).
	DataDir string
	// SimDataDir is the recording the simulator serves (GFN_DATA_DIR); empty: generated data.
	SimDataDir string
	// SimYears is the simulator's GFNAPI_SIM_YEARS (sim.Config.ServeYears).
	SimYears string
	// Config is the services' settings (`gfnctl run` parses them from the environment; the
	// zero value means each service's defaults). An API key (or its secret) means the real API
	// is used; the run always loads DuckDB at DataDir/gfn.duckdb.
	Config  Config
	Request contracts.ExtractionRequested
	Timeout time.Duration
	Logger  *slog.Logger
	// Progress, when set, sees the run's ledger as the run goes (gfnctl's progress line).
	Progress func(runledger.Run)
}

// Result of an embedded run.
type Result struct {
	Outcome     contracts.Message
	DeadLetters []messaging.DeadLetter
	// APIURL is where the extractor fetched from (the simulator's address when it ran).
	APIURL string
}

// Config is every service's settings, the platform's once.
type Config struct {
	Platform    platform.Config
	Extractor   extractor.Config
	Validator   validator.Config
	Transformer transformer.Config
	Loader      loader.Config
	Notifier    notifier.Config
}

// app adapts a service's NewApplication to the run's Config.
func app[C any](newApp platform.NewApplication[C], cfg func(Config) C) platform.NewApplication[Config] {
	return func(ctx context.Context, c Config, deps platform.Deps) (platform.App, func(), error) {
		return newApp(ctx, cfg(c), deps)
	}
}

// newApps builds each of contracts.Services (a test keeps the two in step).
var newApps = map[string]platform.NewApplication[Config]{
	contracts.ServiceExtractor:   app(extractor.NewApplication, func(c Config) extractor.Config { return c.Extractor }),
	contracts.ServiceValidator:   app(validator.NewApplication, func(c Config) validator.Config { return c.Validator }),
	contracts.ServiceTransformer: app(transformer.NewApplication, func(c Config) transformer.Config { return c.Transformer }),
	contracts.ServiceLoader:      app(loader.NewApplication, func(c Config) loader.Config { return c.Loader }),
	contracts.ServiceNotifier:    app(notifier.NewApplication, func(c Config) notifier.Config { return c.Notifier }),
}

// Run runs one pipeline run to its outcome.
func Run(ctx context.Context, opts Options) (Result, error) {
	var res Result
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Minute
	}
	if err := claimSource(opts.DataDir, source(opts)); err != nil {
		return res, err
	}
	store, err := lake.NewDir(filepath.Join(opts.DataDir, "lake"))
	if err != nil {
		return res, err
	}
	top := opts.Config.Platform.Topology()
	bus := newBus(store, top, opts.Logger)
	defer bus.Close() //nolint:errcheck // in-memory: the run has settled, nothing is in flight
	cfg, stopSim, err := settings(opts)
	if err != nil {
		return res, err
	}
	defer stopSim()
	res.APIURL = cfg.Extractor.APIURL
	consumers, cleanup, err := startServices(ctx, top, store, bus, cfg, opts.Logger)
	defer cleanup()
	if err != nil {
		return res, err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done, err := startBus(runCtx, bus, consumers)
	if err != nil {
		return res, err
	}
	res.Outcome, err = requestAndWait(ctx, store, bus, opts)
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

// newBus is the in-memory bus, with the directory lake standing in for S3's bucket
// notifications.
func newBus(store *lake.Dir, top contracts.Topology, log *slog.Logger) *messaging.Memory {
	bus := messaging.NewMemory(top, log)
	store.OnCreate(func(ctx context.Context, o lake.ObjectCreated) {
		if err := bus.NotifyObjectCreated(ctx, o); err != nil {
			log.Error("bucket notification", "key", o.Key, "error", err.Error())
		}
	})
	return bus
}

// settings are the services' settings: opts.Config under the embedded run's own. The
// embedded run has no Snowpipe to confirm, so it always loads DuckDB itself; and it starts
// the simulator unless a real API key is given (stop stops it).
func settings(opts Options) (cfg Config, stop func(), err error) {
	cfg = opts.Config
	cfg.Loader.Warehouse, cfg.Loader.DuckDBPath = loader.WarehouseDuckDB, filepath.Join(opts.DataDir, "gfn.duckdb")
	stop = func() {}
	if !realAPI(cfg.Extractor) {
		url, stopSim, err := startSimulator(sim.Config{DataDir: opts.SimDataDir, ServeYears: opts.SimYears}, opts.Logger)
		if err != nil {
			return cfg, nil, err
		}
		stop = stopSim
		cfg.Extractor.APIURL, cfg.Extractor.APIKey = url, "embedded-simulator"
		// The simulator is in-process: no need to pace requests as the real API wants.
		cfg.Extractor.Rate, cfg.Extractor.Burst = 1000, 1000
	}
	return cfg, stop, nil
}

// startServices builds every service's application on the bus and returns their consumers,
// each bounded to GFN_CONCURRENCY messages at once; cleanup stops what was started, also
// after an error.
func startServices(ctx context.Context, top contracts.Topology, store lake.Store, bus *messaging.Memory,
	cfg Config, log *slog.Logger) (consumers []messaging.Consumer, cleanup func(), err error) {
	var cleanups []func()
	cleanup = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	for _, name := range contracts.ServiceNames() {
		deps := platform.Deps{Topology: top, Store: store, Publisher: bus.Publisher("gfn/" + name), Logger: log.With("service", name)}
		app, stop, err := newApps[name](ctx, cfg, deps)
		if err != nil {
			return nil, cleanup, fmt.Errorf("start %s: %w", name, err)
		}
		cleanups = append(cleanups, stop)
		consumers = append(consumers, app.Consumers...)
	}
	// The in-memory bus hands a queue's messages over all at once; a poller takes
	// GFN_CONCURRENCY at a time. Bounding the bus the same way keeps a backfill's years from
	// all being in memory, in every form, at the same moment.
	loaderQueue := top.Name(contracts.QueueLoader)
	for i, c := range consumers {
		n := cfg.Platform.Concurrency
		if c.Queue == loaderQueue {
			// The loader's handlers hold a small Parquet file each and wait for DuckDB, which
			// commits the files waiting together (up to two a transaction): let it take a
			// receive batch's worth, as its local pollers do.
			n = max(n, contracts.LocalConcurrency(contracts.ServiceLoader))
		}
		consumers[i] = limited(c, n)
	}
	return consumers, cleanup, nil
}

// startBus runs the consumers under the delivery policy until ctx ends. It returns once they
// run, with the channel that gets the bus's end.
func startBus(ctx context.Context, bus *messaging.Memory, consumers []messaging.Consumer) (<-chan error, error) {
	running := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- bus.Run(ctx, messaging.Policy{Publisher: bus.Publisher("gfn/platform")}, running, consumers...)
	}()
	select {
	case <-running:
		return done, nil
	case err := <-done:
		return nil, fmt.Errorf("message bus: %w", err)
	}
}

// requestAndWait requests the run and waits, at most opts.Timeout, for its outcome.
func requestAndWait(ctx context.Context, store lake.Store, bus *messaging.Memory, opts Options) (contracts.Message, error) {
	req, err := runs.Request(ctx, bus.Publisher("gfnctl"), opts.Request)
	if err != nil {
		return nil, err
	}
	opts.Logger.Info("run requested", "run_id", req.RunID, "mode", req.Mode)
	waitCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	return runs.Wait(waitCtx, store, req.RunID, 100*time.Millisecond, runs.OnProgress(opts.Progress))
}

// ErrOtherSource: the data directory holds a lake and warehouse loaded from another source.
var ErrOtherSource = errors.New("data directory holds another source's data")

// sourceFile names the source a data directory's lake and warehouse were loaded from.
const sourceFile = "source"

// source names where a run's data comes from: generated or recorded simulator data, or the API.
func source(opts Options) string {
	if api := opts.Config.Extractor; realAPI(api) {
		if api.APIURL != "" {
			return "GFN API at " + api.APIURL
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

// realAPI: the settings give a key for the GFN API, so the run fetches from it.
func realAPI(c extractor.Config) bool { return c.APIKey != "" || c.APIKeySecretARN != "" }

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
