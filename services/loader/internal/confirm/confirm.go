// Package confirm is the loader's production mode: Snowpipe loads each transformed file into
// Snowflake's RAW and a stream + task MERGEs it into TRANSFORMED; the confirmer loads nothing.
// It gets the same S3 notification Snowpipe gets (both subscribe to the lake events topic)
// and asks Snowflake's own load records whether the file loaded: BatchLoaded with Snowflake's
// row counts once the file is in RAW and merged, BatchFailed with Snowflake's first error when
// the load failed, and BatchFailed "not loaded within <deadline>" when nothing shows up in
// time. Until then the notification comes back with growing delays as a fresh delivery
// (messaging.NotYet), so waiting on Snowpipe never spends the retry budget.
package confirm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/telemetry"
	"github.com/gfnpipeline/shared/warehouse"
)

// Stage names Snowpipe as the stage a BatchFailed comes from.
const Stage = "snowpipe"

// Defaults.
const (
	DefaultDeadline = 15 * time.Minute
	DefaultMinDelay = 5 * time.Second
	DefaultMaxDelay = 2 * time.Minute
	// clockSlack allows for S3's and Snowflake's clocks disagreeing when matching load records
	// to the object's creation.
	clockSlack = time.Minute
)

// Config tunes the confirmer.
type Config struct {
	// Deadline is how long after the object's creation a missing load becomes a failure.
	Deadline time.Duration
	// MinDelay and MaxDelay bound the re-check delay, which grows with the object's age (half
	// of it): Snowpipe usually loads within a minute, so early checks come often.
	MinDelay, MaxDelay time.Duration
}

func (c Config) withDefaults() Config {
	if c.Deadline <= 0 {
		c.Deadline = DefaultDeadline
	}
	if c.MinDelay <= 0 {
		c.MinDelay = DefaultMinDelay
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	return c
}

// Warehouse is what the confirmer reads from Snowflake besides the load records. File names
// are Snowflake's (warehouse.PipeFileName), not lake keys.
type Warehouse interface {
	// PendingMerge counts the file's rows still waiting in the stream for the MERGE task.
	PendingMerge(ctx context.Context, fileName string) (int64, error)
	FileLoadID(ctx context.Context, fileName string) (string, error)
	Count(ctx context.Context) (int64, error)
}

// Confirmer confirms Snowpipe's loads.
type Confirmer struct {
	cfg     Config
	store   lake.Store
	records warehouse.LoadRecords
	wh      Warehouse
	pub     messaging.Publisher
	now     func() time.Time

	mu     sync.Mutex
	status Status
}

// Status is what the confirmer has seen since it started, plus TRANSFORMED's row count.
type Status struct {
	TableRows      int64     `json:"table_rows"`
	FilesConfirmed int       `json:"files_confirmed"`
	FilesFailed    int       `json:"files_failed"`
	RowsLoaded     int64     `json:"rows_loaded"`
	Checks         int       `json:"checks"`
	StatusAt       time.Time `json:"status_at"`
}

// New returns a confirmer reading records (COPY_HISTORY in production) and wh.
func New(cfg Config, store lake.Store, records warehouse.LoadRecords, wh Warehouse, pub messaging.Publisher) *Confirmer {
	return &Confirmer{cfg: cfg.withDefaults(), store: store, records: records, wh: wh, pub: pub, now: time.Now}
}

// Handle checks the notified file's load once: it publishes the outcome, or returns
// messaging.NotYet to be asked again later.
func (c *Confirmer) Handle(ctx context.Context, o *lake.ObjectCreated) error {
	log := telemetry.Logger(ctx)
	if !strings.HasPrefix(o.Key, lake.TransformedPrefix) || !strings.HasSuffix(o.Key, ".parquet") {
		log.DebugContext(ctx, "confirmer ignores object outside transformed Parquet", "key", o.Key)
		return nil
	}
	obj, err := c.store.Head(ctx, o.Key)
	if err != nil {
		if errors.Is(err, lake.ErrNotFound) {
			return messaging.Permanent(fmt.Errorf("load confirm: head %s: %w", o.Key, err))
		}
		return fmt.Errorf("load confirm: head %s: %w", o.Key, err)
	}
	runID, batchID := obj.Metadata[lake.MetaRunID], obj.Metadata[lake.MetaBatchID]
	log = log.With("run_id", runID, "batch_id", batchID)
	ctx = telemetry.WithLogger(ctx, log)
	c.count(func(s *Status) { s.Checks++ })

	created := obj.LastModified
	// Transformed files carry their run in the rows, so a rewritten key has new bytes and
	// Snowpipe loads it again: only loads after this version's creation confirm it.
	name := warehouse.PipeFileName(o.Key)
	recs, err := c.records.FileLoads(ctx, name, created.Add(-clockSlack))
	if err != nil {
		return fmt.Errorf("load confirm %s: %w", o.Key, err)
	}
	age := c.now().Sub(created)
	if len(recs) == 0 {
		return c.notLoaded(ctx, o.Key, runID, batchID, age, "no load record yet")
	}
	rec := recs[len(recs)-1]
	switch status := strings.ToLower(strings.ReplaceAll(rec.Status, "_", " ")); status {
	case "loaded":
	case "load failed", "partially loaded":
		reason := fmt.Sprintf("snowpipe %s %s: %s", status, o.Key, rec.FirstError)
		return c.fail(ctx, runID, batchID, reason)
	default: // in progress
		return c.notLoaded(ctx, o.Key, runID, batchID, age, "load status "+rec.Status)
	}
	pending, err := c.wh.PendingMerge(ctx, name)
	if err != nil {
		return fmt.Errorf("load confirm %s: %w", o.Key, err)
	}
	if pending > 0 {
		return c.notLoaded(ctx, o.Key, runID, batchID, age, fmt.Sprintf("in RAW, %d rows wait for the MERGE task", pending))
	}
	loadID, err := c.wh.FileLoadID(ctx, name)
	if err != nil {
		return fmt.Errorf("load confirm %s: %w", o.Key, err)
	}
	tableRows, err := c.wh.Count(ctx)
	if err != nil {
		return fmt.Errorf("load confirm %s: %w", o.Key, err)
	}
	latency := rec.LastLoadTime.Sub(created)
	c.count(func(s *Status) { s.FilesConfirmed++; s.RowsLoaded += rec.RowCount; s.TableRows = tableRows })
	if runID == "" {
		log.WarnContext(ctx, "Snowpipe loaded a file without run-id metadata; no BatchLoaded published", "rows_loaded", rec.RowCount)
		return nil
	}
	msg := &contracts.BatchLoaded{
		Header:     contracts.Header{RunID: runID, BatchID: batchID},
		Key:        o.Key,
		LoadID:     loadID,
		RowsLoaded: int(rec.RowCount),
		TableRows:  tableRows,
		LoadedAt:   rec.LastLoadTime.UTC(),
	}
	if err := c.pub.Publish(ctx, msg); err != nil {
		return fmt.Errorf("load confirm: publish BatchLoaded for %s: %w", o.Key, err)
	}
	telemetry.RecordSnowpipeLatency(ctx, runID, batchID, o.Key, created, rec.LastLoadTime)
	log.InfoContext(ctx, "snowpipe load confirmed", "key", o.Key, "load_id", loadID, "rows_loaded", rec.RowCount,
		"table_rows", tableRows, "snowpipe_latency_seconds", latency.Seconds(), "confirmed_after_seconds", age.Seconds())
	return nil
}

// notLoaded waits (NotYet with a delay that grows with the object's age) until the deadline,
// then fails the batch, naming the pipe's state for the operator.
func (c *Confirmer) notLoaded(ctx context.Context, key, runID, batchID string, age time.Duration, why string) error {
	if age >= c.cfg.Deadline {
		reason := fmt.Sprintf("not loaded within %s: %s (%s)", c.cfg.Deadline, key, why)
		if st, err := c.records.PipeStatus(ctx); err != nil {
			reason += "; pipe status unavailable: " + err.Error()
		} else {
			reason += "; pipe status " + st
		}
		return c.fail(ctx, runID, batchID, reason)
	}
	delay := min(max(age/2, c.cfg.MinDelay), c.cfg.MaxDelay)
	if left := c.cfg.Deadline - age; delay > left {
		delay = left + time.Second // the next check is past the deadline and decides
	}
	return messaging.NotYet(delay, fmt.Sprintf("%s: %s after %s", key, why, age.Round(time.Second)))
}

func (c *Confirmer) fail(ctx context.Context, runID, batchID, reason string) error {
	c.count(func(s *Status) { s.FilesFailed++ })
	log := telemetry.Logger(ctx)
	if runID == "" {
		log.ErrorContext(ctx, "load failed for a file without run-id metadata", "reason", reason)
		return nil
	}
	if _, err := messaging.PublishBatchFailed(ctx, c.pub, messaging.Failure{Stage: Stage, RunID: runID, BatchID: batchID, Reason: reason}); err != nil {
		return fmt.Errorf("load confirm: %w", err)
	}
	log.ErrorContext(ctx, "snowpipe load failed", "reason", reason)
	return nil
}

func (c *Confirmer) count(f func(*Status)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.status)
}

// Status returns the counters and TRANSFORMED's row count.
func (c *Confirmer) Status(ctx context.Context) (Status, error) {
	rows, err := c.wh.Count(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("confirmer status: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.status
	st.TableRows = rows
	st.StatusAt = c.now().UTC()
	return st, nil
}
