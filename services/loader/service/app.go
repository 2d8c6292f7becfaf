// Package service builds the loader application from its settings and platform deps.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/loader/internal/confirm"
	"github.com/gfnpipeline/services/loader/internal/load"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/shared/warehouse"
)

// NewApplication returns the loader for WAREHOUSE: DuckDB loads locally (NewDuckDBApplication);
// Snowflake confirms Snowpipe's loads from COPY_HISTORY (NewConfirmApplication).
func NewApplication(ctx context.Context, cfg Config, deps platform.Deps) (platform.App, func(), error) {
	if cfg.Warehouse == WarehouseSnowflake {
		return NewConfirmApplication(ctx, cfg, deps, func(sf *warehouse.Snowflake) warehouse.LoadRecords {
			return warehouse.CopyHistoryRecords{Snowflake: sf, Pipe: cfg.SnowflakePipe}
		})
	}
	return NewDuckDBApplication(ctx, cfg, deps)
}

// NewConfirmApplication returns the production load confirmer: Snowpipe loads, this confirms
// each transformed file from the load records records gives (COPY_HISTORY in production) and
// publishes BatchLoaded or BatchFailed. Snowflake's settings come from SNOWFLAKE_* or
// SNOWFLAKE_SECRET_ARN (cfg.Snowflake, resolved here).
func NewConfirmApplication(ctx context.Context, cfg Config, deps platform.Deps, records func(*warehouse.Snowflake) warehouse.LoadRecords) (platform.App, func(), error) {
	deadline := cfg.ConfirmDeadline
	sfCfg, err := cfg.Snowflake.Resolve(ctx, deps.AWS)
	if err != nil {
		return platform.App{}, nil, fmt.Errorf("loader: %w", err)
	}
	sf, err := warehouse.OpenSnowflake(ctx, sfCfg)
	if err != nil {
		return platform.App{}, nil, fmt.Errorf("loader: %w", err)
	}
	c := confirm.New(confirm.Config{Deadline: deadline}, deps.Store, records(sf), sf, deps.Publisher)
	deps.Logger.Info("confirming Snowpipe loads", "deadline", deadline.String(), "records", fmt.Sprintf("%T", records(sf)))
	closeSF := func() {
		if err := sf.Close(); err != nil {
			deps.Logger.Error("loader: close snowflake", "error", err.Error())
		}
	}
	cleanup := closeSF
	if addr := cfg.StatusAddr; addr != "" {
		stop, err := serveStatus(ctx, addr, func(ctx context.Context) (any, error) { return c.Status(ctx) })
		if err != nil {
			return platform.App{}, nil, errors.Join(err, sf.Close())
		}
		cleanup = func() { stop(); closeSF() }
	}
	return platform.App{Consumers: []messaging.Consumer{
		messaging.ObjectCreatedConsumer(deps.Topology.Name(contracts.QueueLoader), c.Handle),
	}}, cleanup, nil
}

// NewDuckDBApplication returns the local loader: S3 ObjectCreated notifications for
// transformed/ Parquet are loaded into DuckDB (RAW, load history, MERGE into TRANSFORMED).
// DuckDB locks its file: the loader is its only user while it runs.
func NewDuckDBApplication(ctx context.Context, cfg Config, deps platform.Deps) (platform.App, func(), error) {
	path := cfg.DuckDBPath
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return platform.App{}, nil, fmt.Errorf("loader: %w", err)
	}
	wh, err := warehouse.OpenDuckDB(path)
	if err != nil {
		return platform.App{}, nil, fmt.Errorf("loader: open %s: %w", path, err)
	}
	if err := wh.Migrate(ctx); err != nil {
		return platform.App{}, nil, errors.Join(fmt.Errorf("loader: migrate %s: %w", path, err), wh.Close())
	}
	l := load.New(load.Config{}, deps.Store, wh, deps.Publisher)
	// Close checkpoints the file Soda reads: a failure there must not pass silently.
	closeWH := func() {
		if err := wh.Close(); err != nil {
			deps.Logger.Error("loader: close warehouse", "path", path, "error", err.Error())
		}
	}
	cleanup := closeWH
	if addr := cfg.StatusAddr; addr != "" {
		stop, err := serveStatus(ctx, addr, func(ctx context.Context) (any, error) { return l.Status(ctx) })
		if err != nil {
			return platform.App{}, nil, errors.Join(err, wh.Close())
		}
		cleanup = func() { stop(); closeWH() }
	}
	return platform.App{Consumers: []messaging.Consumer{
		messaging.ObjectCreatedConsumer(deps.Topology.Name(contracts.QueueLoader), l.Handle),
	}}, cleanup, nil
}

// statusHeaderTimeout bounds how long the status server waits for a request's headers.
const statusHeaderTimeout = 5 * time.Second

// serveStatus answers GET /status with the loader's counts: readers cannot open the DuckDB
// file while the loader holds it.
func serveStatus(ctx context.Context, addr string, status func(context.Context) (any, error)) (stop func(), err error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loader status on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st, err := status(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st) //nolint:errcheck // the client hung up: no one to tell
	})
	// A client that never finishes its headers must not hold a connection forever.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: statusHeaderTimeout, IdleTimeout: time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "loader status server:", err)
		}
	}()
	return func() { _ = srv.Close() }, nil // closes the listener; nothing is lost
}
