// Package service builds the loader application from its platform deps.
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
		wh.Close()
		return platform.App{}, nil, fmt.Errorf("loader: migrate %s: %w", path, err)
	}
	l := load.New(load.Config{}, deps.Store, wh, deps.Publisher)
	cleanup := func() { wh.Close() }
	if addr := deps.Getenv(EnvStatusAddr); addr != "" {
		stop, err := serveStatus(addr, l)
		if err != nil {
			wh.Close()
			return platform.App{}, nil, err
		}
		cleanup = func() { stop(); wh.Close() }
	}
	return platform.App{Consumers: []messaging.Consumer{
		messaging.ObjectCreatedConsumer(deps.Topology.Name(contracts.QueueLoader), l.Handle),
	}}, cleanup, nil
}

// statusHeaderTimeout bounds how long the status server waits for a request's headers.
const statusHeaderTimeout = 5 * time.Second

// serveStatus answers GET /status with the loader's counts: readers cannot open the DuckDB
// file while the loader holds it.
func serveStatus(addr string, l *load.Loader) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
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
		json.NewEncoder(w).Encode(st)
	})
	// A client that never finishes its headers must not hold a connection forever.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: statusHeaderTimeout, IdleTimeout: time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "loader status server:", err)
		}
	}()
	return func() { srv.Close() }, nil
}
