package contracts

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Old golden examples must keep decoding: a consumer deployed later still reads them.
func TestGoldenExamplesDecode(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.json")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		msgType := strings.TrimSuffix(filepath.Base(f), ".json")
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(msgType, body)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if m.MessageType() != msgType {
			t.Errorf("%s decoded as %s", f, m.MessageType())
		}
		// Every field in the example is one the type knows (no silent renames).
		var raw map[string]any
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		re, _ := json.Marshal(m)
		var back map[string]any
		if err := json.Unmarshal(re, &back); err != nil {
			t.Fatal(err)
		}
		for k := range raw {
			if _, ok := back[k]; !ok {
				t.Errorf("%s: field %q is not in %T", f, k, m)
			}
		}
		seen[msgType] = true
	}
	for _, typ := range KnownTypes() {
		if !seen[typ] {
			t.Errorf("no golden example for %s", typ)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		body    string
		wantErr error
	}{
		{"unknown type", "gfn.pipeline.nope.v1", `{}`, ErrUnknownType},
		{"unknown version", "gfn.pipeline.raw_batch_landed.v9", `{"run_id":"r"}`, ErrUnknownType},
		{"not json", TypeRawBatchLanded, `{not json`, ErrUndecodable},
		{"wrong field type", TypeRawBatchLanded, `{"run_id":"r","year":"2020"}`, ErrUndecodable},
		{"missing run id", TypeRawBatchLanded, `{"year":2020}`, ErrUndecodable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.typ, []byte(tc.body))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decode error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestRegistryMatchesMethods(t *testing.T) {
	for typ, newMsg := range registry {
		m := newMsg()
		if m.MessageType() != typ {
			t.Errorf("registry key %s builds %T of type %s", typ, m, m.MessageType())
		}
		if reflect.TypeOf(m).Elem().Name() != m.EventType() {
			t.Errorf("%T event type %q differs from its Go name", m, m.EventType())
		}
	}
}
