// Package load is the loader's domain: the local stand-in for Snowpipe. For each S3
// ObjectCreated notification of a transformed Parquet file it downloads the object, loads it
// into the warehouse once (a redelivery loads nothing) and announces BatchLoaded.
package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/telemetry"
	"github.com/gfnpipeline/shared/warehouse"
)

// Config configures the loader.
type Config struct {
	// TempDir holds downloaded files while they load; empty means os.TempDir().
	TempDir string
	// Force reloads files the load history already has (`gfnctl load --force`), as
	// Snowflake's COPY ... FORCE = TRUE does.
	Force bool
}

// Loader loads transformed Parquet files into the warehouse.
type Loader struct {
	cfg   Config
	store lake.Store
	wh    warehouse.Warehouse
	pub   messaging.Publisher
	now   func() time.Time

	mu     sync.Mutex
	status Status
}

// Status is what the loader has done since it started, plus the warehouse's row count; the
// status endpoint serves it because nothing else can open DuckDB's file meanwhile.
type Status struct {
	TableRows          int64     `json:"table_rows"`
	FilesLoaded        int       `json:"files_loaded"`
	FilesAlreadyLoaded int       `json:"files_already_loaded"`
	RowsLoaded         int64     `json:"rows_loaded"`
	LastLoad           *LastLoad `json:"last_load,omitempty"`
	StatusAt           time.Time `json:"status_at"`
}

// LastLoad describes the most recent file handled.
type LastLoad struct {
	Key           string    `json:"key"`
	RunID         string    `json:"run_id"`
	BatchID       string    `json:"batch_id"`
	LoadID        string    `json:"load_id"`
	RowsLoaded    int       `json:"rows_loaded"`
	AlreadyLoaded bool      `json:"already_loaded"`
	LoadedAt      time.Time `json:"loaded_at"`
}

// New returns a loader.
func New(cfg Config, store lake.Store, wh warehouse.Warehouse, pub messaging.Publisher) *Loader {
	return &Loader{cfg: cfg, store: store, wh: wh, pub: pub, now: time.Now}
}

// Handle loads the notified object when it is a transformed Parquet file and publishes
// BatchLoaded. A file that can never load is a permanent error (dead-lettered at once).
func (l *Loader) Handle(ctx context.Context, o *lake.ObjectCreated) error {
	log := telemetry.Logger(ctx)
	if !strings.HasPrefix(o.Key, lake.TransformedPrefix) || !strings.HasSuffix(o.Key, ".parquet") {
		log.DebugContext(ctx, "loader ignores object outside transformed Parquet", "key", o.Key)
		return nil
	}
	// The version the event names: an overlapping run may have rewritten the key since.
	body, obj, err := lake.GetNotified(ctx, l.store, *o)
	if err != nil {
		if errors.Is(err, lake.ErrNotFound) {
			// S3 is read-after-write consistent: a notified object that is gone was deleted.
			return messaging.Permanent(fmt.Errorf("loader: get %s: %w", o.Key, err))
		}
		return fmt.Errorf("loader: get %s: %w", o.Key, err)
	}
	runID, batchID := obj.Metadata[lake.MetaRunID], obj.Metadata[lake.MetaBatchID]
	// The notification carried no run: every line from here on names the file's.
	log = log.With("run_id", runID, "batch_id", batchID)
	ctx = telemetry.WithLogger(ctx, log)

	res, err := l.loadBody(ctx, o.Key, body, runID, batchID)
	if err != nil {
		return err
	}
	loadedAt := l.now().UTC()
	l.record(o.Key, runID, batchID, res, loadedAt)
	log = log.With("load_id", res.LoadID)
	if runID == "" {
		// Snowpipe loads any file dropped in the prefix; one without a run has no run to report to.
		log.WarnContext(ctx, "loaded a file without run-id metadata; no BatchLoaded published",
			"rows_loaded", res.RowsLoaded, "already_loaded", res.AlreadyLoaded)
		return nil
	}
	msg := &contracts.BatchLoaded{
		Header:        contracts.Header{RunID: runID, BatchID: batchID},
		Key:           o.Key,
		LoadID:        res.LoadID,
		RowsLoaded:    res.RowsLoaded,
		AlreadyLoaded: res.AlreadyLoaded,
		TableRows:     res.TableRows,
		LoadedAt:      loadedAt,
	}
	if err := l.pub.Publish(ctx, msg); err != nil {
		// The retry finds the file loaded and publishes BatchLoaded with AlreadyLoaded.
		return fmt.Errorf("loader: publish BatchLoaded for %s: %w", o.Key, err)
	}
	log.InfoContext(ctx, "batch loaded", "rows_loaded", res.RowsLoaded,
		"already_loaded", res.AlreadyLoaded, "table_rows", res.TableRows)
	return nil
}

// loadBody writes the object to a temporary file (DuckDB reads Parquet from local files
// only) and loads it.
func (l *Loader) loadBody(ctx context.Context, key string, body []byte, runID, batchID string) (warehouse.LoadResult, error) {
	f, err := os.CreateTemp(l.cfg.TempDir, "gfn-load-*.parquet")
	if err != nil {
		return warehouse.LoadResult{}, fmt.Errorf("loader: temp file for %s: %w", key, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(body); err != nil {
		return warehouse.LoadResult{}, errors.Join(fmt.Errorf("loader: write temp file for %s: %w", key, err), f.Close())
	}
	if err := f.Close(); err != nil {
		return warehouse.LoadResult{}, fmt.Errorf("loader: write temp file for %s: %w", key, err)
	}
	res, err := l.wh.LoadFile(ctx, warehouse.FileLoad{LocalPath: f.Name(), FileName: key, RunID: runID, BatchID: batchID, Force: l.cfg.Force})
	switch {
	case errors.Is(err, warehouse.ErrBadFile):
		return warehouse.LoadResult{}, messaging.Permanent(fmt.Errorf("loader: %s: %w", key, err))
	case err != nil:
		return warehouse.LoadResult{}, fmt.Errorf("loader: load %s: %w", key, err)
	}
	return res, nil
}

func (l *Loader) record(key, runID, batchID string, res warehouse.LoadResult, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if res.AlreadyLoaded {
		l.status.FilesAlreadyLoaded++
	} else {
		l.status.FilesLoaded++
		l.status.RowsLoaded += int64(res.RowsLoaded)
	}
	l.status.LastLoad = &LastLoad{Key: key, RunID: runID, BatchID: batchID, LoadID: res.LoadID,
		RowsLoaded: res.RowsLoaded, AlreadyLoaded: res.AlreadyLoaded, LoadedAt: at}
}

// Status returns the loader's counters and the warehouse's current row count.
func (l *Loader) Status(ctx context.Context) (Status, error) {
	rows, err := l.wh.Count(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("loader status: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.status
	if st.LastLoad != nil {
		last := *st.LastLoad
		st.LastLoad = &last
	}
	st.TableRows = rows
	st.StatusAt = l.now().UTC()
	return st, nil
}
