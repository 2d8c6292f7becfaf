package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/notifier/notify"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/tools/gfnctl/runs"
)

func TestWaitUntilCompleted(t *testing.T) {
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ledger := notify.NewLedger(store)
	h := contracts.Header{RunID: "run-1"}
	if _, err := ledger.ClaimOutcome(ctx, &contracts.RunFailed{Header: h, FailedBatch: "ef-2005"}); err != nil {
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
		ledger.ClaimOutcome(ctx, &contracts.RunCompleted{Header: h})
	}()
	if m, err := runs.Wait(ctx, store, "run-1", 10*time.Millisecond, runs.UntilCompleted()); err != nil || m.EventType() != "RunCompleted" {
		t.Fatalf("until completed: %v %v", m, err)
	}
}
