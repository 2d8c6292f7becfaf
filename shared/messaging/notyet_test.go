package messaging_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/messaging"
)

// A handler waiting on something outside (Snowpipe) answers "not yet" more times than the
// queue's maxReceiveCount: every wait is a fresh delayed delivery, so the message neither
// reaches the DLQ nor spends its retries, and is handled once the wait is over.
func TestNotYetDefersWithoutSpendingRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	waits := contracts.MaxReceiveCount + 2
	var calls atomic.Int32
	var lastAttempt atomic.Int32
	done := make(chan struct{})
	queue := f.top.Name(contracts.QueueValidator)
	c := messaging.Consumer{Queue: queue, Handle: func(ctx context.Context, d messaging.Delivery) error {
		n := calls.Add(1)
		lastAttempt.Store(int32(d.Attempt))
		if int(n) <= waits {
			return messaging.NotYet(time.Second, "file not loaded yet")
		}
		close(done)
		return nil
	}}
	run(t, f, c)
	if err := f.pub.Publish(context.Background(), &contracts.RawBatchLanded{Header: contracts.Header{RunID: "run-ny", BatchID: "ef-2019"}, Year: 2019}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("handled %d times, never past the wait", calls.Load())
	}
	if a := lastAttempt.Load(); a != 1 {
		t.Errorf("the delivery after %d waits is attempt %d, want 1 (a fresh message)", waits, a)
	}
	if dead := f.drain(t, queue+contracts.DLQSuffix); len(dead) != 0 {
		t.Fatalf("DLQ holds %d messages", len(dead))
	}
}
