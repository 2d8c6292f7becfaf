package messaging

import (
	"context"
	"fmt"

	"github.com/gfnpipeline/contracts"
)

// Failure is a message a stage gave up on for good: what BatchFailed announces.
type Failure struct {
	// Stage is what gave up: the queue's deployed name, or the load confirmer's Snowpipe.
	Stage string
	// Type is the type of the message given up on; "" when it was no envelope (an S3
	// notification).
	Type    string
	RunID   string
	BatchID string
	Reason  string
}

// FailureOf is the failure of a delivery from stage: the run and type its attributes carry,
// the batch its body names.
func FailureOf(stage string, d Delivery, reason string) Failure {
	f := Failure{Stage: stage, Type: d.Attributes[contracts.AttrType], RunID: d.Attributes[contracts.AttrRunID], Reason: reason}
	if m, err := contracts.Decode(f.Type, d.Body); err == nil {
		f.BatchID = m.Batch()
	}
	return f
}

// PublishBatchFailed announces f as BatchFailed, so its run fails instead of waiting for a
// batch that will never arrive. It is the one place BatchFailed is built: the delivery policy
// calls it when a handler gives up, the DLQ watch when a queue's redrive policy moved a
// message, the load confirmer when Snowpipe failed a file. A failure outside any run
// announces nothing, nor does a dead-lettered BatchFailed (that would loop); an empty batch is
// the run's planning (the ledger's run-level batch). It reports whether it published.
func PublishBatchFailed(ctx context.Context, pub Publisher, f Failure) (bool, error) {
	if f.RunID == "" || f.Type == contracts.TypeBatchFailed {
		return false, nil
	}
	ev := &contracts.BatchFailed{Header: contracts.Header{RunID: f.RunID, BatchID: f.BatchID}, Stage: f.Stage, Reason: f.Reason}
	if err := pub.Publish(ctx, ev); err != nil {
		return false, fmt.Errorf("publish BatchFailed for run %s batch %s: %w", f.RunID, f.BatchID, err)
	}
	return true, nil
}
