// Package runs starts pipeline runs and waits for their outcome in the run ledger.
package runs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/runledger"
)

// NewRunID is a sortable, unique run id.
func NewRunID(now time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return "run-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Request sends ExtractionRequested for req (run id and time filled in when empty).
func Request(ctx context.Context, pub messaging.Publisher, req contracts.ExtractionRequested) (contracts.ExtractionRequested, error) {
	if req.RequestedAt.IsZero() {
		req.RequestedAt = time.Now().UTC()
	}
	if req.RunID == "" {
		req.RunID = NewRunID(req.RequestedAt)
	}
	if req.Mode == "" {
		req.Mode = contracts.ModeFull
	}
	if req.Mode != contracts.ModeFull && req.Mode != contracts.ModeIncremental {
		return req, fmt.Errorf("mode %q: want %s or %s", req.Mode, contracts.ModeFull, contracts.ModeIncremental)
	}
	if err := pub.Publish(ctx, &req); err != nil {
		return req, fmt.Errorf("request run %s: %w", req.RunID, err)
	}
	return req, nil
}

// WaitOption changes what Wait waits for.
type WaitOption func(*waitConfig)

type waitConfig struct {
	untilCompleted bool
	progress       func(runledger.Run)
}

// OnProgress hands every poll's ledger of the run to fn (a progress display); nil is none.
func OnProgress(fn func(runledger.Run)) WaitOption { return func(c *waitConfig) { c.progress = fn } }

// UntilCompleted makes Wait look past a RunFailed for a later RunCompleted: a failed run
// completes once its dead-lettered batch is redriven and loaded. When ctx ends first, Wait
// returns the RunFailed with the error.
func UntilCompleted() WaitOption { return func(c *waitConfig) { c.untilCompleted = true } }

// Wait polls the run ledger until the run has an outcome (RunCompleted or RunFailed).
func Wait(ctx context.Context, store lake.Store, runID string, every time.Duration, opts ...WaitOption) (contracts.Message, error) {
	var cfg waitConfig
	for _, o := range opts {
		o(&cfg)
	}
	ledger := runledger.New(store)
	t := time.NewTicker(every)
	defer t.Stop()
	var failed contracts.Message
	for {
		run, err := ledger.Load(ctx, runID)
		if err != nil {
			return failed, err
		}
		if cfg.progress != nil {
			cfg.progress(run)
		}
		m, err := run.OutcomeMessage()
		if err != nil {
			return nil, err
		}
		if _, isFailed := m.(*contracts.RunFailed); isFailed && cfg.untilCompleted {
			failed = m
		} else if m != nil {
			return m, nil
		}
		select {
		case <-ctx.Done():
			return failed, fmt.Errorf("waiting for run %s: %w", runID, ctx.Err())
		case <-t.C:
		}
	}
}

// SummaryLine is the one line `make run` and `make e2e` end with. failed_batches comes last
// so readers of the fields before it keep working.
func SummaryLine(outcome contracts.Message) string {
	var (
		status = "failed"
		s      contracts.RunSummary
	)
	switch o := outcome.(type) {
	case *contracts.RunCompleted:
		status, s = "completed", o.RunSummary
	case *contracts.RunFailed:
		s = o.RunSummary
	}
	return fmt.Sprintf("run=%s status=%s batches=%d rows_in=%d rows_loaded=%d rejected=%d seconds=%.1f failed_batches=%d",
		outcome.Run(), status, s.Batches, s.RowsIn, s.RowsLoaded, s.Rejected, s.DurationSec, s.FailedBatches)
}

// FailedError describes a failed run: every failed batch with its reason.
func FailedError(f *contracts.RunFailed) error {
	if len(f.Failures) == 0 {
		return fmt.Errorf("run %s failed: %s", f.RunID, f.Reason)
	}
	parts := make([]string, 0, len(f.Failures))
	for _, b := range f.Failures {
		parts = append(parts, fmt.Sprintf("%s (%s)", b.BatchID, b.Reason))
	}
	return fmt.Errorf("run %s failed: %d of %d batches failed: %s", f.RunID, len(f.Failures), f.Batches, strings.Join(parts, "; "))
}

// ErrNoConsumer: a requested run's command sat in its queue with nobody receiving it.
var ErrNoConsumer = errors.New("no consumer")

// Depth reports a queue's waiting (visible) and received (in-flight) messages.
type Depth func(ctx context.Context) (visible, inFlight int64, err error)

// AwaitPickup waits until a consumer has taken runID's request: the ledger has the run, or
// the queue holds nothing waiting. When `within` passes with messages waiting and none in
// flight, nothing consumes the queue: ErrNoConsumer, within seconds rather than at the run's
// timeout. A queue with messages in flight has a (busy) consumer, and the wait goes on.
func AwaitPickup(ctx context.Context, store lake.Store, runID, queue string, depth Depth, within, every time.Duration) error {
	ledger := runledger.New(store)
	deadline := time.Now().Add(within)
	for {
		run, err := ledger.Load(ctx, runID)
		if err != nil {
			return err
		}
		if run.Plan != nil || len(run.Batches) > 0 {
			return nil
		}
		visible, inFlight, err := depth(ctx)
		if err != nil {
			return err
		}
		if visible == 0 || inFlight > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: the request for run %s was not received from %s within %s (%d messages waiting, none in flight); "+
				"is the extractor running? (`make stack` runs every service)", ErrNoConsumer, runID, queue, within, visible)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}
