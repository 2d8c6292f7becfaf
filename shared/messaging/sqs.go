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
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
)

// AWSPublisher publishes commands to SQS and events to SNS, batched ten to a call, with the
// caller's context (a handler's publishes end with it). It never creates topics or queues:
// infrastructure owns them. It calls the SDK itself: watermill-aws v1.0.1's publishers send
// with context.Background().
type AWSPublisher struct {
	source   string
	topology contracts.Topology
	sns      *sns.Client
	sqs      *sqs.Client
	topics   *topicResolver
	queues   *queueResolver
}

// NewAWSPublisher builds a publisher for service `source`.
func NewAWSPublisher(cfg aws.Config, topology contracts.Topology, source string, logger *slog.Logger) (*AWSPublisher, error) {
	snsClient, sqsClient := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	return &AWSPublisher{source: source, topology: topology, sns: snsClient, sqs: sqsClient,
		topics: &topicResolver{client: snsClient}, queues: &queueResolver{client: sqsClient}}, nil
}

// maxBatch is SNS PublishBatch's and SQS SendMessageBatch's limit.
const maxBatch = 10

// Publish sends msgs grouped by destination, in order of first appearance, ten to a call.
func (p *AWSPublisher) Publish(ctx context.Context, msgs ...contracts.Message) error {
	type group struct {
		dest    string
		isQueue bool
		msgs    []*message.Message
	}
	var groups []*group
	byDest := map[string]*group{}
	for _, m := range msgs {
		wm, err := Encode(ctx, p.source, m)
		if err != nil {
			return err
		}
		dest, isQueue := p.topology.TopicFor(m)
		g := byDest[dest]
		if g == nil {
			g = &group{dest: dest, isQueue: isQueue}
			byDest[dest] = g
			groups = append(groups, g)
		}
		g.msgs = append(g.msgs, wm)
	}
	for _, g := range groups {
		for len(g.msgs) > 0 {
			chunk := g.msgs[:min(maxBatch, len(g.msgs))]
			g.msgs = g.msgs[len(chunk):]
			var err error
			if g.isQueue {
				err = p.sendQueue(ctx, g.dest, chunk)
			} else {
				err = p.sendTopic(ctx, g.dest, chunk)
			}
			if err != nil {
				return fmt.Errorf("publish %s to %s: %w", chunk[0].Metadata[contracts.AttrEventType], g.dest, err)
			}
		}
	}
	return nil
}

func (p *AWSPublisher) sendTopic(ctx context.Context, topic string, msgs []*message.Message) error {
	arn, err := p.topics.resolve(ctx, topic)
	if err != nil {
		return err
	}
	entries := make([]snstypes.PublishBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		attrs := make(map[string]snstypes.MessageAttributeValue, len(m.Metadata))
		for k, v := range m.Metadata {
			attrs[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
		entries[i] = snstypes.PublishBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), Message: aws.String(string(m.Payload)), MessageAttributes: attrs}
	}
	res, err := p.sns.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: entries})
	if err != nil {
		return err
	}
	var code, msg *string
	if len(res.Failed) > 0 {
		code, msg = res.Failed[0].Code, res.Failed[0].Message
	}
	return batchOutcome(len(entries), len(res.Successful), len(res.Failed), code, msg)
}

// batchOutcome fails a batch call unless every entry came back successful: one that failed,
// or one the response does not mention at all (moto drops an entry whose SNS fan-out raised,
// reporting it neither way), is retried with the rest rather than lost.
func batchOutcome(entries, succeeded, failed int, code, msg *string) error {
	switch {
	case failed > 0:
		return fmt.Errorf("%d of %d entries failed: %s %s", failed, entries, aws.ToString(code), aws.ToString(msg))
	case succeeded != entries:
		return fmt.Errorf("%d of %d entries neither succeeded nor failed", entries-succeeded, entries)
	}
	return nil
}

func (p *AWSPublisher) sendQueue(ctx context.Context, queue string, msgs []*message.Message) error {
	url, err := p.queues.resolve(ctx, queue)
	if err != nil {
		return err
	}
	entries := make([]sqstypes.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(m.Payload)), MessageAttributes: sqsAttributes(m.Metadata)}
	}
	res, err := p.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		return err
	}
	var code, msg *string
	if len(res.Failed) > 0 {
		code, msg = res.Failed[0].Code, res.Failed[0].Message
	}
	return batchOutcome(len(entries), len(res.Successful), len(res.Failed), code, msg)
}

// Close releases nothing: the SDK clients hold no resources of their own.
func (p *AWSPublisher) Close() error { return nil }

// topicResolver finds topic ARNs by name (ListTopics), so no account id or region is configured
// and nothing is created.
type topicResolver struct {
	client *sns.Client
	mu     sync.Mutex
	arns   map[string]string
}

func (r *topicResolver) resolve(ctx context.Context, topic string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if arn, ok := r.arns[topic]; ok {
		return arn, nil
	}
	arns := map[string]string{}
	p := sns.NewListTopicsPaginator(r.client, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list sns topics: %w", err)
		}
		for _, t := range page.Topics {
			arn := aws.ToString(t.TopicArn)
			arns[awsconfig.ResourceName(arn)] = arn
		}
	}
	r.arns = arns
	arn, ok := arns[topic]
	if !ok {
		return "", fmt.Errorf("sns topic %q does not exist (run `gfnctl infra apply`)", topic)
	}
	return arn, nil
}

// queueResolver caches queue URLs by name.
type queueResolver struct {
	client *sqs.Client
	mu     sync.Mutex
	urls   map[string]string
}

func (r *queueResolver) resolve(ctx context.Context, queue string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if url, ok := r.urls[queue]; ok {
		return url, nil
	}
	res, err := QueueURLs(ctx, r.client, queue)
	if err != nil {
		return "", err
	}
	if r.urls == nil {
		r.urls = map[string]string{}
	}
	r.urls[queue] = res[queue]
	return res[queue], nil
}

func sqsAttributes(meta map[string]string) map[string]sqstypes.MessageAttributeValue {
	attrs := make(map[string]sqstypes.MessageAttributeValue, len(meta))
	for k, v := range meta {
		if v == "" || len(k) > 0 && k[0] == '_' {
			continue
		}
		attrs[k] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return attrs
}

// sqsSettler backs off with ChangeMessageVisibility and dead-letters with SendMessage to the
// queue's DLQ (then the caller acks, deleting the original: a crash between the two can
// duplicate into the DLQ, never lose).
type sqsSettler struct {
	client   *sqs.Client
	queueURL string
	dlqURL   string
	receipt  string
}

func (s sqsSettler) Retry(ctx context.Context, d Delivery, after time.Duration) (bool, error) {
	_, err := s.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(s.queueURL),
		ReceiptHandle:     aws.String(s.receipt),
		VisibilityTimeout: visibilitySeconds(after),
	})
	if err != nil {
		return false, fmt.Errorf("change visibility on %s: %w", d.Queue, err)
	}
	return false, nil
}

// maxDelay is SQS's longest DelaySeconds.
const maxDelay = 900 * time.Second

// Defer sends a copy delayed by after (at most SQS's 15 minutes) and lets the caller ack the
// original: the copy's receive count starts over. A crash between the two duplicates the
// message, which the handlers tolerate (their effects are idempotent).
func (s sqsSettler) Defer(ctx context.Context, d Delivery, after time.Duration) error {
	_, err := s.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(s.queueURL),
		MessageBody:       aws.String(string(d.Body)),
		MessageAttributes: sqsAttributes(d.Attributes),
		DelaySeconds:      int32(min(after, maxDelay) / time.Second), //nolint:gosec // G115: at most maxDelay (900 s)
	})
	if err != nil {
		return fmt.Errorf("defer on %s: %w", d.Queue, err)
	}
	return nil
}

func (s sqsSettler) DeadLetter(ctx context.Context, d Delivery, reason string) error {
	_, err := s.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(s.dlqURL),
		MessageBody:       aws.String(string(d.Body)),
		MessageAttributes: sqsAttributes(DeadLetterAttributes(d.Attributes, reason)),
	})
	if err != nil {
		return fmt.Errorf("send to %s%s: %w", d.Queue, contracts.DLQSuffix, err)
	}
	return nil
}

// maxReasonLen keeps the DLQ reason readable and well inside SQS's message size.
const maxReasonLen = 1024

// DeadLetterAttributes are a message's attributes plus the reason it was dead-lettered. The
// marks of an earlier redrive give way so the message stays within SQS's ten attributes.
func DeadLetterAttributes(attrs map[string]string, reason string) map[string]string {
	out := make(map[string]string, len(attrs)+1)
	for k, v := range attrs {
		if k != contracts.AttrRedriveOriginalID && k != contracts.AttrRedriveReceiveCount {
			out[k] = v
		}
	}
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen] + "..."
	}
	out[contracts.AttrError] = reason
	return out
}

// QueueURLs resolves queue and DLQ URLs by name; a missing queue is an error (infrastructure
// creates them, consumers never do).
func QueueURLs(ctx context.Context, client *sqs.Client, names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		res, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(n)})
		if err != nil {
			return nil, fmt.Errorf("queue %s (run `gfnctl infra apply`): %w", n, err)
		}
		out[n] = aws.ToString(res.QueueUrl)
	}
	return out, nil
}

// MaxVisibility is SQS's limit on a message's visibility timeout (12 h).
const MaxVisibility = 12 * time.Hour

// visibilitySeconds is d in whole seconds within SQS's 0..12 h.
func visibilitySeconds(d time.Duration) int32 {
	return int32(min(max(d, 0), MaxVisibility) / time.Second)
}
