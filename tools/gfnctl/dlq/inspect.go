package dlq

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// QueueInfo is one line of `dlq list`.
type QueueInfo struct {
	DLQ    string `json:"dlq"`
	Source string `json:"source"`
	Depth
	// Messages is ApproximateNumberOfMessages + NotVisible (+ Delayed).
	Messages int64 `json:"messages"`
	// OldestSentAt and OldestAgeSeconds come from the SentTimestamp of the visible messages
	// read (peeked, then handed back): SQS has no oldest-message attribute on standard queues
	// (CloudWatch's ApproximateAgeOfOldestMessage is the production source). AgeSampled says
	// how many messages were read; AgeExact is false when that was not all of them (more
	// than the sample size, or some in flight), so the true oldest may be older.
	OldestSentAt     *time.Time `json:"oldest_sent_at,omitempty"`
	OldestAgeSeconds float64    `json:"oldest_age_seconds"`
	AgeSampled       int        `json:"age_sampled"`
	AgeExact         bool       `json:"age_exact"`
}

// List reports every DLQ of the topology. sample bounds how many messages a DLQ's age is
// computed from (0: depth only, no message is read).
func (t *Tool) List(ctx context.Context, sample int, now time.Time) ([]QueueInfo, error) {
	var out []QueueInfo
	for _, q := range t.Topology.Queues {
		info := QueueInfo{DLQ: q.DLQ(), Source: q.Name}
		d, err := t.Depth(ctx, info.DLQ)
		if err != nil {
			return out, err
		}
		info.Depth, info.Messages = d, d.Total()
		if sample > 0 && d.Visible > 0 {
			err := t.browse(ctx, info.DLQ, func(m Message) bool {
				info.AgeSampled++
				if !m.SentAt.IsZero() && (info.OldestSentAt == nil || m.SentAt.Before(*info.OldestSentAt)) {
					at := m.SentAt
					info.OldestSentAt = &at
				}
				return info.AgeSampled < sample
			})
			if err != nil {
				return out, err
			}
			if info.OldestSentAt != nil {
				info.OldestAgeSeconds = now.Sub(*info.OldestSentAt).Seconds()
			}
		}
		info.AgeExact = int64(info.AgeSampled) == info.Messages
		out = append(out, info)
	}
	return out, nil
}

// Peek returns up to n messages matching f (n <= 0: all), without consuming any.
func (t *Tool) Peek(ctx context.Context, queue string, n int, f Filter) ([]Message, error) {
	var out []Message
	err := t.browse(ctx, t.Name(queue), func(m Message) bool {
		if f.Match(m.fields()) {
			out = append(out, m)
		}
		return n <= 0 || len(out) < n
	})
	return out, err
}

// ExportRecord is one JSONL line of `dlq export`.
type ExportRecord struct {
	MessageID    string            `json:"message_id"`
	Body         string            `json:"body"`
	Attributes   map[string]string `json:"attributes"`
	SentAt       time.Time         `json:"sent_at"`
	ReceiveCount int               `json:"receive_count"`
}

// Export writes every message matching f to w as JSON lines, without consuming any. It
// returns how many it wrote.
func (t *Tool) Export(ctx context.Context, queue string, f Filter, w io.Writer) (int, error) {
	enc := json.NewEncoder(w)
	n := 0
	var werr error
	err := t.browse(ctx, t.Name(queue), func(m Message) bool {
		if !f.Match(m.fields()) {
			return true
		}
		if werr = enc.Encode(ExportRecord{m.MessageID, m.Body, m.Attributes, m.SentAt, m.ReceiveCount}); werr != nil {
			return false
		}
		n++
		return true
	})
	if werr != nil {
		return n, fmt.Errorf("export %s: %w", queue, werr)
	}
	return n, err
}

// Purge deletes every message of a DLQ and returns how many there were. Only DLQs can be
// purged here: a source queue's messages are live work.
func (t *Tool) Purge(ctx context.Context, queue string) (int64, error) {
	name := t.Name(queue)
	if _, err := SourceOf(name); err != nil {
		return 0, err
	}
	url, err := t.url(ctx, name)
	if err != nil {
		return 0, err
	}
	d, err := t.depthURL(ctx, name, url)
	if err != nil {
		return 0, err
	}
	if _, err := t.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		return 0, fmt.Errorf("purge %s: %w", name, err)
	}
	return d.Total(), nil
}
