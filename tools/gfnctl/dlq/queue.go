// Package dlq inspects and redrives the pipeline's dead-letter queues: list depths and ages,
// peek and export messages without consuming them, redrive (natively with
// StartMessageMoveTask when the endpoint has it, else receive-send-delete that never loses a
// message), and purge.
package dlq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/messaging"
)

// ErrNotDLQ is returned when a command that only makes sense on a dead-letter queue is given
// another queue.
var ErrNotDLQ = errors.New("not a dead-letter queue")

// Tool runs DLQ operations on one topology's queues.
type Tool struct {
	SQS      *sqs.Client
	Topology contracts.Topology
	// HoldFor is how long messages read by peek, export, dry runs and filtered redrives stay
	// hidden from other readers before they are handed back (they are handed back as soon as
	// the command is done with them; this bounds a crash) [2 min].
	HoldFor time.Duration
	// PollWait is the long-poll wait of a receive, so an empty answer means an empty queue
	// rather than an unlucky short poll [1 s].
	PollWait time.Duration
}

func (t *Tool) holdSeconds() int32 {
	if t.HoldFor <= 0 {
		return 120
	}
	return int32(t.HoldFor / time.Second) //nolint:gosec // G115: an operator flag of seconds to minutes
}

func (t *Tool) pollWait() int32 {
	if t.PollWait <= 0 {
		return 1
	}
	return int32(t.PollWait / time.Second) //nolint:gosec // G115: an operator flag of seconds
}

// Name resolves a queue argument: a base name (gfn-validator-dlq) gets the topology's prefix
// (GFN_NAME_PREFIX); an already prefixed name is kept.
func (t *Tool) Name(arg string) string {
	if t.Topology.Prefix != "" && strings.HasPrefix(arg, t.Topology.Prefix) {
		return arg
	}
	return t.Topology.Name(arg)
}

// SourceOf is the queue a DLQ belongs to: its name without the -dlq suffix.
func SourceOf(dlq string) (string, error) {
	src, ok := strings.CutSuffix(dlq, contracts.DLQSuffix)
	if !ok || src == "" {
		return "", fmt.Errorf("%w: %s does not end in %s", ErrNotDLQ, dlq, contracts.DLQSuffix)
	}
	return src, nil
}

// Depth is a queue's approximate message counts.
type Depth struct {
	Visible  int64 `json:"visible"`
	InFlight int64 `json:"in_flight"`
	Delayed  int64 `json:"delayed"`
}

// Total is every message the queue holds.
func (d Depth) Total() int64 { return d.Visible + d.InFlight + d.Delayed }

func (t *Tool) url(ctx context.Context, name string) (string, error) {
	res, err := t.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("queue %s: %w", name, err)
	}
	return aws.ToString(res.QueueUrl), nil
}

func (t *Tool) arn(ctx context.Context, url string) (string, error) {
	res, err := t.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("arn of %s: %w", url, err)
	}
	return res.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}

// Depth reads a queue's approximate counts.
func (t *Tool) Depth(ctx context.Context, name string) (Depth, error) {
	url, err := t.url(ctx, name)
	if err != nil {
		return Depth{}, err
	}
	return t.depthURL(ctx, name, url)
}

func (t *Tool) depthURL(ctx context.Context, name, url string) (Depth, error) {
	res, err := t.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return Depth{}, fmt.Errorf("depth of %s: %w", name, err)
	}
	n := func(a sqstypes.QueueAttributeName) int64 {
		v, _ := strconv.ParseInt(res.Attributes[string(a)], 10, 64)
		return v
	}
	return Depth{
		Visible:  n(sqstypes.QueueAttributeNameApproximateNumberOfMessages),
		InFlight: n(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		Delayed:  n(sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed),
	}, nil
}

// Message is one DLQ message as peek and export show it.
type Message struct {
	MessageID    string            `json:"message_id"`
	Body         string            `json:"body"`
	Attributes   map[string]string `json:"attributes"`
	Error        string            `json:"error,omitempty"`
	SentAt       time.Time         `json:"sent_at"`
	ReceiveCount int               `json:"receive_count"`
	// OriginalID is the message id before the first redrive (the message id when never
	// redriven).
	OriginalID string `json:"original_id"`

	raw     sqstypes.Message
	receipt string
}

func fromSQS(m sqstypes.Message) Message {
	d := messaging.DecodeSQS("", m)
	out := Message{
		MessageID:    d.MessageID,
		Body:         string(d.Body),
		Attributes:   d.Attributes,
		Error:        d.Attributes[contracts.AttrError],
		SentAt:       d.SentAt,
		ReceiveCount: d.Attempt,
		raw:          m,
		receipt:      aws.ToString(m.ReceiptHandle),
	}
	out.OriginalID = out.Attributes[contracts.AttrRedriveOriginalID]
	if out.OriginalID == "" {
		out.OriginalID = out.MessageID
	}
	return out
}

func (m Message) fields() Fields {
	return Fields{MessageID: m.MessageID, Body: m.Body, Attributes: m.Attributes}
}

// receive reads up to n (<= 10) messages and hides them for hold seconds.
func (t *Tool) receive(ctx context.Context, url string, n int, hold int32) ([]Message, error) {
	res, err := t.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:              aws.String(url),
		MaxNumberOfMessages:   int32(min(max(n, 1), 10)),
		VisibilityTimeout:     hold,
		WaitTimeSeconds:       t.pollWait(),
		MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{
			sqstypes.MessageSystemAttributeNameSentTimestamp,
			sqstypes.MessageSystemAttributeNameApproximateReceiveCount,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", url, err)
	}
	out := make([]Message, len(res.Messages))
	for i, m := range res.Messages {
		out[i] = fromSQS(m)
	}
	return out, nil
}

// release hands messages back at once (visibility 0). It runs on a context of its own so an
// interrupted command still hands back what it holds.
func (t *Tool) release(url string, msgs []Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for start := 0; start < len(msgs); start += 10 {
		batch := msgs[start:min(start+10, len(msgs))]
		entries := make([]sqstypes.ChangeMessageVisibilityBatchRequestEntry, len(batch))
		for i, m := range batch {
			entries[i] = sqstypes.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.receipt), VisibilityTimeout: 0,
			}
		}
		res, err := t.SQS.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			errs = append(errs, fmt.Errorf("hand back %d messages on %s: %w", len(batch), url, err))
			continue
		}
		for _, f := range res.Failed {
			errs = append(errs, fmt.Errorf("hand back message on %s: %s %s", url, aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	return errors.Join(errs...)
}

// browse reads the queue without consuming it: every message read is held (hidden) until
// browse returns, so no message is read twice, then all are handed back. fn sees each
// message once and returns false to stop early.
func (t *Tool) browse(ctx context.Context, name string, fn func(Message) bool) (err error) {
	url, err := t.url(ctx, name)
	if err != nil {
		return err
	}
	var held []Message
	defer func() { err = errors.Join(err, t.release(url, held)) }()
	seen := map[string]bool{}
	for {
		msgs, err := t.receive(ctx, url, 10, t.holdSeconds())
		if err != nil {
			return err
		}
		held = append(held, msgs...)
		fresh := 0
		for _, m := range msgs {
			if seen[m.MessageID] {
				continue
			}
			seen[m.MessageID] = true
			fresh++
			if !fn(m) {
				return nil
			}
		}
		// Empty, or only messages seen before (their hold ran out): the queue is done.
		if fresh == 0 {
			return nil
		}
	}
}
