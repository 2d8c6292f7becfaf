package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/telemetry"
)

const metaAttempt = "_mem_attempt"

// Memory is the embedded run's message bus: watermill's in-memory pub/sub laid out like the
// AWS topology (commands to queues, events fanned out to the queues whose filter matches,
// bucket notifications to their queue), with the same delivery policy. Dead letters are kept
// in memory and reported.
type Memory struct {
	topology contracts.Topology
	pubsub   *gochannel.GoChannel
	logger   *slog.Logger

	mu   sync.Mutex
	dead []DeadLetter
}

// DeadLetter is a message the embedded bus dead-lettered.
type DeadLetter struct {
	Queue  string
	Reason string
	Delivery
}

// NewMemory returns an in-memory bus for the topology.
func NewMemory(topology contracts.Topology, logger *slog.Logger) *Memory {
	return &Memory{
		topology: topology,
		logger:   logger,
		pubsub:   gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1024}, watermill.NewSlogLogger(logger)),
	}
}

// Publisher returns a publisher that stamps messages with source.
func (m *Memory) Publisher(source string) Publisher { return memoryPublisher{bus: m, source: source} }

type memoryPublisher struct {
	bus    *Memory
	source string
}

func (p memoryPublisher) Publish(ctx context.Context, msgs ...contracts.Message) error {
	for _, msg := range msgs {
		wm, err := Encode(ctx, p.source, msg)
		if err != nil {
			return err
		}
		dest, isQueue := p.bus.topology.TopicFor(msg)
		targets := []string{dest}
		if !isQueue {
			targets = append(targets, p.bus.topology.SubscribersOf(dest, msg.EventType())...)
		}
		for _, t := range targets {
			if err := p.bus.pubsub.Publish(t, wm.Copy()); err != nil {
				return fmt.Errorf("publish %s to %s: %w", msg.EventType(), t, err)
			}
		}
	}
	return nil
}

// NotifyObjectCreated delivers an S3-style ObjectCreated notification to the queues
// subscribed to the topic the topology's bucket notifications name for the key.
func (m *Memory) NotifyObjectCreated(_ context.Context, o lake.ObjectCreated) error {
	for _, n := range m.topology.Notifications {
		if !strings.HasPrefix(o.Key, n.Prefix) || !strings.HasSuffix(o.Key, n.Suffix) {
			continue
		}
		for _, q := range m.topology.SubscribersOf(n.Topic, "") {
			if err := m.pubsub.Publish(q, message.NewMessage(watermill.NewUUID(), S3EventBody(o))); err != nil {
				return fmt.Errorf("notify %s of %s: %w", q, o.Key, err)
			}
		}
	}
	return nil
}

// DeadLetters lists what was dead-lettered so far.
func (m *Memory) DeadLetters() []DeadLetter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]DeadLetter(nil), m.dead...)
}

// Run consumes until ctx ends; running is closed once every consumer is subscribed, so
// nothing published after it is lost.
func (m *Memory) Run(ctx context.Context, policy Policy, running chan<- struct{}, consumers ...Consumer) error {
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, watermill.NewSlogLogger(m.logger))
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	for _, c := range consumers {
		c := c
		router.AddConsumerHandler(c.Queue, c.Queue, m.pubsub, func(msg *message.Message) error {
			attempt, _ := strconv.Atoi(msg.Metadata[metaAttempt])
			if attempt == 0 {
				attempt = 1
			}
			d := Delivery{MessageID: msg.UUID, Attempt: attempt, Queue: c.Queue, Attributes: map[string]string{}, Body: msg.Payload}
			for k, v := range msg.Metadata {
				if !strings.HasPrefix(k, "_") {
					d.Attributes[k] = v
				}
			}
			if policy.Process(telemetry.WithLogger(msg.Context(), m.logger), c, d, memorySettler{bus: m, msg: msg}) {
				return nil
			}
			return errNack
		})
	}
	go func() {
		<-router.Running()
		close(running)
	}()
	return router.Run(ctx)
}

// errNack tells watermill to leave the message for redelivery (the settler already set when).
var errNack = errors.New("delivery failed; message left for redelivery")

type memorySettler struct {
	bus *Memory
	msg *message.Message
}

// Retry re-publishes a copy after the delay with the attempt counted, and settles the original.
func (s memorySettler) Retry(_ context.Context, d Delivery, after time.Duration) (bool, error) {
	again := s.msg.Copy()
	again.Metadata[metaAttempt] = strconv.Itoa(d.Attempt + 1)
	time.AfterFunc(after, func() {
		if err := s.bus.pubsub.Publish(d.Queue, again); err != nil {
			s.bus.logger.Error("re-publish for retry", "queue", d.Queue, "error", err.Error())
		}
	})
	return true, nil
}

// Defer re-publishes a copy after the delay without counting an attempt.
func (s memorySettler) Defer(_ context.Context, d Delivery, after time.Duration) error {
	again := s.msg.Copy()
	time.AfterFunc(after, func() {
		if err := s.bus.pubsub.Publish(d.Queue, again); err != nil {
			s.bus.logger.Error("re-publish deferred message", "queue", d.Queue, "error", err.Error())
		}
	})
	return nil
}

func (s memorySettler) DeadLetter(_ context.Context, d Delivery, reason string) error {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	d.Attributes = DeadLetterAttributes(d.Attributes, reason)
	s.bus.dead = append(s.bus.dead, DeadLetter{Queue: d.Queue + contracts.DLQSuffix, Reason: reason, Delivery: d})
	return nil
}

// Close stops the bus.
func (m *Memory) Close() error { return m.pubsub.Close() }
