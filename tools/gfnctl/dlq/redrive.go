package dlq

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/gfnpipeline/contracts"
)

// Redrive methods.
const (
	MethodAuto   = "auto"   // native when the options allow it and the endpoint has it, else copy
	MethodNative = "native" // StartMessageMoveTask only
	MethodCopy   = "copy"   // receive, send, then delete what was sent
)

// MaxAttributes is SQS's limit of message attributes per message.
const MaxAttributes = 10

var (
	// ErrNativeUnsupported: the endpoint has no StartMessageMoveTask (moto answers 500).
	ErrNativeUnsupported = errors.New("StartMessageMoveTask is not supported by this endpoint")
	// ErrNoMoveTask: --cancel found no running move task on the DLQ.
	ErrNoMoveTask = errors.New("no running message move task")
	// ErrMoveTask: a native move task ended FAILED or CANCELLED.
	ErrMoveTask = errors.New("message move task did not complete")
	// ErrTooManyAttributes: the redriven message would carry more than SQS's ten attributes.
	ErrTooManyAttributes = errors.New("too many message attributes")
)

// RedriveOptions configure Redrive.
type RedriveOptions struct {
	// To is "source" (or "": the DLQ's own queue) or another queue's name.
	To     string
	Filter Filter
	// Max stops after this many messages moved (0: all).
	Max int
	// Rate limits messages moved per second (0: unlimited).
	Rate float64
	// DryRun lists what would move and changes nothing.
	DryRun bool
	// Method is MethodAuto (default), MethodNative or MethodCopy.
	Method string
	// Progress, when set, is called once per batch (copy) or poll (native), for each
	// message a dry run would move, and when auto falls back from native to copy.
	Progress func(Progress)
	// NativePoll is how often a native task's progress is read [1 s].
	NativePoll time.Duration
	// Watch (copy) keeps reading the DLQ this long after the last move to report the moved
	// messages that came back (dead-lettered again); they are not moved twice.
	Watch time.Duration
}

// Candidate is a message a dry run would move.
type Candidate struct {
	MessageID  string `json:"message_id"`
	OriginalID string `json:"original_id"`
	EventType  string `json:"event_type,omitempty"`
	RunID      string `json:"run_id,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Progress is one step of a redrive; counts are totals so far.
type Progress struct {
	Event       string     `json:"event"` // batch, native, would_move, fallback
	DLQ         string     `json:"dlq"`
	Destination string     `json:"destination"`
	Method      string     `json:"method"`
	Moved       int        `json:"moved"`
	Skipped     int        `json:"skipped"`
	Failed      int        `json:"failed"`
	Total       int64      `json:"total"` // messages expected to move (DLQ depth at start, capped by Max)
	Message     *Candidate `json:"message,omitempty"`
	Note        string     `json:"note,omitempty"`
}

// Result is a redrive's summary.
type Result struct {
	DLQ         string `json:"dlq"`
	Destination string `json:"destination"`
	Method      string `json:"method"`
	DryRun      bool   `json:"dry_run"`
	Moved       int    `json:"moved"`
	WouldMove   int    `json:"would_move,omitempty"`
	// Skipped did not match the filter; Failed could not be sent. Both stay in the DLQ.
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
	// DeleteFailed were sent but not deleted from the DLQ: a later redrive sends them again
	// (a duplicate the idempotent consumers absorb, never a loss).
	DeleteFailed int `json:"delete_failed"`
	// InFlightLeft are DLQ messages another reader held while this redrive ran (e.g. one
	// that was killed): they reappear after their visibility timeout; run redrive again.
	InFlightLeft int64 `json:"in_flight_left"`
	// CameBack counts moved messages that were dead-lettered again while the redrive ran
	// (poison messages); Arrived, other messages that reached the DLQ meanwhile. Neither is
	// moved: a redrive moves only what the DLQ held when it started, each at most once.
	CameBack   int      `json:"came_back"`
	Arrived    int      `json:"arrived"`
	Returned   []string `json:"came_back_ids,omitempty"`
	TaskHandle string   `json:"task_handle,omitempty"`
	Seconds    float64  `json:"seconds"`
}

// Redrive moves messages from a DLQ back to its source queue (or opts.To).
func (t *Tool) Redrive(ctx context.Context, dlq string, opts RedriveOptions) (Result, error) {
	start := time.Now()
	res := Result{DLQ: t.Name(dlq), DryRun: opts.DryRun}
	if opts.Method == "" {
		opts.Method = MethodAuto
	}
	if opts.Method != MethodAuto && opts.Method != MethodNative && opts.Method != MethodCopy {
		return res, fmt.Errorf("redrive method %q: want %s, %s or %s", opts.Method, MethodAuto, MethodNative, MethodCopy)
	}
	toSource := opts.To == "" || opts.To == "source"
	if toSource {
		src, err := SourceOf(res.DLQ)
		if err != nil {
			return res, err
		}
		res.Destination = src
	} else {
		res.Destination = t.Name(opts.To)
	}
	if res.Destination == res.DLQ {
		return res, fmt.Errorf("redrive %s: destination is the DLQ itself", res.DLQ)
	}
	dlqURL, err := t.url(ctx, res.DLQ)
	if err != nil {
		return res, err
	}
	dstURL, err := t.url(ctx, res.Destination)
	if err != nil {
		return res, err
	}
	depth, err := t.depthURL(ctx, res.DLQ, dlqURL)
	if err != nil {
		return res, err
	}
	total := depth.Visible
	if opts.Max > 0 && int64(opts.Max) < total {
		total = int64(opts.Max)
	}
	// SQS's own mover can do a whole-queue move; filters, --max and dry runs need ours.
	nativeOK := opts.Filter.Empty() && opts.Max == 0 && !opts.DryRun
	if opts.Method == MethodNative && !nativeOK {
		return res, fmt.Errorf("redrive %s: --method native cannot apply --filter, --max or --dry-run", res.DLQ)
	}
	if opts.Method != MethodCopy && nativeOK {
		res.Method = MethodNative
		err := t.native(ctx, dlqURL, dstURL, opts, total, &res)
		if err == nil || opts.Method == MethodNative || !errors.Is(err, ErrNativeUnsupported) {
			res.Seconds = time.Since(start).Seconds()
			return res, err
		}
		opts.report(Progress{Event: "fallback", DLQ: res.DLQ, Destination: res.Destination, Method: MethodCopy, Total: total, Note: err.Error()})
	}
	res.Method = MethodCopy
	err = t.copyRedrive(ctx, dlqURL, dstURL, opts, total, &res)
	if d, derr := t.depthURL(context.WithoutCancel(ctx), res.DLQ, dlqURL); derr == nil {
		res.InFlightLeft = d.InFlight
	}
	res.Seconds = time.Since(start).Seconds()
	return res, err
}

func (o RedriveOptions) report(p Progress) {
	if o.Progress != nil {
		o.Progress(p)
	}
}

// native runs StartMessageMoveTask and follows it with ListMessageMoveTasks.
func (t *Tool) native(ctx context.Context, dlqURL, dstURL string, opts RedriveOptions, total int64, res *Result) error {
	srcARN, err := t.arn(ctx, dlqURL)
	if err != nil {
		return err
	}
	dstARN, err := t.arn(ctx, dstURL)
	if err != nil {
		return err
	}
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(srcARN), DestinationArn: aws.String(dstARN)}
	if opts.Rate >= 1 {
		in.MaxNumberOfMessagesPerSecond = aws.Int32(int32(min(opts.Rate, 500)))
	}
	// No SDK retries: an endpoint without the API (moto: 500 "not implemented") must fall
	// back at once, not after three backed-off attempts.
	out, err := t.SQS.StartMessageMoveTask(ctx, in, func(o *sqs.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		if unsupported(err) {
			return fmt.Errorf("%w: %w", ErrNativeUnsupported, err)
		}
		return fmt.Errorf("start message move task on %s: %w", res.DLQ, err)
	}
	res.TaskHandle = aws.ToString(out.TaskHandle)
	poll := opts.NativePoll
	if poll <= 0 {
		poll = time.Second
	}
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped following move task %s (it keeps running; `gfnctl dlq redrive %s --cancel` stops it): %w", res.TaskHandle, res.DLQ, ctx.Err())
		case <-time.After(poll):
		}
		list, err := t.SQS.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(srcARN), MaxResults: aws.Int32(1)})
		if err != nil {
			return fmt.Errorf("list message move tasks of %s: %w", res.DLQ, err)
		}
		if len(list.Results) == 0 {
			continue
		}
		task := list.Results[0]
		res.Moved = int(task.ApproximateNumberOfMessagesMoved)
		if task.ApproximateNumberOfMessagesToMove != nil {
			total = *task.ApproximateNumberOfMessagesToMove
		}
		status := aws.ToString(task.Status)
		opts.report(Progress{Event: "native", DLQ: res.DLQ, Destination: res.Destination, Method: MethodNative, Moved: res.Moved, Total: total, Note: status})
		switch status {
		case "RUNNING", "CANCELLING":
			continue
		case "COMPLETED":
			return nil
		default:
			return fmt.Errorf("%w: %s on %s: %s", ErrMoveTask, status, res.DLQ, aws.ToString(task.FailureReason))
		}
	}
}

// unsupported tells an endpoint lacking the API from a refusal worth reporting: moto answers
// 500, others 501 or an unknown-operation code. A real SQS 5xx also lands here, and the copy
// fallback is as safe.
func unsupported(err error) bool {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && (re.HTTPStatusCode() >= http.StatusInternalServerError) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch c := api.ErrorCode(); {
		case strings.Contains(c, "NotImplemented"), strings.Contains(c, "Unsupported"),
			strings.Contains(c, "InvalidAction"), strings.Contains(c, "UnknownOperation"):
			return true
		}
	}
	return false
}

// Cancel stops the DLQ's running native move task.
func (t *Tool) Cancel(ctx context.Context, dlq string) (string, error) {
	name := t.Name(dlq)
	url, err := t.url(ctx, name)
	if err != nil {
		return "", err
	}
	arn, err := t.arn(ctx, url)
	if err != nil {
		return "", err
	}
	list, err := t.SQS.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(arn)}, func(o *sqs.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		if unsupported(err) {
			return "", fmt.Errorf("%w: %w", ErrNativeUnsupported, err)
		}
		return "", fmt.Errorf("list message move tasks of %s: %w", name, err)
	}
	for _, task := range list.Results {
		if aws.ToString(task.Status) != "RUNNING" || task.TaskHandle == nil {
			continue
		}
		if _, err := t.SQS.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: task.TaskHandle}); err != nil {
			return "", fmt.Errorf("cancel move task on %s: %w", name, err)
		}
		return aws.ToString(task.TaskHandle), nil
	}
	return "", fmt.Errorf("%w on %s", ErrNoMoveTask, name)
}

// copyRedrive receives, sends to the destination, and deletes from the DLQ only what was
// sent: a crash between the send and the delete duplicates a message, never loses one.
// Messages it does not move (filtered out, failed, dry run) are held until it ends so each
// is read once, then handed back.
func (t *Tool) copyRedrive(ctx context.Context, dlqURL, dstURL string, opts RedriveOptions, total int64, res *Result) (err error) {
	var held []Message
	defer func() { err = errors.Join(err, t.release(dlqURL, held)) }()
	batch := 10
	var limiter *rate.Limiter
	if opts.Rate > 0 {
		batch = max(1, min(10, int(opts.Rate)))
		limiter = rate.NewLimiter(rate.Limit(opts.Rate), batch)
	}
	// A message seen before is one whose hold ran out while this redrive ran: it is held
	// again, and a receive with nothing new ends the redrive (after opts.Watch, once
	// something moved). A message sent to the DLQ after the start was not there when the
	// redrive began: a moved one dead-lettered again (same body) or a new failure. Neither is
	// moved, so a poison message cannot cycle.
	seen := map[string]bool{}
	started := time.Now()
	moved := map[[sha256.Size]byte]bool{}
	var lastMove time.Time
	step := func() Progress {
		return Progress{Event: "batch", DLQ: res.DLQ, Destination: res.Destination, Method: MethodCopy,
			Moved: res.Moved, Skipped: res.Skipped, Failed: res.Failed, Total: total}
	}
	for opts.Max == 0 || res.Moved+res.WouldMove < opts.Max {
		n := batch
		if opts.Max > 0 {
			n = min(n, opts.Max-res.Moved-res.WouldMove)
		}
		msgs, err := t.receive(ctx, dlqURL, n, t.holdSeconds())
		if err != nil {
			return err
		}
		var move []Message
		fresh := 0
		for _, m := range msgs {
			if seen[m.MessageID] {
				held = append(held, m) // its earlier hold ran out; hold it again
				continue
			}
			seen[m.MessageID] = true
			fresh++
			if !m.SentAt.IsZero() && !m.SentAt.Before(started) {
				held = append(held, m)
				if moved[sha256.Sum256([]byte(m.Body))] {
					res.CameBack++
					res.Returned = append(res.Returned, m.MessageID)
				} else {
					res.Arrived++
				}
				continue
			}
			switch {
			case !opts.Filter.Match(m.fields()):
				res.Skipped++
				held = append(held, m)
			case opts.DryRun:
				res.WouldMove++
				held = append(held, m)
				opts.report(Progress{Event: "would_move", DLQ: res.DLQ, Destination: res.Destination, Method: MethodCopy, Total: total,
					Message: &Candidate{MessageID: m.MessageID, OriginalID: m.OriginalID, EventType: m.Attributes[contracts.AttrEventType],
						RunID: m.Attributes[contracts.AttrRunID], Error: m.Error}})
			default:
				move = append(move, m)
			}
		}
		if fresh == 0 {
			if lastMove.IsZero() || time.Since(lastMove) >= opts.Watch {
				return nil
			}
			continue
		}
		if len(move) > 0 {
			if limiter != nil {
				if err := limiter.WaitN(ctx, len(move)); err != nil {
					held = append(held, move...)
					return fmt.Errorf("redrive %s: %w", res.DLQ, err)
				}
			}
			sent, failed, err := t.send(ctx, dstURL, move)
			if err != nil {
				held = append(held, move...)
				return fmt.Errorf("redrive %s to %s: %w", res.DLQ, res.Destination, err)
			}
			held = append(held, failed...)
			res.Failed += len(failed)
			for _, m := range sent {
				moved[sha256.Sum256([]byte(m.Body))] = true
			}
			lastMove = time.Now()
			notDeleted, err := t.delete(ctx, dlqURL, sent)
			res.Moved += len(sent)
			res.DeleteFailed += notDeleted
			if err != nil {
				return fmt.Errorf("redrive %s: %d messages sent to %s but not deleted (a rerun sends them again): %w", res.DLQ, len(sent), res.Destination, err)
			}
		}
		opts.report(step())
	}
	return nil
}

// redriveAttributes keeps the message's attributes minus the dead-letter reason and adds the
// redrive marks (the first redrive's original id survives later redrives).
func redriveAttributes(m Message) (map[string]sqstypes.MessageAttributeValue, error) {
	out := make(map[string]sqstypes.MessageAttributeValue, len(m.raw.MessageAttributes)+2)
	for k, v := range m.raw.MessageAttributes {
		if k != contracts.AttrError {
			out[k] = v
		}
	}
	if _, ok := out[contracts.AttrRedriveOriginalID]; !ok {
		out[contracts.AttrRedriveOriginalID] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.MessageID)}
	}
	out[contracts.AttrRedriveReceiveCount] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(strconv.Itoa(m.ReceiveCount))}
	if len(out) > MaxAttributes {
		return nil, fmt.Errorf("%w: message %s would carry %d (SQS allows %d)", ErrTooManyAttributes, m.MessageID, len(out), MaxAttributes)
	}
	return out, nil
}

// send sends msgs in one batch and splits them into sent and failed. err is for a call that
// failed as a whole (nothing known to be sent).
func (t *Tool) send(ctx context.Context, url string, msgs []Message) (sent, failed []Message, err error) {
	entries := make([]sqstypes.SendMessageBatchRequestEntry, 0, len(msgs))
	byID := map[string]Message{}
	for i, m := range msgs {
		attrs, aerr := redriveAttributes(m)
		if aerr != nil {
			failed = append(failed, m)
			continue
		}
		id := strconv.Itoa(i)
		byID[id] = m
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(m.Body), MessageAttributes: attrs})
	}
	if len(entries) == 0 {
		return nil, failed, nil
	}
	out, err := t.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		return nil, failed, fmt.Errorf("send batch: %w", err)
	}
	for _, s := range out.Successful {
		sent = append(sent, byID[aws.ToString(s.Id)])
	}
	for _, f := range out.Failed {
		failed = append(failed, byID[aws.ToString(f.Id)])
	}
	return sent, failed, nil
}

// delete removes sent messages from the DLQ and counts the ones it could not.
func (t *Tool) delete(ctx context.Context, url string, msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.receipt)}
	}
	// The messages are already at the destination: finish deleting even when interrupted.
	out, err := t.SQS.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		return len(msgs), fmt.Errorf("delete batch: %w", err)
	}
	return len(out.Failed), nil
}
