package messaging_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/messaging"
)

// poll runs RunSQS until the returned stop is called; stop reports how long RunSQS took to
// return after it.
func poll(t *testing.T, opts messaging.SQSOptions, c messaging.Consumer) (stop func() time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- messaging.RunSQS(ctx, awstest.Config(t), quiet, opts, c) }()
	var once sync.Once
	var took time.Duration
	stop = func() time.Duration {
		once.Do(func() {
			begin := time.Now()
			cancel()
			if err := <-done; err != nil {
				t.Errorf("RunSQS: %v", err)
			}
			took = time.Since(begin)
		})
		return took
	}
	t.Cleanup(func() { stop() })
	return stop
}

func (f fixture) setVisibility(t *testing.T, queue string, seconds int) {
	t.Helper()
	_, err := f.client.SetQueueAttributes(context.Background(), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(f.urls[queue]),
		Attributes: map[string]string{string(sqstypes.QueueAttributeNameVisibilityTimeout): strconv.Itoa(seconds)}})
	if err != nil {
		t.Fatal(err)
	}
}

func (f fixture) send(t *testing.T, year int) {
	t.Helper()
	if err := f.pub.Publish(context.Background(), &contracts.RawBatchLanded{Header: contracts.Header{RunID: "run-p", BatchID: "b"}, Year: year}); err != nil {
		t.Fatal(err)
	}
}

// A handler that outlasts the queue's visibility keeps its message: the heartbeat extends it,
// so a second worker never receives it.
func TestHeartbeatKeepsALongHandlersMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	queue := f.top.Name(contracts.QueueValidator)
	f.setVisibility(t, queue, 3)
	var calls atomic.Int32
	c := messaging.Messages(queue, messaging.On(func(ctx context.Context, m *contracts.RawBatchLanded) error {
		calls.Add(1)
		time.Sleep(8 * time.Second)
		return nil
	}))
	stop := poll(t, messaging.SQSOptions{Concurrency: 2, WaitTimeSeconds: 1}, c)
	f.send(t, 2001)
	deadline := time.Now().Add(30 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(10 * time.Second)
	stop()
	if n := calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1 (visibility lapsed while it worked)", n)
	}
	if left := f.drain(t, queue); len(left) != 0 {
		t.Fatalf("%d messages left: the handled one was not deleted", len(left))
	}
}

// Stopping lets a handler in flight finish within the drain deadline; the message is deleted.
func TestStopDrainsAHandlerInFlight(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	queue := f.top.Name(contracts.QueueValidator)
	started, finished := make(chan struct{}), make(chan struct{})
	c := messaging.Messages(queue, messaging.On(func(ctx context.Context, m *contracts.RawBatchLanded) error {
		close(started)
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
		close(finished)
		return nil
	}))
	stop := poll(t, messaging.SQSOptions{WaitTimeSeconds: 1, DrainTimeout: 10 * time.Second}, c)
	f.send(t, 2002)
	<-started
	stop()
	select {
	case <-finished:
	default:
		t.Fatal("the handler was cut short although the drain deadline had not passed")
	}
	if left := f.drain(t, queue); len(left) != 0 {
		t.Fatalf("%d messages left after a finished drain", len(left))
	}
}

// A handler still running at the drain deadline is stopped and its message handed back at
// once (visibility 0), neither retried with backoff nor dead-lettered; a message sent after
// the stop is never received.
func TestDrainDeadlineHandsBackTheRest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	queue := f.top.Name(contracts.QueueValidator)
	started := make(chan struct{})
	c := messaging.Messages(queue, messaging.On(func(ctx context.Context, m *contracts.RawBatchLanded) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}))
	stop := poll(t, messaging.SQSOptions{WaitTimeSeconds: 1, DrainTimeout: time.Second}, c)
	f.send(t, 2003)
	<-started
	if took := stop(); took > 5*time.Second {
		t.Fatalf("stopping took %v with a 1 s drain deadline", took)
	}
	f.send(t, 2004)
	// The handed-back message is visible now, not after the 30 s visibility timeout.
	res, err := f.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.urls[queue]),
		MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]string{}
	for _, m := range res.Messages {
		counts[aws.ToString(m.Body)] = m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]
	}
	if len(res.Messages) != 2 {
		t.Fatalf("visible after stop: %v, want the handed-back message and the unreceived one", counts)
	}
	for body, n := range counts {
		want := "1"
		if strings.Contains(body, `"year":2003`) {
			want = "2" // the poller's receive, then ours
		}
		if n != want {
			t.Errorf("%s: receive count %s, want %s", body, n, want)
		}
	}
	if dead := f.drain(t, queue+contracts.DLQSuffix); len(dead) != 0 {
		t.Fatalf("a stopped handler's message was dead-lettered")
	}
}

func TestBackoffNeverExceedsSQSLimit(t *testing.T) {
	t.Parallel()
	for attempt, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		16: 32768 * time.Second, 17: messaging.MaxVisibility, 64: messaging.MaxVisibility, 1 << 30: messaging.MaxVisibility} {
		if got := messaging.Backoff(attempt); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
}
