// Package dlqwatch alerts once per message that reaches a dead-letter queue, however it got
// there: dead-lettered by a consumer with its reason, or moved by the queue's redrive policy
// after a consumer crashed mid-message. Seen message ids are kept in the lake, so a restarted
// or second notifier does not alert again.
package dlqwatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/telemetry"
)

// Alert is one newly dead-lettered message.
type Alert struct {
	Queue     string `json:"queue"`
	MessageID string `json:"message_id"`
	// Key is the object a dead-lettered S3 notification names.
	Key     string    `json:"key,omitempty"`
	BatchID string    `json:"batch_id"`
	Type    string    `json:"type"`
	RunID   string    `json:"run_id"`
	Reason  string    `json:"reason"`
	SentAt  time.Time `json:"sent_at"`
}

// Watcher checks the dead-letter queues.
type Watcher struct {
	client *sqs.Client
	dlqs   []string
	store  lake.Store
	pub    messaging.Publisher
	// notify tells people (Slack); nil logs only.
	notify func(context.Context, Alert) error
	// maxPerQueue bounds how many messages one check reads from a queue.
	maxPerQueue int
}

// New returns a watcher of dlqs.
func New(client *sqs.Client, dlqs []string, store lake.Store, pub messaging.Publisher, notify func(context.Context, Alert) error) *Watcher {
	return &Watcher{client: client, dlqs: dlqs, store: store, pub: pub, notify: notify, maxPerQueue: 100}
}

// Run checks every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := w.Check(ctx); err != nil && ctx.Err() == nil {
			telemetry.Logger(ctx).Error("dlq watch", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Check alerts for every dead-lettered message not alerted before and returns the alerts.
func (w *Watcher) Check(ctx context.Context) ([]Alert, error) {
	urls, err := messaging.QueueURLs(ctx, w.client, w.dlqs...)
	if err != nil {
		return nil, err
	}
	var alerts []Alert
	for _, q := range w.dlqs {
		msgs, err := w.peek(ctx, urls[q])
		if err != nil {
			return alerts, fmt.Errorf("peek %s: %w", q, err)
		}
		for _, m := range msgs {
			a := alertOf(q, m)
			if a.Type == "" {
				w.runOfNotification(ctx, &a, m)
			}
			err := w.store.PutIfAbsent(ctx, lake.DLQAlertKey(q, a.MessageID), []byte(a.Reason), nil)
			if errors.Is(err, lake.ErrExists) {
				continue
			}
			if err != nil {
				return alerts, err
			}
			w.raise(ctx, a)
			alerts = append(alerts, a)
		}
	}
	return alerts, nil
}

// peek reads up to maxPerQueue messages and hands their visibility back at once, so the
// watch never hides a message from an operator or a redrive.
func (w *Watcher) peek(ctx context.Context, url string) ([]sqstypes.Message, error) {
	var out []sqstypes.Message
	seen := map[string]bool{}
	defer func() {
		for _, m := range out {
			if _, err := w.client.ChangeMessageVisibility(context.WithoutCancel(ctx), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
				// The message stays hidden until its 30 s visibility ends: say so.
				telemetry.Logger(ctx).Error("dlq watch: hand back visibility", "queue", url, "message_id", aws.ToString(m.MessageId), "error", err.Error())
			}
		}
	}()
	for len(out) < w.maxPerQueue {
		res, err := w.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 30,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameSentTimestamp},
		})
		if err != nil {
			return out, err
		}
		fresh := 0
		for _, m := range res.Messages {
			if id := aws.ToString(m.MessageId); !seen[id] {
				seen[id] = true
				out = append(out, m)
				fresh++
			}
		}
		if fresh == 0 {
			return out, nil
		}
	}
	return out, nil
}

// Text is the one-line alert a person reads.
func Text(a Alert) string {
	return fmt.Sprintf(":rotating_light: %s: message %s (%s, run %s, batch %s) dead-lettered: %s", a.Queue, a.MessageID, a.Type, a.RunID, a.BatchID, a.Reason)
}

func alertOf(queue string, m sqstypes.Message) Alert {
	d := messaging.DecodeSQS(queue, m)
	f := messaging.FailureOf(queue, d, d.Attributes[contracts.AttrError])
	a := Alert{Queue: queue, MessageID: d.MessageID, Type: f.Type, RunID: f.RunID, BatchID: f.BatchID, Reason: f.Reason, SentAt: d.SentAt}
	if a.Reason == "" {
		a.Reason = "moved by the queue's redrive policy (no reason recorded: the consumer stopped mid-message)"
	}
	return a
}

// runOfNotification fills in the run of a dead-lettered S3 notification, which carries no
// envelope: the object's run metadata (set by the stage that wrote it), and the batch in its
// key when the object is gone. S3 sends one record per notification.
func (w *Watcher) runOfNotification(ctx context.Context, a *Alert, m sqstypes.Message) {
	objs, err := messaging.ParseS3Event([]byte(aws.ToString(m.Body)))
	if err != nil || len(objs) == 0 {
		return
	}
	a.Key = objs[0].Key
	obj, err := w.store.Head(ctx, a.Key)
	if err != nil {
		telemetry.Logger(ctx).Warn("dead-lettered notification: object unreadable, its run unknown", "key", a.Key, "error", err.Error())
	} else {
		a.RunID, a.BatchID = obj.Metadata[lake.MetaRunID], obj.Metadata[lake.MetaBatchID]
	}
	if a.BatchID == "" {
		a.BatchID = lake.BatchOfKey(a.Key)
	}
}

// raise logs the alert, tells people, and fails the message's run.
func (w *Watcher) raise(ctx context.Context, a Alert) {
	log := telemetry.Logger(ctx).With("queue", a.Queue, "message_id", a.MessageID, "run_id", a.RunID, "batch_id", a.BatchID, "type", a.Type)
	if a.Key != "" {
		log = log.With("key", a.Key)
	}
	log.Error("message dead-lettered", "reason", a.Reason)
	if w.notify != nil {
		if err := w.notify(ctx, a); err != nil {
			log.Error("dlq alert not delivered", "error", err.Error())
		}
	}
	// The run fails as the delivery policy fails it (the failure clears when the batch is
	// redriven and loads); a message the policy dead-lettered was announced already, and
	// the ledger records the second announcement once.
	f := messaging.Failure{Stage: strings.TrimSuffix(a.Queue, contracts.DLQSuffix), Type: a.Type, RunID: a.RunID, BatchID: a.BatchID, Reason: a.Reason}
	if _, err := messaging.PublishBatchFailed(ctx, w.pub, f); err != nil {
		log.Error("announce failure", "error", err.Error())
	}
}
