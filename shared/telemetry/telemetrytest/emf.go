// Package telemetrytest checks what the telemetry package emits, for tests over real output.
package telemetrytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gfnpipeline/shared/telemetry"
)

// EMF is one validated Embedded Metric Format line.
type EMF struct {
	Timestamp  int64
	Namespace  string
	Dimensions [][]string
	// Values are the metrics by name; Units their units.
	Values map[string]float64
	Units  map[string]string
	// Fields are the line's string members (dimension values, run_id ...).
	Fields map[string]string
}

// units CloudWatch accepts in EMF (the subset the pipeline may use).
var units = map[string]bool{
	telemetry.UnitCount: true, telemetry.UnitMilliseconds: true, telemetry.UnitSeconds: true, telemetry.UnitBytes: true, "None": true,
}

// ParseEMF decodes line and checks it as CloudWatch does: an _aws member with a millisecond
// Timestamp and CloudWatchMetrics directives, each dimension a string member of the line,
// each metric a number member of it, at most 30 dimensions a set and 100 metrics a directive.
func ParseEMF(line []byte) (*EMF, error) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	rawAWS, ok := root["_aws"]
	if !ok {
		return nil, errors.New("no _aws member")
	}
	var meta struct {
		Timestamp         *int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	if err := json.Unmarshal(rawAWS, &meta); err != nil {
		return nil, fmt.Errorf("_aws: %w", err)
	}
	if meta.Timestamp == nil || *meta.Timestamp < 1e12 {
		return nil, errors.New("_aws.Timestamp missing or not epoch milliseconds")
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return nil, errors.New("_aws.CloudWatchMetrics is empty")
	}
	e := &EMF{Timestamp: *meta.Timestamp, Values: map[string]float64{}, Units: map[string]string{}, Fields: map[string]string{}}
	for k, raw := range root {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			e.Fields[k] = s
		}
	}
	for _, d := range meta.CloudWatchMetrics {
		if d.Namespace == "" {
			return nil, errors.New("directive without Namespace")
		}
		e.Namespace = d.Namespace
		if len(d.Metrics) == 0 || len(d.Metrics) > 100 {
			return nil, fmt.Errorf("directive has %d metrics, want 1-100", len(d.Metrics))
		}
		for _, set := range d.Dimensions {
			if len(set) == 0 || len(set) > 30 {
				return nil, fmt.Errorf("dimension set %v: want 1-30 names", set)
			}
			for _, name := range set {
				if _, ok := e.Fields[name]; !ok {
					return nil, fmt.Errorf("dimension %q is not a string member of the line", name)
				}
			}
		}
		e.Dimensions = append(e.Dimensions, d.Dimensions...)
		for _, m := range d.Metrics {
			var v float64
			if err := json.Unmarshal(root[m.Name], &v); err != nil {
				return nil, fmt.Errorf("metric %q is not a number member of the line", m.Name)
			}
			if m.Unit != "" && !units[m.Unit] {
				return nil, fmt.Errorf("metric %q: unit %q", m.Name, m.Unit)
			}
			e.Values[m.Name], e.Units[m.Name] = v, m.Unit
		}
	}
	return e, nil
}

// ScanEMF returns every EMF line in r (lines with an _aws member), failing on the first that
// does not validate; other lines (JSON logs) are skipped.
func ScanEMF(r io.Reader) ([]*EMF, error) {
	var out []*EMF
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if !strings.Contains(string(line), `"_aws"`) {
			continue
		}
		e, err := ParseEMF(line)
		if err != nil {
			return out, fmt.Errorf("%w: %s", err, line)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
