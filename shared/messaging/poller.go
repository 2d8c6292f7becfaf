package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/telemetry"
)

// DefaultDrainTimeout is how long a stopping poller lets in-flight messages finish.
const DefaultDrainTimeout = 25 * time.Second

// callTimeout bounds every SQS call the poller makes besides the long poll.
const callTimeout = 10 * time.Second

// SQSOptions tunes the poller.
type SQSOptions struct {
	// Concurrency is how many messages of each queue are handled at once.
	Concurrency int
	// WaitTimeSeconds is the long-poll wait (max 20).
	WaitTimeSeconds int32
	// DrainTimeout bounds, once ctx ends, how long in-flight messages may take to finish;
	// what is still unfinished then is handed back (visibility 0). Default 25 s.
	DrainTimeout time.Duration
	Policy       Policy
	// Middleware, when set, wraps every handler call as a watermill handler middleware
	// (watermill's Prometheus metrics component).
	Middleware message.HandlerMiddleware
}

// RunSQS consumes the consumers' queues until ctx ends, then drains.
//
// Each worker receives one message at a time and, while its handler works, extends the
// message's visibility every third of the queue's visibility timeout (the heartbeat), so the
// queue's base visibility stays short and a crashed consumer's message returns within it.
// When ctx ends no new receive starts; a long poll already in flight is not cancelled (a
// message the server hands to a cancelled poll would be hidden and its receive count spent
// for nothing) and what it returns is handled. Handlers keep their context until the drain
// deadline; then it is cancelled and every unfinished message is handed back at once.
//
// It is our own loop rather than watermill-aws v1.0.1's subscriber, which cancels handlers
// and long polls on Close and offers no receipt handle for backoff or heartbeats.
func RunSQS(ctx context.Context, cfg aws.Config, logger *slog.Logger, opts SQSOptions, consumers ...Consumer) error {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.WaitTimeSeconds == 0 {
		opts.WaitTimeSeconds = 20
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = DefaultDrainTimeout
	}
	client := sqs.NewFromConfig(cfg)
	var names []string
	for _, c := range consumers {
		names = append(names, c.Queue, c.Queue+contracts.DLQSuffix)
	}
	urls, err := QueueURLs(ctx, client, names...)
	if err != nil {
		return err
	}
	workers := make([]*worker, len(consumers))
	for i, c := range consumers {
		vis, err := queueVisibility(ctx, client, urls[c.Queue])
		if err != nil {
			return err
		}
		workers[i] = &worker{client: client, logger: logger, opts: opts, consumer: c, url: urls[c.Queue],
			dlqURL: urls[c.Queue+contracts.DLQSuffix], visibility: vis}
	}
	// Handlers and polls outlive ctx until the drain deadline.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	for _, w := range workers {
		for range opts.Concurrency {
			wg.Add(1)
			go func() { defer wg.Done(); w.run(ctx, work) }()
		}
	}
	logger.Info("consuming", "queues", queueNames(consumers), "concurrency", opts.Concurrency)
	<-ctx.Done()
	logger.Info("draining", "deadline", opts.DrainTimeout.String())
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		logger.Info("drained")
		return nil
	case <-time.After(opts.DrainTimeout):
	}
	stopWork()
	// Handlers see their context end and hand their messages back; one that ignores it leaves
	// its message to return after the visibility timeout.
	select {
	case <-done:
		logger.Warn("drain deadline passed; unfinished messages handed back")
	case <-time.After(callTimeout):
		logger.Error("drain deadline passed; handlers did not stop")
	}
	return nil
}

// queueVisibility reads the queue's visibility timeout: the heartbeat extends by it.
func queueVisibility(ctx context.Context, client *sqs.Client, url string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameVisibilityTimeout}})
	if err != nil {
		return 0, fmt.Errorf("visibility timeout of %s: %w", url, err)
	}
	secs, err := strconv.Atoi(res.Attributes[string(sqstypes.QueueAttributeNameVisibilityTimeout)])
	if err != nil || secs < 3 {
		return 0, fmt.Errorf("visibility timeout of %s is %q: want at least 3 s", url, res.Attributes[string(sqstypes.QueueAttributeNameVisibilityTimeout)])
	}
	return time.Duration(secs) * time.Second, nil
}

type worker struct {
	client     *sqs.Client
	logger     *slog.Logger
	opts       SQSOptions
	consumer   Consumer
	url        string
	dlqURL     string
	visibility time.Duration
}

// run receives until stop ends; work is the handlers' context.
func (w *worker) run(stop, work context.Context) {
	for stop.Err() == nil {
		msgs, err := w.receive(work)
		if err != nil {
			if work.Err() != nil {
				return
			}
			w.logger.Error("receive", "queue", w.consumer.Queue, "error", err.Error())
			select {
			case <-stop.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, m := range msgs {
			w.handle(work, m)
		}
	}
}

func (w *worker) receive(ctx context.Context) ([]sqstypes.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(w.opts.WaitTimeSeconds)*time.Second+callTimeout)
	defer cancel()
	res, err := w.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(w.url),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		WaitTimeSeconds:             w.opts.WaitTimeSeconds,
		// One at a time: a worker holds only what it is working on, so a stopping poller has
		// nothing received that it has not started.
		MaxNumberOfMessages: 1,
	})
	if err != nil {
		return nil, err
	}
	return res.Messages, nil
}

// handle runs the policy on one message with a heartbeat, then deletes it (settled), leaves
// it to the settler's backoff (failed), or hands it back (stopped by the drain deadline).
func (w *worker) handle(work context.Context, m sqstypes.Message) {
	d := DecodeSQS(w.consumer.Queue, m)
	receipt := aws.ToString(m.ReceiptHandle)
	log := w.logger.With("queue", w.consumer.Queue, "message_id", d.MessageID, "attempt", d.Attempt)
	log.Debug("received", "run_id", d.Attributes[contracts.AttrRunID], "type", d.Attributes[contracts.AttrType])
	// The heartbeat lives while the handler works, not while the policy settles: a beat after
	// a backoff's ChangeMessageVisibility would undo it.
	c := w.consumer
	handle := withMiddleware(w.opts.Middleware, w.consumer.Handle)
	c.Handle = func(ctx context.Context, d Delivery) error {
		hbCtx, stopHB := context.WithCancel(ctx)
		hbDone := make(chan struct{})
		go func() { defer close(hbDone); w.heartbeat(hbCtx, receipt, log) }()
		defer func() { stopHB(); <-hbDone }()
		return handle(ctx, d)
	}
	s := sqsSettler{client: w.client, queueURL: w.url, dlqURL: w.dlqURL, receipt: receipt}
	begin := time.Now()
	settled := w.opts.Policy.Process(telemetry.WithLogger(work, w.logger), c, d, s)
	defer func() { log.Debug("done", "settled", settled, "ms", time.Since(begin).Milliseconds()) }()
	// The settling calls must go through even when the drain deadline has passed.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(work), callTimeout)
	defer cancel()
	switch {
	case settled:
		if _, err := w.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.url), ReceiptHandle: aws.String(receipt)}); err != nil {
			log.Error("delete handled message; it will be delivered again", "error", err.Error())
		}
	case work.Err() != nil:
		if err := w.changeVisibility(ctx, receipt, 0); err != nil {
			log.Error("hand back unfinished message; it returns after its visibility timeout", "error", err.Error())
			return
		}
		log.Warn("drain deadline passed; message handed back")
	}
}

// withMiddleware runs h as a watermill handler under mw: the delivery becomes a watermill
// message carrying the handler's context, so router middlewares work on our own loop.
func withMiddleware(mw message.HandlerMiddleware, h func(context.Context, Delivery) error) func(context.Context, Delivery) error {
	if mw == nil {
		return h
	}
	return func(ctx context.Context, d Delivery) error {
		msg := message.NewMessage(d.MessageID, d.Body)
		msg.SetContext(ctx)
		_, err := mw(func(m *message.Message) ([]*message.Message, error) {
			return nil, h(m.Context(), d)
		})(msg)
		return err
	}
}

// heartbeat keeps the message hidden while its handler works.
func (w *worker) heartbeat(ctx context.Context, receipt string, log *slog.Logger) {
	t := time.NewTicker(w.visibility / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err := w.changeVisibility(cctx, receipt, w.visibility)
		cancel()
		if err != nil && ctx.Err() == nil {
			log.Warn("heartbeat: visibility not extended", "error", err.Error())
		}
	}
}

func (w *worker) changeVisibility(ctx context.Context, receipt string, d time.Duration) error {
	_, err := w.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(w.url), ReceiptHandle: aws.String(receipt), VisibilityTimeout: visibilitySeconds(d)})
	return err
}

func queueNames(cs []Consumer) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Queue
	}
	return out
}
