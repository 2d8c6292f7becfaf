package confirm

import (
	"bytes"
	"context"
	"errors"
	"github.com/gfnpipeline/shared/telemetry"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
	"github.com/gfnpipeline/shared/warehouse"
)

// records is a fake of Snowflake's load records (COPY_HISTORY) and the stream's backlog.
type records struct {
	loads   []warehouse.CopyRecord
	since   time.Time
	name    string
	pending int64
}

func (r *records) FileLoads(_ context.Context, name string, since time.Time) ([]warehouse.CopyRecord, error) {
	r.since, r.name = since, name
	return r.loads, nil
}
func (r *records) PipeStatus(context.Context) (string, error) {
	return `{"executionState":"STOPPED_STAGE_ALTERED"}`, nil
}
func (r *records) PendingMerge(context.Context, string) (int64, error) { return r.pending, nil }
func (r *records) FileLoadID(context.Context, string) (string, error)  { return "ld-1", nil }
func (r *records) Count(context.Context) (int64, error)                { return 73942, nil }

const key = lake.TransformedPrefix + "year=2026/month=01/day=02/data_20260102_060000_ef-2022.parquet"

func setup(t *testing.T, r *records, age time.Duration) (*Confirmer, *messagingtest.Recorder, time.Time) {
	t.Helper()
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(context.Background(), key, []byte("PAR1"), map[string]string{lake.MetaRunID: "run-1", lake.MetaBatchID: "ef-2022"}); err != nil {
		t.Fatal(err)
	}
	obj, err := store.Head(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	pub := &messagingtest.Recorder{}
	c := New(Config{}, store, r, r, pub)
	c.now = func() time.Time { return obj.LastModified.Add(age) }
	return c, pub, obj.LastModified
}

func TestConfirm(t *testing.T) {
	loaded := func(status string, rows int64, firstErr string) []warehouse.CopyRecord {
		return []warehouse.CopyRecord{{FileName: key, Status: status, RowCount: rows, FirstError: firstErr}}
	}
	tests := []struct {
		name      string
		loads     []warehouse.CopyRecord
		pending   int64
		age       time.Duration
		wantDelay time.Duration // NotYet's delay; 0 means an outcome is published
		want      string        // BatchLoaded rows or BatchFailed reason fragment
	}{
		{"loaded and merged", loaded("Loaded", 3215, ""), 0, 40 * time.Second, 0, "loaded 3215"},
		{"fakesnow spelling", loaded("LOADED", 3215, ""), 0, 40 * time.Second, 0, "loaded 3215"},
		{"loaded, merge task pending", loaded("Loaded", 3215, ""), 3215, 40 * time.Second, 20 * time.Second, ""},
		{"load failed", loaded("Load failed", 0, "Column COUNTRY_CODE is not nullable"), 0, 40 * time.Second, 0, "snowpipe load failed " + key + ": Column COUNTRY_CODE is not nullable"},
		{"partially loaded", loaded("Partially loaded", 10, "bad row"), 0, 40 * time.Second, 0, "partially loaded"},
		{"nothing yet, young: the shortest delay", nil, 0, 2 * time.Second, DefaultMinDelay, ""},
		{"nothing yet: delay grows with age", nil, 0, 90 * time.Second, 45 * time.Second, ""},
		{"nothing yet: delay capped", nil, 0, 10 * time.Minute, DefaultMaxDelay, ""},
		{"nothing yet: last check lands past the deadline", nil, 0, 14*time.Minute + 30*time.Second, 31 * time.Second, ""},
		{"deadline passed", nil, 0, DefaultDeadline, 0, "not loaded within 15m0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &records{loads: tc.loads, pending: tc.pending}
			c, pub, created := setup(t, r, tc.age)
			var emf bytes.Buffer
			ctx := telemetry.WithMetrics(context.Background(), telemetry.NewMetrics(&emf, "loader"))
			err := c.Handle(ctx, &lake.ObjectCreated{Key: key})
			if !r.since.Equal(created.Add(-clockSlack)) {
				t.Errorf("asked for loads since %v, want the object's creation less %v", r.since, clockSlack)
			}
			if want := strings.TrimPrefix(key, "transformed/"); r.name != want {
				t.Errorf("asked for loads of %q, want the stage-relative %q", r.name, want)
			}
			var notYet *messaging.NotYetError
			if tc.wantDelay > 0 {
				if !errors.As(err, &notYet) || notYet.After != tc.wantDelay {
					t.Fatalf("err = %v, want NotYet after %v", err, tc.wantDelay)
				}
				if msgs := pub.Messages(); len(msgs) != 0 {
					t.Fatalf("published %v while waiting", msgs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msgs := pub.Messages()
			if len(msgs) != 1 {
				t.Fatalf("published %d messages, want 1", len(msgs))
			}
			switch m := msgs[0].(type) {
			case *contracts.BatchLoaded:
				if tc.want != "loaded 3215" || m.RowsLoaded != 3215 || m.TableRows != 73942 || m.LoadID != "ld-1" || m.RunID != "run-1" || m.BatchID != "ef-2022" {
					t.Fatalf("BatchLoaded %+v, want %s", m, tc.want)
				}
				if !strings.Contains(emf.String(), `"`+telemetry.MetricSnowpipeLatency+`"`) {
					t.Fatalf("no %s metric for a confirmed load: %s", telemetry.MetricSnowpipeLatency, emf.String())
				}
			case *contracts.BatchFailed:
				if !strings.Contains(m.Reason, tc.want) || m.Stage != Stage || m.RunID != "run-1" || m.BatchID != "ef-2022" {
					t.Fatalf("BatchFailed %+v, want reason with %q", m, tc.want)
				}
				if strings.Contains(tc.want, "not loaded within") && !strings.Contains(m.Reason, "STOPPED_STAGE_ALTERED") {
					t.Fatalf("stuck-load reason %q does not name the pipe's state", m.Reason)
				}
			default:
				t.Fatalf("published %T", m)
			}
		})
	}
}

func TestConfirmIgnoresOtherObjectsAndFailsMissingOnes(t *testing.T) {
	r := &records{}
	c, pub, _ := setup(t, r, time.Second)
	if err := c.Handle(context.Background(), &lake.ObjectCreated{Key: "raw/x.json"}); err != nil || len(pub.Messages()) != 0 {
		t.Fatalf("raw object: %v, %v", err, pub.Messages())
	}
	err := c.Handle(context.Background(), &lake.ObjectCreated{Key: lake.TransformedPrefix + "gone.parquet"})
	if !messaging.IsPermanent(err) {
		t.Fatalf("missing object: err = %v, want permanent", err)
	}
}
