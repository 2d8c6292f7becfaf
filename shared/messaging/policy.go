package messaging

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/telemetry"
)

// Settler is how a transport finishes a delivery that failed.
type Settler interface {
	// Retry makes the message come back after the delay. It reports whether the original
	// delivery is settled (ack it) or must be left to reappear (nack it).
	Retry(ctx context.Context, d Delivery, after time.Duration) (settled bool, err error)
	// DeadLetter moves the message to the queue's DLQ with the reason as an attribute. On
	// success the original is acked.
	DeadLetter(ctx context.Context, d Delivery, reason string) error
}

// Deferrer is a Settler that can bring a message back later as a fresh delivery, so the
// wait does not spend the retry budget (SQS: a delayed copy, then the original is acked).
type Deferrer interface {
	Defer(ctx context.Context, d Delivery, after time.Duration) error
}

// NotYetError says the handler's work waits on something outside the pipeline (Snowpipe has
// not loaded the file yet). It is not a failure: the message comes back after After as a
// fresh delivery; the handler owns the deadline after which waiting becomes a failure.
type NotYetError struct {
	After  time.Duration
	Reason string
}

func (e *NotYetError) Error() string { return "not yet: " + e.Reason }

// NotYet asks for the message again after the delay.
func NotYet(after time.Duration, reason string) error {
	return &NotYetError{After: after, Reason: reason}
}

// Backoff is the delay before delivery attempt+1: 1 s, 2 s, 4 s..., never beyond SQS's
// 12 h visibility limit.
func Backoff(attempt int) time.Duration {
	attempt = min(max(attempt, 1), 17) // 2^16 s already exceeds 12 h
	return min(time.Second<<(attempt-1), MaxVisibility)
}

// Policy applies the delivery rules to a handler's outcome.
type Policy struct {
	// MaxAttempts equals the queue's maxReceiveCount: on the last attempt a failure is
	// dead-lettered by the handler side, so the DLQ message carries its reason. The queue's
	// RedrivePolicy stays as the backstop for consumers that crash mid-message.
	MaxAttempts int
	// Publisher, when set, announces BatchFailed for dead-lettered pipeline messages so the
	// run fails instead of waiting for a batch that will never arrive.
	Publisher Publisher
	// Backoff overrides the retry delays (tests).
	Backoff func(attempt int) time.Duration
}

// Process runs c on d and settles failures. It returns true when the delivery is finished
// (ack: delete it) and false when it must come back (nack).
func (p Policy) Process(ctx context.Context, c Consumer, d Delivery, s Settler) bool {
	log := telemetry.Logger(ctx).With("queue", c.Queue, "message_id", d.MessageID, "attempt", d.Attempt,
		"run_id", d.Attributes[contracts.AttrRunID], "type", d.Attributes[contracts.AttrType])
	err := safeHandle(telemetry.WithLogger(ctx, log), c, d)
	if err == nil {
		return true
	}
	var notYet *NotYetError
	if errors.As(err, &notYet) {
		if df, ok := s.(Deferrer); ok {
			if dErr := df.Defer(ctx, d, notYet.After); dErr != nil {
				log.Error("could not defer; message returns after its visibility timeout", "error", dErr.Error(), "reason", notYet.Reason)
				return false
			}
			log.Info("not yet; deferred", "reason", notYet.Reason, "again_in", notYet.After.String())
			return true
		}
		// A transport that cannot defer retries, spending the budget.
	}
	if ctx.Err() != nil {
		// Stopped (drain deadline, Lambda timeout), not failed: the transport hands the message
		// back without spending a retry or dead-lettering it.
		log.Warn("handler stopped before finishing; message handed back", "error", err.Error())
		return false
	}
	if p.deadLetters(err, d.Attempt) {
		var perm *PermanentError
		if IsPermanent(err) && !errors.As(err, &perm) {
			err = Permanent(err)
		}
		reason := err.Error()
		if !IsPermanent(err) {
			reason = fmt.Sprintf("failed %d deliveries: %s", d.Attempt, reason)
		}
		if dlErr := s.DeadLetter(ctx, d, reason); dlErr != nil {
			log.Error("dead-letter failed; message will be redelivered", "error", dlErr.Error(), "reason", reason)
			return false
		}
		log.Error("message dead-lettered", "error", reason, "dlq", c.Queue+contracts.DLQSuffix)
		p.announceFailure(ctx, c, d, reason)
		return true
	}
	backoff := Backoff
	if p.Backoff != nil {
		backoff = p.Backoff
	}
	delay := backoff(d.Attempt)
	log.Warn("handler failed; retrying", "error", err.Error(), "retry_in", delay.String())
	settled, rErr := s.Retry(ctx, d, delay)
	if rErr != nil {
		log.Error("could not schedule retry; message returns after its visibility timeout", "error", rErr.Error())
		return false
	}
	return settled
}

func safeHandle(ctx context.Context, c Consumer, d Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return c.Handle(ctx, d)
}

// announceFailure publishes BatchFailed when the dead-lettered message belongs to a run.
func (p Policy) announceFailure(ctx context.Context, c Consumer, d Delivery, reason string) {
	if p.Publisher == nil {
		return
	}
	if _, err := PublishBatchFailed(ctx, p.Publisher, FailureOf(c.Queue, d, reason)); err != nil {
		telemetry.Logger(ctx).Error("announce failure", "error", err.Error())
	}
}
