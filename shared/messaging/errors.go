// Package messaging carries typed contracts messages over SNS/SQS (aws-sdk-go-v2: our own poller with heartbeat and drain) in AWS and
// over an in-memory bus for the embedded run, with one delivery policy for both: a failed
// delivery backs off 1 s, 2 s, 4 s, then is dead-lettered with its reason; a message that can
// never succeed is dead-lettered at once.
package messaging

import (
	"context"
	"errors"

	"github.com/gfnpipeline/contracts"
)

// Publisher sends messages: commands to their queue, events to their SNS topic.
type Publisher interface {
	Publish(ctx context.Context, msgs ...contracts.Message) error
}

// PermanentError marks a failure that retrying cannot fix (bad input, a rejected API key, an
// unknown message version): the message goes to its DLQ at once instead of being retried.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so the delivery policy dead-letters the message without retries.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err (or anything it wraps) is permanent. Undecodable and
// unknown-type messages are permanent too.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p) || errors.Is(err, contracts.ErrUnknownType) || errors.Is(err, contracts.ErrUndecodable)
}
