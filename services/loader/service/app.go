// Package service builds the loader application from its platform deps.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/loader/load"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/shared/warehouse"
)

// Settings the loader reads besides the platform's.
const (
	EnvDuckDBPath = "DUCKDB_PATH"     // default ./data/gfn.duckdb
	EnvStatusAddr = "GFN_STATUS_ADDR" // when set, serves GET /status (table rows, loads) there
)

// NewApplication returns the loader: S3 ObjectCreated notifications for transformed/ Parquet
// are loaded into DuckDB (RAW, load history, MERGE into TRANSFORMED). DuckDB locks its file:
// the loader is its only user while it runs.
func NewApplication(ctx context.Context, deps platform.Deps) (platform.App, func(), error) {
	path := deps.Getenv(EnvDuckDBPath)
	if path == "" {
		path = filepath.Join("data", "gfn.duckdb")
	}
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
			slog.Error("loader: close warehouse", "path", path, "error", err.Error())
		}
	}
	cleanup := closeWH
	if addr := deps.Getenv(EnvStatusAddr); addr != "" {
		stop, err := serveStatus(ctx, addr, l)
		if err != nil {
			return platform.App{}, nil, errors.Join(err, wh.Close())
		}
		cleanup = func() { stop(); closeWH() }
	}
	return platform.App{Consumers: []messaging.Consumer{
		messaging.ObjectCreatedConsumer(deps.Topology.Name(contracts.QueueLoader), l.Handle),
	}}, cleanup, nil
}

// serveStatus answers GET /status with the loader's counts: readers cannot open the DuckDB
// file while the loader holds it.
func serveStatus(ctx context.Context, addr string, l *load.Loader) (stop func(), err error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loader status on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st, err := l.Status(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st) //nolint:errcheck // the client hung up: no one to tell
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "loader status server:", err)
		}
	}()
	return func() { _ = srv.Close() }, nil // closes the listener; nothing is lost
}
