package messaging

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/telemetry"
)

// Delivery is one received message, whatever the transport (SQS poller, Lambda, memory).
type Delivery struct {
	// MessageID is the transport's id for this message (SQS MessageId).
	MessageID string
	// Attempt is the 1-based delivery count (SQS ApproximateReceiveCount).
	Attempt    int
	Queue      string
	Attributes map[string]string
	Body       []byte
	// SentAt is when the message was sent, where the transport says (SQS SentTimestamp).
	SentAt time.Time
}

// Consumer handles one queue's messages.
type Consumer struct {
	Queue  string
	Handle func(ctx context.Context, d Delivery) error
	// EventType names, in metrics, deliveries without an event_type attribute (S3 notifications).
	EventType string
}

// TypedHandler handles one message type.
type TypedHandler struct {
	Type   string
	handle func(ctx context.Context, m contracts.Message) error
}

// On adapts a typed business handler, shared by every runtime, to a TypedHandler.
func On[T any, PT interface {
	*T
	contracts.Message
}](fn func(context.Context, PT) error) TypedHandler {
	var zero T
	return TypedHandler{
		Type:   PT(&zero).MessageType(),
		handle: func(ctx context.Context, m contracts.Message) error { return fn(ctx, m.(PT)) },
	}
}

// Messages is a consumer of contracts messages, dispatched on the `type` attribute. A type
// the queue has no handler for is permanent: it would never succeed here.
func Messages(queue string, handlers ...TypedHandler) Consumer {
	byType := make(map[string]TypedHandler, len(handlers))
	for _, h := range handlers {
		byType[h.Type] = h
	}
	return Consumer{Queue: queue, Handle: func(ctx context.Context, d Delivery) error {
		typ := d.Attributes[contracts.AttrType]
		h, ok := byType[typ]
		if !ok {
			return Permanent(fmt.Errorf("%w: queue %s has no handler for %q", contracts.ErrUnknownType, queue, typ))
		}
		m, err := contracts.Decode(typ, d.Body)
		if err != nil {
			return err
		}
		log := telemetry.Logger(ctx).With("run_id", m.Run(), "batch_id", m.Batch(), "message_id", d.MessageID, "type", typ)
		ctx = telemetry.WithLogger(ctx, log)
		ctx = withCorrelation(ctx, d.Attributes[contracts.AttrCorrelationID])
		return h.handle(ctx, m)
	}}
}

// ObjectCreatedConsumer handles S3 ObjectCreated notifications (the loader's trigger). The
// first message S3 sends to a newly configured queue is an s3:TestEvent: it is skipped.
func ObjectCreatedConsumer(queue string, fn func(ctx context.Context, o *lake.ObjectCreated) error) Consumer {
	return Consumer{Queue: queue, EventType: EventObjectCreated, Handle: func(ctx context.Context, d Delivery) error {
		objs, err := ParseS3Event(d.Body)
		if err != nil {
			return err
		}
		for i := range objs {
			log := telemetry.Logger(ctx).With("message_id", d.MessageID, "key", objs[i].Key)
			if err := fn(telemetry.WithLogger(ctx, log), &objs[i]); err != nil {
				return err
			}
		}
		return nil
	}}
}

type s3Event struct {
	Event   string     `json:"Event"`
	Records []s3Record `json:"Records"`
}

type s3Record struct {
	EventName string `json:"eventName"`
	S3        struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			Size      int64  `json:"size"`
			ETag      string `json:"eTag"`
			VersionID string `json:"versionId,omitempty"`
		} `json:"object"`
	} `json:"s3"`
}

// ParseS3Event decodes an S3 event notification body into ObjectCreated records with
// URL-decoded keys. A test event yields no records.
func ParseS3Event(body []byte) ([]lake.ObjectCreated, error) {
	var ev s3Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, Permanent(fmt.Errorf("%w: s3 event: %w", contracts.ErrUndecodable, err))
	}
	if ev.Event == "s3:TestEvent" {
		return nil, nil
	}
	if len(ev.Records) == 0 {
		return nil, Permanent(fmt.Errorf("%w: s3 event without records", contracts.ErrUndecodable))
	}
	out := make([]lake.ObjectCreated, 0, len(ev.Records))
	for _, r := range ev.Records {
		if !strings.HasPrefix(r.EventName, "ObjectCreated") {
			continue
		}
		// S3 encodes keys like form values: spaces as '+'.
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return nil, Permanent(fmt.Errorf("%w: s3 event key %q: %w", contracts.ErrUndecodable, r.S3.Object.Key, err))
		}
		out = append(out, lake.ObjectCreated{Bucket: r.S3.Bucket.Name, Key: key, Size: r.S3.Object.Size, ETag: r.S3.Object.ETag, VersionID: r.S3.Object.VersionID})
	}
	return out, nil
}

// S3EventBody builds an ObjectCreated notification body like S3's (the embedded run's
// stand-in for bucket notifications).
func S3EventBody(o lake.ObjectCreated) []byte {
	ev := s3Event{Records: make([]s3Record, 1)}
	r := &ev.Records[0]
	r.EventName = "ObjectCreated:Put"
	r.S3.Bucket.Name = o.Bucket
	r.S3.Object.Key = url.QueryEscape(o.Key)
	r.S3.Object.Size = o.Size
	b, _ := json.Marshal(ev)
	return b
}
