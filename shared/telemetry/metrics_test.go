package telemetry_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/shared/telemetry"
	"github.com/gfnpipeline/shared/telemetry/telemetrytest"
)

func TestEmitWritesValidEMF(t *testing.T) {
	var buf bytes.Buffer
	m := telemetry.NewMetrics(&buf, "validator")
	m.Emit("RawBatchLanded", map[string]string{"run_id": "r1", "batch_id": ""},
		telemetry.Count(telemetry.MetricHandled, 1),
		telemetry.Value{Name: telemetry.MetricLatency, Value: 12.5, Unit: telemetry.UnitMilliseconds})
	if strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("want one line, got %q", buf.String())
	}
	e, err := telemetrytest.ParseEMF(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if e.Namespace != "GFN/Pipeline" || e.Fields["service"] != "validator" || e.Fields["event_type"] != "RawBatchLanded" || e.Fields["run_id"] != "r1" {
		t.Fatalf("line %+v", e)
	}
	if _, ok := e.Fields["batch_id"]; ok {
		t.Error("an empty property is written")
	}
	if e.Values["handled"] != 1 || e.Values["latency_ms"] != 12.5 || e.Units["latency_ms"] != "Milliseconds" {
		t.Fatalf("values %v units %v", e.Values, e.Units)
	}
	if len(e.Dimensions) != 2 || strings.Join(e.Dimensions[0], ",") != "service,event_type" || strings.Join(e.Dimensions[1], ",") != "service" {
		t.Fatalf("dimensions %v", e.Dimensions)
	}
	if d := time.Since(time.UnixMilli(e.Timestamp)); d < 0 || d > time.Minute {
		t.Fatalf("timestamp %d", e.Timestamp)
	}
}

func TestParseEMFRejects(t *testing.T) {
	for name, line := range map[string]string{
		"not json":          `handled=1`,
		"no _aws":           `{"handled":1}`,
		"no timestamp":      `{"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"a"}]}]},"a":1}`,
		"seconds timestamp": `{"_aws":{"Timestamp":1700000000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"a"}]}]},"a":1}`,
		"missing dimension": `{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["service"]],"Metrics":[{"Name":"a"}]}]},"a":1}`,
		"metric not number": `{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"a"}]}]},"a":"1"}`,
		"no metrics":        `{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[]}]}}`,
		"bad unit":          `{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"a","Unit":"Rows"}]}]},"a":1}`,
	} {
		if _, err := telemetrytest.ParseEMF([]byte(line)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSnowpipeLatencyUsesDefaultOutsideHandlers(t *testing.T) {
	var buf bytes.Buffer
	telemetry.SetDefaultMetrics(telemetry.NewMetrics(&buf, "loader"))
	t.Cleanup(func() { telemetry.SetDefaultMetrics(nil) })
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	telemetry.RecordSnowpipeLatency(context.Background(), "r1", "b1", "transformed/x.parquet", created, created.Add(90*time.Second))
	e, err := telemetrytest.ParseEMF(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if e.Values["snowpipe_latency_s"] != 90 || e.Units["snowpipe_latency_s"] != "Seconds" || e.Fields["service"] != "loader" || e.Fields["key"] != "transformed/x.parquet" {
		t.Fatalf("%+v", e)
	}
}

func TestNilMetricsDiscards(t *testing.T) {
	var m *telemetry.Metrics
	m.Emit("X", nil, telemetry.Count("handled", 1)) // must not panic
	telemetry.MetricsFrom(context.Background()).Emit("X", nil, telemetry.Count("handled", 1))
}
