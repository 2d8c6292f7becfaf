package validate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/contracts/quality"
	"github.com/gfnpipeline/contracts/quality/qualitytest"
	"github.com/gfnpipeline/services/validator/internal/validate"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
	"github.com/gfnpipeline/shared/telemetry"
)

type env struct {
	store *lake.Dir
	pub   *messagingtest.Recorder
	logs  *bytes.Buffer
	ctx   context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	ctx := telemetry.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(logs, nil)))
	return &env{store: store, pub: &messagingtest.Recorder{}, logs: logs, ctx: ctx}
}

var extractedAt = time.Date(2026, 3, 4, 6, 0, 1, 0, time.UTC)

// land puts body in raw/ and returns the event the extractor would publish.
func (e *env) land(t *testing.T, year int, body []byte) *contracts.RawBatchLanded {
	t.Helper()
	batch := contracts.BatchID(year, nil, nil)
	key := lake.RawKey(extractedAt, batch)
	if err := e.store.Put(e.ctx, key, body, nil); err != nil {
		t.Fatal(err)
	}
	return &contracts.RawBatchLanded{
		Header: contracts.Header{RunID: "run-1", BatchID: batch}, Year: year, Key: key,
		Records: bytes.Count(body, []byte("{")), ExtractedAt: extractedAt,
	}
}

func (e *env) objects(t *testing.T) map[string][]byte {
	t.Helper()
	objs, err := e.store.List(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, o := range objs {
		b, _, err := e.store.Get(e.ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[o.Key] = b
	}
	return out
}

func (e *env) failedReport(t *testing.T, key string) lake.FailedReport {
	t.Helper()
	b, _, err := e.store.Get(e.ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var r lake.FailedReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestValidatedBatchStagesValidRowsAndReportsRejects(t *testing.T) {
	e := newEnv(t)
	f := qualitytest.Build()
	msg := e.land(t, 2020, f.Body)
	// The fixture rejects 9 of 17 rows; a threshold above that lets it through.
	v := validate.New(validate.Config{RejectThreshold: 0.6}, e.store, e.pub)
	if err := v.Handle(e.ctx, msg); err != nil {
		t.Fatal(err)
	}
	if len(e.pub.Messages()) != 1 {
		t.Fatalf("published %v", e.pub.Messages())
	}
	got, ok := e.pub.Messages()[0].(*contracts.BatchValidated)
	if !ok {
		t.Fatalf("published %T", e.pub.Messages()[0])
	}
	want := &contracts.BatchValidated{
		Header: msg.Header, Year: 2020, SourceKey: msg.Key,
		StagedKey: lake.StagedKey("run-1", msg.BatchID), FailedKey: lake.FailedKey(extractedAt, msg.BatchID),
		RowsIn: f.Valid + len(f.Rejects), RowsValid: f.Valid, RowsRejected: len(f.Rejects),
		Warnings: len(f.Warnings) + len(f.UnknownFields), ExtractedAt: extractedAt,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("published\n%+v\nwant\n%+v", got, want)
	}

	staged, obj, err := e.store.Get(e.ctx, got.StagedKey)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := quality.DecodeStaged(staged)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != f.Valid {
		t.Fatalf("%d staged rows, want %d", len(rows), f.Valid)
	}
	wantMeta := map[string]string{
		lake.MetaRunID: "run-1", lake.MetaBatchID: msg.BatchID, lake.MetaRecords: "8",
		lake.MetaExtractedAt: "2026-03-04T06:00:01Z", lake.MetaSourceKey: msg.Key,
	}
	if !reflect.DeepEqual(obj.Metadata, wantMeta) {
		t.Errorf("staged metadata %v, want %v", obj.Metadata, wantMeta)
	}

	rep := e.failedReport(t, got.FailedKey)
	if rep.Quarantined || rep.RowsRejected != len(f.Rejects) || len(rep.Rejects) != len(f.Rejects) {
		t.Fatalf("failed report %+v", rep)
	}
	for _, rj := range rep.Rejects {
		if len(rj.Violations) != 1 || rj.Violations[0].Rule != f.Rejects[rj.Index] || len(rj.Row) == 0 {
			t.Errorf("reject %+v, want rule %s", rj, f.Rejects[rj.Index])
		}
	}
	// Schema drift is reported once per run, naming the unknown fields: another batch of the
	// same run with the same field says nothing more; a new run reports it again.
	another := e.land(t, 2021, f.Body)
	if err := v.Handle(e.ctx, another); err != nil {
		t.Fatal(err)
	}
	drift := `"msg":"schema drift: unknown API fields kept in the extra column"`
	if n := strings.Count(e.logs.String(), drift); n != 1 || !strings.Contains(e.logs.String(), `"unknown_fields":["newMetric"]`) {
		t.Errorf("schema drift logged %d times in one run:\n%s", n, e.logs)
	}
	another.RunID = "run-2"
	if err := v.Handle(e.ctx, another); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(e.logs.String(), drift); n != 2 {
		t.Errorf("schema drift logged %d times over two runs, want 2", n)
	}
}

func TestQuarantineAboveThreshold(t *testing.T) {
	e := newEnv(t)
	msg := e.land(t, 2020, qualitytest.Build().Body)
	if err := validate.New(validate.Config{}, e.store, e.pub).Handle(e.ctx, msg); err != nil {
		t.Fatal(err)
	}
	q, ok := e.pub.Messages()[0].(*contracts.BatchQuarantined)
	if !ok || len(e.pub.Messages()) != 1 {
		t.Fatalf("published %v", e.pub.Messages())
	}
	if q.FailedKey != lake.FailedKey(extractedAt, msg.BatchID) || q.RowsIn != 17 || q.RowsRejected != 9 || q.SourceKey != msg.Key ||
		!strings.Contains(q.Reason, "above the 5.0% threshold") || !strings.Contains(q.Reason, "year_range=1") {
		t.Fatalf("quarantined %+v", q)
	}
	if !e.failedReport(t, q.FailedKey).Quarantined {
		t.Error("failed report does not say quarantined")
	}
	if _, err := e.store.Head(e.ctx, lake.StagedKey("run-1", msg.BatchID)); !errors.Is(err, lake.ErrNotFound) {
		t.Errorf("a quarantined batch was staged: %v", err)
	}
}

func TestThresholdIsInclusive(t *testing.T) {
	// 1 reject in 20 rows is exactly 5%: not above the default threshold.
	b := qualitytest.Base()
	rows := []qualitytest.Row{b.With("countryCode", "0")}
	for i := 1; i < 20; i++ {
		rows = append(rows, b.With("countryCode", strconv.Itoa(i+10)))
	}
	e := newEnv(t)
	if err := validate.New(validate.Config{}, e.store, e.pub).Handle(e.ctx, e.land(t, 2020, qualitytest.Batch(rows...))); err != nil {
		t.Fatal(err)
	}
	if v, ok := e.pub.Messages()[0].(*contracts.BatchValidated); !ok || v.RowsRejected != 1 || v.RowsValid != 19 {
		t.Fatalf("published %+v", e.pub.Messages()[0])
	}
}

func TestZeroRowBatch(t *testing.T) {
	e := newEnv(t)
	msg := &contracts.RawBatchLanded{Header: contracts.Header{RunID: "run-1", BatchID: "ef-2024"}, Year: 2024, ExtractedAt: extractedAt}
	if err := validate.New(validate.Config{}, e.store, e.pub).Handle(e.ctx, msg); err != nil {
		t.Fatal(err)
	}
	want := &contracts.BatchValidated{Header: msg.Header, Year: 2024, ExtractedAt: extractedAt}
	if len(e.pub.Messages()) != 1 || !reflect.DeepEqual(e.pub.Messages()[0], want) {
		t.Fatalf("published %+v", e.pub.Messages())
	}
	if objs := e.objects(t); len(objs) != 0 {
		t.Fatalf("wrote %v", objs)
	}

	// An empty array is also zero rows: validated, nothing staged.
	e = newEnv(t)
	if err := validate.New(validate.Config{}, e.store, e.pub).Handle(e.ctx, e.land(t, 2024, []byte("[]"))); err != nil {
		t.Fatal(err)
	}
	if v := e.pub.Messages()[0].(*contracts.BatchValidated); v.RowsIn != 0 || v.StagedKey != "" || v.FailedKey != "" {
		t.Fatalf("published %+v", v)
	}
}

func TestRedeliveryRewritesTheSameObjects(t *testing.T) {
	e := newEnv(t)
	msg := e.land(t, 2020, qualitytest.Build().Body)
	v := validate.New(validate.Config{RejectThreshold: 0.6}, e.store, e.pub)
	if err := v.Handle(e.ctx, msg); err != nil {
		t.Fatal(err)
	}
	first := e.objects(t)
	if err := v.Handle(e.ctx, msg); err != nil {
		t.Fatal(err)
	}
	if second := e.objects(t); !reflect.DeepEqual(first, second) {
		t.Fatalf("redelivery changed the lake: %d objects, then %d", len(first), len(second))
	}
	if len(first) != 4 { // raw, staged, failed, the run's schema-drift note
		t.Fatalf("objects %d, want raw, staged, failed and the drift note", len(first))
	}
	if len(e.pub.Messages()) != 2 || !reflect.DeepEqual(e.pub.Messages()[0], e.pub.Messages()[1]) {
		t.Fatalf("redelivery published %+v", e.pub.Messages())
	}
}

func TestMalformedBodyIsPermanent(t *testing.T) {
	e := newEnv(t)
	msg := e.land(t, 2020, []byte(`{"error":"rate limited"}`))
	err := validate.New(validate.Config{}, e.store, e.pub).Handle(e.ctx, msg)
	if !messaging.IsPermanent(err) || !errors.Is(err, quality.ErrMalformedBody) {
		t.Fatalf("error %v, want a permanent ErrMalformedBody", err)
	}
	if len(e.pub.Messages()) != 0 {
		t.Fatalf("published %+v", e.pub.Messages())
	}
	rep := e.failedReport(t, lake.FailedKey(extractedAt, msg.BatchID))
	if !strings.Contains(rep.Error, "not a well-formed JSON array") || rep.SourceKey != msg.Key {
		t.Fatalf("failed report %+v", rep)
	}
}

func TestBadEventsArePermanent(t *testing.T) {
	e := newEnv(t)
	v := validate.New(validate.Config{}, e.store, e.pub)
	for name, msg := range map[string]*contracts.RawBatchLanded{
		"records without key": {Header: contracts.Header{RunID: "r", BatchID: "ef-2020"}, Records: 3},
		"missing raw object":  {Header: contracts.Header{RunID: "r", BatchID: "ef-2020"}, Key: "raw/nope.json", Records: 3},
	} {
		if err := v.Handle(e.ctx, msg); !messaging.IsPermanent(err) || !errors.Is(err, validate.ErrBadEvent) {
			t.Errorf("%s: error %v, want a permanent ErrBadEvent", name, err)
		}
	}
}

// One real recorded year, as the extractor lands it, passes whole.
func TestRecordedYear(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(repoRoot(t), "..", "shared", "data", "gfn-api-recording", "data_all_2022.json.gz"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("GFN API recording not available")
	}
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	if err := validate.New(validate.Config{}, e.store, e.pub).Handle(e.ctx, e.land(t, 2022, body)); err != nil {
		t.Fatal(err)
	}
	v, ok := e.pub.Messages()[0].(*contracts.BatchValidated)
	if !ok || v.RowsRejected != 0 || v.RowsValid != v.RowsIn || v.RowsIn < 3000 || v.FailedKey != "" || v.Warnings != 0 {
		t.Fatalf("published %+v", e.pub.Messages()[0])
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}
