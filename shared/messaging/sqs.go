package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsns "github.com/ThreeDotsLabs/watermill-aws/sns"
	wsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/telemetry"
)

// Metadata keys the SQS unmarshaler adds for the settler; never forwarded.
const (
	metaReceiptHandle = "_sqs_receipt_handle"
	metaMessageID     = "_sqs_message_id"
	metaReceiveCount  = "_sqs_receive_count"
)

// AWSPublisher publishes commands to SQS and events to SNS through watermill-aws. It never
// creates topics or queues: infrastructure owns them.
type AWSPublisher struct {
	source   string
	topology contracts.Topology
	sns      *wsns.Publisher
	sqs      *wsqs.Publisher
}

// NewAWSPublisher builds a publisher for service `source`.
func NewAWSPublisher(cfg aws.Config, topology contracts.Topology, source string, logger *slog.Logger) (*AWSPublisher, error) {
	wl := watermill.NewSlogLogger(logger)
	snsPub, err := wsns.NewPublisher(wsns.PublisherConfig{
		AWSConfig:                   cfg,
		DoNotCreateTopicIfNotExists: true,
		TopicResolver:               &topicResolver{client: sns.NewFromConfig(cfg)},
		Marshaler:                   snsMarshaler{},
	}, wl)
	if err != nil {
		return nil, fmt.Errorf("sns publisher: %w", err)
	}
	sqsPub, err := wsqs.NewPublisher(wsqs.PublisherConfig{
		AWSConfig:                   cfg,
		DoNotCreateQueueIfNotExists: true,
		Marshaler:                   sqsMarshaler{},
	}, wl)
	if err != nil {
		return nil, fmt.Errorf("sqs publisher: %w", err)
	}
	return &AWSPublisher{source: source, topology: topology, sns: snsPub, sqs: sqsPub}, nil
}

func (p *AWSPublisher) Publish(ctx context.Context, msgs ...contracts.Message) error {
	for _, m := range msgs {
		wm, err := Encode(ctx, p.source, m)
		if err != nil {
			return err
		}
		dest, isQueue := p.topology.TopicFor(m)
		if isQueue {
			err = p.sqs.Publish(dest, wm)
		} else {
			err = p.sns.Publish(dest, wm)
		}
		if err != nil {
			return fmt.Errorf("publish %s to %s: %w", m.EventType(), dest, err)
		}
	}
	return nil
}

// Close releases the publishers.
func (p *AWSPublisher) Close() error { return errors.Join(p.sns.Close(), p.sqs.Close()) }

// topicResolver finds topic ARNs by name (ListTopics), so no account id or region is configured
// and nothing is created.
type topicResolver struct {
	client *sns.Client
	mu     sync.Mutex
	arns   map[string]string
}

func (r *topicResolver) ResolveTopic(ctx context.Context, topic string) (wsns.TopicArn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if arn, ok := r.arns[topic]; ok {
		return wsns.TopicArn(arn), nil
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
	return wsns.TopicArn(arn), nil
}

// snsMarshaler sends the envelope attributes only: watermill's own uuid attribute would take
// one of SQS's ten, and the CloudEvents id already carries it.
type snsMarshaler struct{}

func (snsMarshaler) Marshal(topicArn wsns.TopicArn, msg *message.Message) *sns.PublishInput {
	attrs := make(map[string]snstypes.MessageAttributeValue, len(msg.Metadata))
	for k, v := range msg.Metadata {
		attrs[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return &sns.PublishInput{TargetArn: aws.String(string(topicArn)), Message: aws.String(string(msg.Payload)), MessageAttributes: attrs}
}

type sqsMarshaler struct{}

func (sqsMarshaler) Marshal(msg *message.Message) (*sqstypes.Message, error) {
	return &sqstypes.Message{MessageAttributes: sqsAttributes(msg.Metadata), Body: aws.String(string(msg.Payload))}, nil
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

// sqsUnmarshaler keeps what the settler needs: receipt handle, message id, receive count.
type sqsUnmarshaler struct{}

func (sqsUnmarshaler) Unmarshal(m *sqstypes.Message) (*message.Message, error) {
	meta := message.Metadata{}
	for k, v := range m.MessageAttributes {
		if v.StringValue != nil {
			meta[k] = *v.StringValue
		} else if v.BinaryValue != nil {
			meta[k] = string(v.BinaryValue)
		}
	}
	delete(meta, wsqs.UUIDAttribute)
	meta[metaReceiptHandle] = aws.ToString(m.ReceiptHandle)
	meta[metaMessageID] = aws.ToString(m.MessageId)
	meta[metaReceiveCount] = m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]
	uuid := meta[contracts.AttrID]
	if uuid == "" {
		uuid = aws.ToString(m.MessageId)
	}
	wm := message.NewMessage(uuid, []byte(aws.ToString(m.Body)))
	wm.Metadata = meta
	return wm, nil
}

// deliveryFromSQS turns an unmarshalled message into a Delivery.
func deliveryFromMeta(queue string, meta map[string]string, body []byte) Delivery {
	attempt, _ := strconv.Atoi(meta[metaReceiveCount])
	attrs := make(map[string]string, len(meta))
	for k, v := range meta {
		if len(k) > 0 && k[0] != '_' {
			attrs[k] = v
		}
	}
	return Delivery{MessageID: meta[metaMessageID], Attempt: attempt, Queue: queue, Attributes: attrs, Body: body}
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
		VisibilityTimeout: int32(after / time.Second), //nolint:gosec // G115: a backoff of seconds, far below int32
	})
	if err != nil {
		return false, fmt.Errorf("change visibility on %s: %w", d.Queue, err)
	}
	return false, nil
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

// SQSOptions tunes the poller.
type SQSOptions struct {
	// Concurrency is how many messages of each queue are handled at once.
	Concurrency int
	// WaitTimeSeconds is the long-poll wait (max 20).
	WaitTimeSeconds int32
	Policy          Policy
	// Router, when set, configures the router before it runs (e.g. Prometheus metrics).
	Router func(*message.Router)
}

// RunSQS consumes the consumers' queues with watermill-aws until ctx ends.
func RunSQS(ctx context.Context, cfg aws.Config, logger *slog.Logger, opts SQSOptions, consumers ...Consumer) error {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.WaitTimeSeconds == 0 {
		opts.WaitTimeSeconds = 20
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
	wl := watermill.NewSlogLogger(logger)
	sub, err := wsqs.NewSubscriber(wsqs.SubscriberConfig{
		AWSConfig:                   cfg,
		DoNotCreateQueueIfNotExists: true,
		Unmarshaler:                 sqsUnmarshaler{},
		GenerateReceiveMessageInput: func(_ context.Context, url wsqs.QueueURL) (*sqs.ReceiveMessageInput, error) {
			return &sqs.ReceiveMessageInput{
				QueueUrl:                    aws.String(string(url)),
				MessageAttributeNames:       []string{"All"},
				MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
				WaitTimeSeconds:             opts.WaitTimeSeconds,
				// One at a time: a nacked message must not strand others received with it.
				MaxNumberOfMessages: 1,
			}, nil
		},
	}, wl)
	if err != nil {
		return fmt.Errorf("sqs subscriber: %w", err)
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, wl)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	if opts.Router != nil {
		opts.Router(router)
	}
	for _, c := range consumers {
		c := c
		handler := func(msg *message.Message) error {
			d := deliveryFromMeta(c.Queue, msg.Metadata, msg.Payload)
			s := sqsSettler{client: client, queueURL: urls[c.Queue], dlqURL: urls[c.Queue+contracts.DLQSuffix], receipt: msg.Metadata[metaReceiptHandle]}
			ctx := telemetry.WithLogger(msg.Context(), logger)
			if opts.Policy.Process(ctx, c, d, s) {
				return nil
			}
			return errNack
		}
		for i := 0; i < opts.Concurrency; i++ {
			router.AddConsumerHandler(fmt.Sprintf("%s-%d", c.Queue, i), c.Queue, sub, handler)
		}
	}
	logger.Info("consuming", "queues", queueNames(consumers), "concurrency", opts.Concurrency)
	return router.Run(ctx)
}

// errNack tells watermill to leave the message in the queue (the settler already set when it
// comes back).
var errNack = errors.New("delivery failed; message left for redelivery")

func queueNames(cs []Consumer) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Queue
	}
	return out
}
