package dlq_test

import (
	"errors"
	"testing"

	"github.com/gfnpipeline/tools/gfnctl/dlq"
)

func TestFilter(t *testing.T) {
	msg := dlq.Fields{
		MessageID: "m-1",
		Body:      `{"run_id":"run-1","batch_id":"ef-2005","year":2005}`,
		Attributes: map[string]string{
			"event_type":          "RawBatchLanded",
			"run_id":              "run-1",
			"error":               "failed 4 deliveries: read timeout, giving up",
			"redrive_original_id": "orig-9",
		},
	}
	tests := []struct {
		expr  string
		match bool
	}{
		{"", true},
		{"attr.event_type=RawBatchLanded", true},
		{"attr.event_type=BatchValidated", false},
		{"attr.event_type!=BatchValidated", true},
		{"body~ef-2005", true},
		{"body~ef-2006", false},
		{"body!~ef-2006", true},
		{"error~timeout", true},
		{"error~refused", false},
		{"attr.error~timeout", true},
		{"body~ef-2005,attr.run_id=run-1", true},
		{"body~ef-2005,attr.run_id=run-2", false},
		{"attr.missing=", true},
		{"attr.missing!=", false},
		{"attr.run_id!=", true},
		{"id=m-1", true},
		{"id=orig-9", true},
		{"id=other", false},
		{"id!=orig-9", false},
		{`error~timeout\, giving`, true},
		{"attr.event_type=rawbatchlanded", false},
		{"attr.event_type=Raw=Batch", false},
	}
	for _, tc := range tests {
		f, err := dlq.ParseFilter(tc.expr)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.expr, err)
			continue
		}
		if got := f.Match(msg); got != tc.match {
			t.Errorf("%q matched %v, want %v", tc.expr, got, tc.match)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	for _, expr := range []string{"body", "attr.=x", "attr=x", "subject~x", "body~x,", "=x", "error"} {
		if _, err := dlq.ParseFilter(expr); !errors.Is(err, dlq.ErrBadFilter) {
			t.Errorf("ParseFilter(%q) error = %v, want ErrBadFilter", expr, err)
		}
	}
}
