package messaging

import (
	"context"
	"errors"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/telemetry"
)

// EventObjectCreated is the event_type metrics give S3 notifications, which carry no envelope.
const EventObjectCreated = "ObjectCreated"

// eventUnknown is the event_type of a delivery that names none (undecodable input).
const eventUnknown = "unknown"

// Instrument wraps c so every delivery emits handled or failed, dead_lettered and latency_ms
// for its event type, whatever the runtime; handlers find m in their context.
func (p Policy) Instrument(c Consumer, m *telemetry.Metrics) Consumer {
	handle := c.Handle
	c.Handle = func(ctx context.Context, d Delivery) error {
		eventType := d.Attributes[contracts.AttrEventType]
		if eventType == "" {
			eventType = c.EventType
		}
		if eventType == "" {
			eventType = eventUnknown
		}
		start := time.Now()
		err := handle(telemetry.WithMetrics(ctx, m), d)
		values := []telemetry.Value{{Name: telemetry.MetricLatency, Value: float64(time.Since(start).Microseconds()) / 1000, Unit: telemetry.UnitMilliseconds}}
		var notYet *NotYetError
		switch {
		case err == nil:
			values = append(values, telemetry.Count(telemetry.MetricHandled, 1))
		case errors.As(err, &notYet):
			values = append(values, telemetry.Count(telemetry.MetricDeferred, 1))
		default:
			values = append(values, telemetry.Count(telemetry.MetricFailed, 1))
			if p.deadLetters(err, d.Attempt) {
				values = append(values, telemetry.Count(telemetry.MetricDeadLettered, 1))
			}
		}
		m.Emit(eventType, map[string]string{"run_id": d.Attributes[contracts.AttrRunID], "message_id": d.MessageID, "queue": c.Queue}, values...)
		return err
	}
	return c
}

// deadLetters is the policy's rule: a permanent failure, or a failure on the last attempt.
func (p Policy) deadLetters(err error, attempt int) bool {
	maxAttempts := p.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = contracts.MaxReceiveCount
	}
	return IsPermanent(err) || attempt >= maxAttempts
}

// InstrumentPublisher emits the per-batch and per-run metrics carried by the events pub
// sends: the service that decides a count is the one that announces it.
func InstrumentPublisher(pub Publisher, m *telemetry.Metrics) Publisher {
	return instrumentedPublisher{pub: pub, m: m}
}

type instrumentedPublisher struct {
	pub Publisher
	m   *telemetry.Metrics
}

func (p instrumentedPublisher) Publish(ctx context.Context, msgs ...contracts.Message) error {
	if err := p.pub.Publish(ctx, msgs...); err != nil {
		return err
	}
	for _, msg := range msgs {
		if values := EventMetrics(msg); len(values) > 0 {
			p.m.Emit(msg.EventType(), map[string]string{"run_id": msg.Run(), "batch_id": msg.Batch()}, values...)
		}
	}
	return nil
}

// EventMetrics are the metrics an event carries.
func EventMetrics(msg contracts.Message) []telemetry.Value {
	count := telemetry.Count
	bytes := func(n int64) telemetry.Value {
		return telemetry.Value{Name: telemetry.MetricBytes, Value: float64(n), Unit: telemetry.UnitBytes}
	}
	run := func(s contracts.RunSummary, outcome string) []telemetry.Value {
		return []telemetry.Value{{Name: telemetry.MetricRunDuration, Value: s.DurationSec, Unit: telemetry.UnitSeconds}, count(outcome, 1)}
	}
	switch e := msg.(type) {
	case *contracts.RawBatchLanded:
		return []telemetry.Value{bytes(e.Bytes)}
	case *contracts.BatchValidated:
		return []telemetry.Value{count(telemetry.MetricRowsIn, float64(e.RowsIn)), count(telemetry.MetricRowsValid, float64(e.RowsValid)), count(telemetry.MetricRowsRejected, float64(e.RowsRejected))}
	case *contracts.BatchQuarantined:
		return []telemetry.Value{count(telemetry.MetricRowsIn, float64(e.RowsIn)), count(telemetry.MetricRowsValid, 0), count(telemetry.MetricRowsRejected, float64(e.RowsRejected))}
	case *contracts.BatchTransformed:
		return []telemetry.Value{bytes(e.Bytes)}
	case *contracts.BatchLoaded:
		if e.AlreadyLoaded {
			return []telemetry.Value{count(telemetry.MetricRowsLoaded, 0)} // counted when first loaded
		}
		return []telemetry.Value{count(telemetry.MetricRowsLoaded, float64(e.RowsLoaded))}
	case *contracts.RunCompleted:
		return run(e.RunSummary, telemetry.MetricRunCompleted)
	case *contracts.RunFailed:
		return run(e.RunSummary, telemetry.MetricRunFailed)
	}
	return nil
}
