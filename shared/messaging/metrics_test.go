package messaging_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
	"github.com/gfnpipeline/shared/telemetry"
	"github.com/gfnpipeline/shared/telemetry/telemetrytest"
)

// syncBuffer is a buffer the poller's goroutines write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) emf(t *testing.T) []*telemetrytest.EMF {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines, err := telemetrytest.ScanEMF(bytes.NewReader(s.b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestInstrumentedConsumerOnSQS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var out syncBuffer
	m := telemetry.NewMetrics(&out, "validator")
	policy := messaging.Policy{Publisher: f.pub}
	c := policy.Instrument(messaging.Messages(f.top.Name(contracts.QueueValidator), messaging.On(func(ctx context.Context, m *contracts.RawBatchLanded) error {
		if telemetry.MetricsFrom(ctx) == nil {
			return errors.New("handler context has no metrics")
		}
		if m.Year == 1961 {
			return messaging.Permanent(errors.New("bad year"))
		}
		return nil
	})), m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- messaging.RunSQS(ctx, aws.Config(awstest.Config(t)), quiet, messaging.SQSOptions{WaitTimeSeconds: 1, Policy: policy}, c)
	}()
	defer func() { cancel(); <-done }()
	h := contracts.Header{RunID: "run-m"}
	if err := f.pub.Publish(context.Background(), &contracts.RawBatchLanded{Header: h, Year: 2020}, &contracts.RawBatchLanded{Header: h, Year: 1961}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var lines []*telemetrytest.EMF
	for len(lines) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		lines = out.emf(t)
	}
	if len(lines) != 2 {
		t.Fatalf("%d EMF lines, want 2", len(lines))
	}
	var handled, failed, dead float64
	for _, e := range lines {
		if e.Fields["service"] != "validator" || e.Fields["event_type"] != "RawBatchLanded" || e.Fields["run_id"] != "run-m" {
			t.Errorf("fields %v", e.Fields)
		}
		if _, ok := e.Values["latency_ms"]; !ok {
			t.Error("no latency_ms")
		}
		handled += e.Values["handled"]
		failed += e.Values["failed"]
		dead += e.Values["dead_lettered"]
	}
	if handled != 1 || failed != 1 || dead != 1 {
		t.Fatalf("handled %v failed %v dead_lettered %v, want 1 each", handled, failed, dead)
	}
}

func TestRetriedFailureIsNotDeadLettered(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	policy := messaging.Policy{}
	c := policy.Instrument(messaging.Consumer{Queue: "q", EventType: messaging.EventObjectCreated, Handle: func(context.Context, messaging.Delivery) error { return errors.New("flaky") }},
		telemetry.NewMetrics(&out, "loader"))
	for attempt := 1; attempt <= contracts.MaxReceiveCount; attempt++ {
		_ = c.Handle(context.Background(), messaging.Delivery{Attempt: attempt})
	}
	lines, err := telemetrytest.ScanEMF(&out)
	if err != nil {
		t.Fatal(err)
	}
	var dead float64
	for i, e := range lines {
		dead += e.Values["dead_lettered"]
		if e.Fields["event_type"] != "ObjectCreated" || e.Values["failed"] != 1 {
			t.Errorf("line %d: %v %v", i, e.Fields, e.Values)
		}
	}
	if len(lines) != contracts.MaxReceiveCount || dead != 1 {
		t.Fatalf("%d lines, dead_lettered %v: only the last attempt dead-letters", len(lines), dead)
	}
}

func TestInstrumentedPublisherEmitsBatchAndRunMetrics(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	rec := &messagingtest.Recorder{}
	pub := messaging.InstrumentPublisher(rec, telemetry.NewMetrics(&out, "svc"))
	h := contracts.Header{RunID: "r", BatchID: "b"}
	sum := contracts.RunSummary{DurationSec: 42}
	msgs := []contracts.Message{
		&contracts.RawBatchLanded{Header: h, Bytes: 100},
		&contracts.BatchValidated{Header: h, RowsIn: 10, RowsValid: 8, RowsRejected: 2},
		&contracts.BatchQuarantined{Header: h, RowsIn: 5, RowsRejected: 5},
		&contracts.BatchTransformed{Header: h, Bytes: 50},
		&contracts.BatchLoaded{Header: h, RowsLoaded: 8},
		&contracts.BatchLoaded{Header: h, RowsLoaded: 8, AlreadyLoaded: true},
		&contracts.RunCompleted{Header: h, RunSummary: sum},
		&contracts.RunFailed{Header: h, RunSummary: sum},
		&contracts.BatchFailed{Header: h},
	}
	if err := pub.Publish(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	if len(rec.Messages()) != len(msgs) {
		t.Fatal("messages not forwarded")
	}
	lines, err := telemetrytest.ScanEMF(&out)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]float64{
		{"bytes": 100},
		{"rows_in": 10, "rows_valid": 8, "rows_rejected": 2},
		{"rows_in": 5, "rows_valid": 0, "rows_rejected": 5},
		{"bytes": 50},
		{"rows_loaded": 8},
		{"rows_loaded": 0},
		{"run_duration_s": 42, "run_completed": 1},
		{"run_duration_s": 42, "run_failed": 1},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d (BatchFailed carries no metric)", len(lines), len(want))
	}
	for i, w := range want {
		if len(lines[i].Values) != len(w) {
			t.Errorf("line %d: %v, want %v", i, lines[i].Values, w)
		}
		for k, v := range w {
			if got, ok := lines[i].Values[k]; !ok || got != v {
				t.Errorf("line %d (%s): %s = %v, want %v", i, lines[i].Fields["event_type"], k, got, v)
			}
		}
		if lines[i].Fields["run_id"] != "r" || lines[i].Fields["batch_id"] != "b" {
			t.Errorf("line %d: fields %v", i, lines[i].Fields)
		}
	}
}

func TestFailedPublishEmitsNothing(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	rec := &messagingtest.Recorder{}
	rec.FailNext(1, errors.New("sns down"))
	pub := messaging.InstrumentPublisher(rec, telemetry.NewMetrics(&out, "svc"))
	if err := pub.Publish(context.Background(), &contracts.BatchLoaded{RowsLoaded: 3}); err == nil {
		t.Fatal("error lost")
	}
	if out.Len() != 0 {
		t.Fatalf("emitted %q for an unpublished event", out.String())
	}
}
