package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/runledger"
	"github.com/gfnpipeline/tools/gfnctl/runs"
)

func TestWaitUntilCompleted(t *testing.T) {
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ledger := runledger.New(store)
	h := contracts.Header{RunID: "run-1"}
	announce := func(m contracts.Message) error {
		if _, err := ledger.ClaimOutcome(ctx, m, "test", time.Now()); err != nil {
			return err
		}
		return ledger.MarkAnnounced(ctx, m)
	}
	// A claim not announced yet is not an outcome.
	if _, err := ledger.ClaimOutcome(ctx, &contracts.RunCompleted{Header: h}, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	short0, cancel0 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel0()
	if m, err := runs.Wait(short0, store, "run-1", 10*time.Millisecond); m != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait returned an unannounced claim: %v %v", m, err)
	}
	if err := announce(&contracts.RunFailed{Header: h, FailedBatch: "ef-2005"}); err != nil {
		t.Fatal(err)
	}
	// Plain Wait stops at the failure.
	if m, err := runs.Wait(ctx, store, "run-1", 10*time.Millisecond); err != nil || m.EventType() != "RunFailed" {
		t.Fatalf("wait: %v %v", m, err)
	}
	// UntilCompleted looks past it, and reports it when time runs out...
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	m, err := runs.Wait(short, store, "run-1", 10*time.Millisecond, runs.UntilCompleted())
	if !errors.Is(err, context.DeadlineExceeded) || m == nil || m.EventType() != "RunFailed" {
		t.Fatalf("until completed, timed out: %v %v", m, err)
	}
	// ...or returns the later completion.
	go func() {
		time.Sleep(50 * time.Millisecond)
		ledger.MarkAnnounced(ctx, &contracts.RunCompleted{Header: h})
	}()
	if m, err := runs.Wait(ctx, store, "run-1", 10*time.Millisecond, runs.UntilCompleted()); err != nil || m.EventType() != "RunCompleted" {
		t.Fatalf("until completed: %v %v", m, err)
	}
}

func TestSummaryLine(t *testing.T) {
	sum := contracts.RunSummary{Batches: 13, RowsIn: 100, RowsLoaded: 90, Rejected: 10, FailedBatches: 1, DurationSec: 2.25}
	got := runs.SummaryLine(&contracts.RunFailed{Header: contracts.Header{RunID: "run-1"}, RunSummary: sum})
	want := "run=run-1 status=failed batches=13 rows_in=100 rows_loaded=90 rejected=10 seconds=2.2 failed_batches=1"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
