package telemetry

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every pipeline metric.
const Namespace = "GFN/Pipeline"

// Dimension names. Every metric is emitted per (service, event_type) and rolled up per service.
const (
	DimService   = "service"
	DimEventType = "event_type"
)

// Metric names. Terraform's alarms and dashboard refer to these: renaming one breaks them.
const (
	// Per message type, by the consumer middleware.
	MetricHandled      = "handled"
	MetricFailed       = "failed"
	MetricDeadLettered = "dead_lettered"
	// MetricDeferred counts deliveries put off on purpose (a load not confirmed yet): neither
	// handled nor failed, so waiting on Snowpipe never raises the error rate.
	MetricDeferred = "deferred"
	MetricLatency  = "latency_ms"
	// Per batch, from the events a service publishes.
	MetricRowsIn       = "rows_in"
	MetricRowsValid    = "rows_valid"
	MetricRowsRejected = "rows_rejected"
	MetricRowsLoaded   = "rows_loaded"
	MetricBytes        = "bytes"
	// Per run, from RunCompleted/RunFailed.
	MetricRunDuration  = "run_duration_s"
	MetricRunCompleted = "run_completed"
	MetricRunFailed    = "run_failed"
	// Per file in production, from the load confirmer.
	MetricSnowpipeLatency = "snowpipe_latency_s"
)

// Units CloudWatch knows.
const (
	UnitCount        = "Count"
	UnitMilliseconds = "Milliseconds"
	UnitSeconds      = "Seconds"
	UnitBytes        = "Bytes"
)

// Value is one metric observation.
type Value struct {
	Name  string
	Value float64
	Unit  string
}

// Count is a Count-unit value.
func Count(name string, n float64) Value { return Value{Name: name, Value: n, Unit: UnitCount} }

// Metrics writes CloudWatch Embedded Metric Format lines: one JSON object a line, which Lambda's
// log stream and the awslogs driver turn into metrics without an API call.
type Metrics struct {
	service string
	now     func() time.Time

	mu sync.Mutex
	w  io.Writer
}

// NewMetrics writes service's metrics to w (stdout in a deployed service); a nil w discards.
func NewMetrics(w io.Writer, service string) *Metrics {
	return &Metrics{w: w, service: service, now: time.Now}
}

// Service is the service dimension's value.
func (m *Metrics) Service() string { return m.service }

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Emit writes values for eventType as one EMF line. props are extra searchable fields (run_id,
// batch_id); they are not dimensions, so they add no metric cardinality.
func (m *Metrics) Emit(eventType string, props map[string]string, values ...Value) {
	if m == nil || m.w == nil || len(values) == 0 {
		return
	}
	line := make(map[string]any, len(props)+len(values)+3)
	for k, v := range props {
		if v != "" {
			line[k] = v
		}
	}
	dir := emfDirective{Namespace: Namespace, Dimensions: [][]string{{DimService, DimEventType}, {DimService}}}
	for _, v := range values {
		dir.Metrics = append(dir.Metrics, emfMetric{Name: v.Name, Unit: v.Unit})
		line[v.Name] = v.Value
	}
	line[DimService] = m.service
	line[DimEventType] = eventType
	line["_aws"] = emfMeta{Timestamp: m.now().UnixMilli(), CloudWatchMetrics: []emfDirective{dir}}
	b, err := json.Marshal(line)
	if err != nil {
		return // only non-finite floats fail; a metric is not worth a crash
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(append(b, '\n'))
}

type metricsKey struct{}

var (
	defaultMu      sync.RWMutex
	defaultMetrics *Metrics
)

// SetDefaultMetrics is where MetricsFrom falls back to outside a message handler (background
// work such as the load confirmer). The platform sets it to the service's stdout emitter.
func SetDefaultMetrics(m *Metrics) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	defaultMetrics = m
}

// WithMetrics stores m in ctx.
func WithMetrics(ctx context.Context, m *Metrics) context.Context {
	return context.WithValue(ctx, metricsKey{}, m)
}

// MetricsFrom is ctx's emitter, else the default one; nil (which discards) when neither is set.
func MetricsFrom(ctx context.Context) *Metrics {
	if m, ok := ctx.Value(metricsKey{}).(*Metrics); ok {
		return m
	}
	defaultMu.RLock()
	defer defaultMu.RUnlock()
	return defaultMetrics
}

// RecordSnowpipeLatency emits snowpipe_latency_s for one file Snowpipe loaded: from the object's
// creation in S3 to the load the confirmer found in Snowflake's load records.
func RecordSnowpipeLatency(ctx context.Context, runID, batchID, key string, created, confirmed time.Time) {
	MetricsFrom(ctx).Emit("BatchLoaded", map[string]string{"run_id": runID, "batch_id": batchID, "key": key},
		Value{Name: MetricSnowpipeLatency, Value: confirmed.Sub(created).Seconds(), Unit: UnitSeconds})
}
