// Package messagingtest holds test doubles for the messaging package.
package messagingtest

import (
	"context"
	"sync"

	"github.com/gfnpipeline/contracts"
)

// Recorder is a Publisher that keeps what it is given, for handler tests.
type Recorder struct {
	mu       sync.Mutex
	msgs     []contracts.Message
	failNext int
	err      error
}

// Publish records msgs, or fails while FailNext says so (recording nothing).
func (r *Recorder) Publish(_ context.Context, msgs ...contracts.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failNext != 0 {
		if r.failNext > 0 {
			r.failNext--
		}
		return r.err
	}
	r.msgs = append(r.msgs, msgs...)
	return nil
}

// FailNext makes the next n calls return err; n < 0 fails every call until reset with 0.
func (r *Recorder) FailNext(n int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failNext, r.err = n, err
}

// Messages returns everything published so far.
func (r *Recorder) Messages() []contracts.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]contracts.Message(nil), r.msgs...)
}

// Take returns everything published so far and forgets it.
func (r *Recorder) Take() []contracts.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.msgs
	r.msgs = nil
	return out
}
