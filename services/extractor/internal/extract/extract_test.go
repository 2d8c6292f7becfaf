package extract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/extractor/internal/extract"
	"github.com/gfnpipeline/services/extractor/internal/gfnapi"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/telemetry"
	"github.com/gfnpipeline/tools/gfnapi-sim/sim"
)

var t0 = time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)

func TestFullBackfillOfTheRecordingThenIncremental(t *testing.T) {
	if !haveRecording() {
		t.Skip("recording not present at " + recordingDir)
	}
	e := newEnv(t, envOpts{sim: sim.Config{DataDir: recordingDir}, cfg: extract.Config{Gzip: true}})
	plan, landed := e.run(t, contracts.ExtractionRequested{
		Header: contracts.Header{RunID: "run-full"}, Mode: contracts.ModeFull, FromYear: 2000, ToYear: 2022, RequestedAt: t0,
	}, 3)
	if len(plan.Batches) != 23 || len(landed) != 23 {
		t.Fatalf("planned %d, landed %d batches; want 23", len(plan.Batches), len(landed))
	}
	objs, err := e.store.List(context.Background(), lake.RawPrefix)
	if err != nil || len(objs) != 23 {
		t.Fatalf("%d raw objects (%v), want 23", len(objs), err)
	}
	records := 0
	for _, ev := range landed {
		records += ev.Records
		body, obj, err := e.store.Get(context.Background(), ev.Key)
		if err != nil {
			t.Fatal(err)
		}
		if body[0] != 0x1f || body[1] != 0x8b {
			t.Fatalf("%s is not gzipped", ev.Key)
		}
		want := readGz(t, filepath.Join(recordingDir, fmt.Sprintf("data_all_%d.json.gz", ev.Year)))
		if !bytes.Equal(gunzipIfNeeded(t, body), want) {
			t.Fatalf("%s differs from the recording of %d", ev.Key, ev.Year)
		}
		if ev.Key != lake.RawKey(t0, ev.BatchID) || ev.Revision || ev.Unchanged || ev.Bytes != int64(len(body)) {
			t.Fatalf("event %+v", ev)
		}
		if obj.Metadata[lake.MetaSHA256] != ev.SHA256 || obj.Metadata[lake.MetaRecords] != strconv.Itoa(ev.Records) ||
			obj.Metadata[lake.MetaRunID] != "run-full" || obj.Metadata[lake.MetaBatchID] != ev.BatchID ||
			obj.Metadata[lake.MetaExtractedAt] != t0.Format(time.RFC3339Nano) {
			t.Fatalf("metadata %v for %+v", obj.Metadata, ev)
		}
	}
	if records != 73942 {
		t.Fatalf("%d records landed, want 73,942", records)
	}

	// The pipeline loaded every year but 2005 (say it was quarantined, or its load was
	// interrupted): the run ledger has BatchLoaded for the others.
	for _, ev := range landed {
		if ev.Year != 2005 {
			markLoaded(t, e.store, ev.RunID, ev.BatchID)
		}
	}

	// Incremental right after: the three newest years are fetched again, and their unchanged
	// bytes land nothing new; 2005, landed but never loaded, is announced again from raw
	// without asking the API.
	t1 := t0.Add(24 * time.Hour)
	dataBefore := e.sim.Stats().Endpoints[sim.EndpointData]
	plan, landed = e.run(t, contracts.ExtractionRequested{
		Header: contracts.Header{RunID: "run-inc"}, Mode: contracts.ModeIncremental, RequestedAt: t1,
	}, 3)
	var years []int
	for _, b := range plan.Batches {
		years = append(years, b.Year)
	}
	if !slices.Equal(years, []int{2005, 2020, 2021, 2022}) || len(landed) != 4 {
		t.Fatalf("incremental planned %v and landed %d", years, len(landed))
	}
	for _, ev := range landed {
		if !ev.Unchanged || ev.Revision || ev.Key != lake.RawKey(t0, ev.BatchID) || ev.RunID != "run-inc" || !ev.ExtractedAt.Equal(t1) || ev.Records == 0 {
			t.Fatalf("incremental event %+v", ev)
		}
	}
	if n := e.sim.Stats().Endpoints[sim.EndpointData] - dataBefore; n != 3 {
		t.Fatalf("incremental fetched %d years, want 3 (2005 comes from raw)", n)
	}
	if objs, _ := e.store.List(context.Background(), lake.RawPrefix); len(objs) != 23 {
		t.Fatalf("%d raw objects after the incremental run, want still 23", len(objs))
	}
}

// markLoaded writes what the notifier records when the loader announces a batch loaded.
func markLoaded(t *testing.T, store lake.Store, runID, batchID string) {
	t.Helper()
	key := lake.RunEventKey(runID, batchID, (contracts.BatchLoaded{}).EventType())
	if err := store.Put(context.Background(), key, []byte(`{}`), nil); err != nil {
		t.Fatal(err)
	}
}

// A year to take from raw whose object is gone is fetched from the API again.
func TestFromRawWithoutIntactRawFetchesTheAPI(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	first := batchReq("run-1", 2020, t0)
	if err := e.ex.Handle(ctx, first); err != nil {
		t.Fatal(err)
	}
	ev := ofType[*contracts.RawBatchLanded](e.pub.Take())[0]
	if err := e.store.Delete(ctx, ev.Key); err != nil {
		t.Fatal(err)
	}
	again := batchReq("run-2", 2020, t0.Add(time.Hour))
	again.Mode, again.FromRaw = contracts.ModeIncremental, true
	before := e.sim.Stats().Endpoints[sim.EndpointData]
	if err := e.ex.Handle(ctx, again); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.Stats().Endpoints[sim.EndpointData] - before; n != 1 {
		t.Fatalf("%d API calls, want 1", n)
	}
	landed := ofType[*contracts.RawBatchLanded](e.pub.Take())[0]
	if _, err := e.store.Head(ctx, landed.Key); err != nil || landed.Records != ev.Records {
		t.Fatalf("landed %+v (%v)", landed, err)
	}
}

// The same flow on generated data always runs, with faults: retries are invisible in the lake.
func TestBackfillGeneratedDataThroughFaults(t *testing.T) {
	e := newEnv(t, envOpts{sim: sim.Config{Faults: "500:0.15,429:0.02,reset:0.1,truncate:0.1", Seed: 11, MissingYears: []int{2016}}})
	plan, landed := e.run(t, contracts.ExtractionRequested{
		Header: contracts.Header{RunID: "run-gen"}, Mode: contracts.ModeFull, RequestedAt: t0,
	}, 3)
	if len(plan.Batches) != len(sim.GeneratedYears) || len(landed) != len(sim.GeneratedYears) {
		t.Fatalf("planned %d, landed %d", len(plan.Batches), len(landed))
	}
	if e.sim.Stats().FaultsInjected == 0 {
		t.Fatal("no faults injected; the test proves nothing")
	}
	clean := newEnv(t, envOpts{})
	c := gfnapi.New(gfnapi.Config{BaseURL: clean.url + "/v1", APIKey: apiKey})
	for _, ev := range landed {
		if ev.Year == 2016 {
			// Missing year: documented as an empty batch with no object.
			if ev.Key != "" || ev.Records != 0 || ev.SHA256 != "" || ev.Unchanged {
				t.Fatalf("missing year event %+v", ev)
			}
			continue
		}
		want, err := c.DataAllYear(context.Background(), ev.Year)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := e.store.Get(context.Background(), ev.Key)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("year %d: landed bytes differ from the API's (%v)", ev.Year, err)
		}
	}
	if objs, _ := e.store.List(context.Background(), lake.RawPrefix); len(objs) != len(sim.GeneratedYears)-1 {
		t.Fatalf("%d raw objects", len(objs))
	}
}

// writeYear puts one year's body in a data dir the simulator serves.
func writeYear(t *testing.T, dir string, year int, body []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("data_all_%d.json", year)), body, 0o644); err != nil {
		t.Fatal(err)
	}
}

func batchReq(run string, year int, at time.Time) *contracts.ExtractionRequested {
	return &contracts.ExtractionRequested{
		Header: contracts.Header{RunID: run, BatchID: contracts.BatchID(year, nil, nil)},
		Mode:   contracts.ModeFull, FromYear: year, ToYear: year, RequestedAt: at,
	}
}

// Changed bytes land as a new object flagged as a revision; a taken key is never overwritten.
func TestRevisionsAndImmutability(t *testing.T) {
	ctx := context.Background()
	v1 := []byte(`[{"year": 2020, "countryCode": 1, "value": 1.0}]`)
	v2 := []byte(`[{"year": 2020, "countryCode": 1, "value": 2.0}]`)
	dir1, dir2 := t.TempDir(), t.TempDir()
	writeYear(t, dir1, 2020, v1)
	writeYear(t, dir2, 2020, v2)
	e1 := newEnv(t, envOpts{sim: sim.Config{DataDir: dir1}})
	e2 := newEnv(t, envOpts{sim: sim.Config{DataDir: dir2}, store: e1.store})

	steps := []struct {
		env                   *env
		run                   string
		at                    time.Time
		wantKey               string
		wantRevision, unchang bool
		body                  []byte
	}{
		{e1, "r1", t0, lake.RawKey(t0, "ef-2020"), false, false, v1},
		{e2, "r2", t0.Add(time.Hour), lake.RawKey(t0.Add(time.Hour), "ef-2020"), true, false, v2},
		{e2, "r3", t0.Add(2 * time.Hour), lake.RawKey(t0.Add(time.Hour), "ef-2020"), false, true, v2},
		// Same request time as r2's object but other bytes: the key is taken, so a suffix.
		{e1, "r4", t0.Add(time.Hour), strings.TrimSuffix(lake.RawKey(t0.Add(time.Hour), "ef-2020"), ".json") + "-2.json", true, false, v1},
	}
	for i, s := range steps {
		if err := s.env.ex.Handle(ctx, batchReq(s.run, 2020, s.at)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		evs := ofType[*contracts.RawBatchLanded](s.env.pub.Take())
		if len(evs) != 1 {
			t.Fatalf("step %d: %d events", i, len(evs))
		}
		ev := evs[0]
		if ev.Key != s.wantKey || ev.Revision != s.wantRevision || ev.Unchanged != s.unchang || ev.Records != 1 {
			t.Fatalf("step %d: event %+v", i, ev)
		}
		got, _, err := e1.store.Get(ctx, ev.Key)
		if err != nil || !bytes.Equal(got, s.body) {
			t.Fatalf("step %d: %s holds %q (%v)", i, ev.Key, got, err)
		}
	}
	if objs, _ := e1.store.List(ctx, lake.RawPrefix); len(objs) != 3 {
		t.Fatalf("%d raw objects, want 3", len(objs))
	}
	idx, _, err := e1.store.Get(ctx, lake.RawIndexKey("ef-2020"))
	var ri lake.RawIndex
	if err != nil || json.Unmarshal(idx, &ri) != nil || ri.Key != steps[3].wantKey {
		t.Fatalf("raw index %s (%v)", idx, err)
	}
}

// A redelivered command repeats its event and nothing else, even after a failed publish.
func TestRedeliveryIsANoOp(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOpts{})
	req := batchReq("run-r", 2019, t0)
	e.pub.FailNext(1, errPublish)
	if err := e.ex.Handle(ctx, req); !errors.Is(err, errPublish) || messaging.IsPermanent(err) {
		t.Fatalf("err = %v, want the retryable publish error", err)
	}
	fetched := e.sim.Stats().Endpoints[sim.EndpointData]
	var events []*contracts.RawBatchLanded
	for range 2 {
		if err := e.ex.Handle(ctx, req); err != nil {
			t.Fatal(err)
		}
		events = append(events, ofType[*contracts.RawBatchLanded](e.pub.Take())...)
	}
	if len(events) != 2 || *events[0] != *events[1] || events[0].Unchanged || events[0].Key != lake.RawKey(t0, "ef-2019") {
		t.Fatalf("events %+v", events)
	}
	if n := e.sim.Stats().Endpoints[sim.EndpointData]; n != fetched {
		t.Fatalf("redelivery fetched the API again (%d -> %d)", fetched, n)
	}
	if objs, _ := e.store.List(ctx, lake.RawPrefix); len(objs) != 1 {
		t.Fatalf("%d raw objects", len(objs))
	}
}

func TestFiltersLandOnlyMatchingRecords(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOpts{})
	countries, types := []int{147, 107}, []string{"Population", "EFConsPerCap"}
	id := contracts.BatchID(2020, countries, types)
	err := e.ex.Handle(ctx, &contracts.ExtractionRequested{
		Header: contracts.Header{RunID: "run-f", BatchID: id}, FromYear: 2020, ToYear: 2020,
		Countries: countries, RecordTypes: types, RequestedAt: t0,
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := ofType[*contracts.RawBatchLanded](e.pub.Take())[0]
	body, _, err := e.store.Get(ctx, ev.Key)
	if err != nil {
		t.Fatal(err)
	}
	var recs []contracts.APIRecord
	if err := json.Unmarshal(body, &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || ev.Records != 4 {
		t.Fatalf("%d records (event says %d), want 4", len(recs), ev.Records)
	}
	for _, r := range recs {
		if !slices.Contains(countries, r.CountryCode) || !slices.Contains(types, r.Record) {
			t.Fatalf("record %+v passed the filter", r)
		}
	}
}

func TestPlanning(t *testing.T) {
	tests := []struct {
		name      string
		req       contracts.ExtractionRequested
		landed    []int // landed and loaded
		wantYears []int
		permanent bool
		unloaded  []int // landed, never loaded: planned from raw
	}{
		{"full defaults to the API's years", contracts.ExtractionRequested{Mode: contracts.ModeFull}, nil, sim.GeneratedYears, false, nil},
		{"full range clipped to the API", contracts.ExtractionRequested{Mode: contracts.ModeFull, FromYear: 1961, ToYear: 2016}, nil, []int{2015, 2016}, false, nil},
		{"empty mode is full", contracts.ExtractionRequested{FromYear: 2020, ToYear: 2020}, nil, []int{2020}, false, nil},
		{"incremental: unlanded plus recheck", contracts.ExtractionRequested{Mode: contracts.ModeIncremental}, []int{2015, 2016, 2017, 2018, 2019, 2020, 2021}, []int{2020, 2021, 2022}, false, nil},
		{"incremental: nothing landed", contracts.ExtractionRequested{Mode: contracts.ModeIncremental}, nil, sim.GeneratedYears, false, nil},
		{"incremental: recheck 1 and a gap", contracts.ExtractionRequested{Mode: contracts.ModeIncremental, RecheckLast: 1}, []int{2015, 2017, 2018, 2019, 2020, 2021, 2022}, []int{2016, 2022}, false, nil},
		{"incremental: landed but never loaded", contracts.ExtractionRequested{Mode: contracts.ModeIncremental}, []int{2015, 2017, 2019, 2020}, []int{2016, 2018, 2020, 2021, 2022}, false, []int{2016, 2018}},
		{"unknown mode", contracts.ExtractionRequested{Mode: "sometimes"}, nil, nil, true, nil},
		{"reversed range", contracts.ExtractionRequested{Mode: contracts.ModeFull, FromYear: 2020, ToYear: 2010}, nil, nil, true, nil},
		{"no API years in range", contracts.ExtractionRequested{Mode: contracts.ModeFull, FromYear: 1961, ToYear: 1970}, nil, nil, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, envOpts{})
			for _, y := range append(slices.Clone(tc.landed), tc.unloaded...) {
				id := contracts.BatchID(y, nil, nil)
				idx := fmt.Sprintf(`{"batch_id":%q,"last_event":{"run_id":"run-before"}}`, id)
				if err := e.store.Put(ctx, lake.RawIndexKey(id), []byte(idx), nil); err != nil {
					t.Fatal(err)
				}
				if slices.Contains(tc.landed, y) {
					markLoaded(t, e.store, "run-before", id)
				}
			}
			req := tc.req
			req.RunID, req.RequestedAt, req.RequestedBy = "run-p", t0, "test"
			err := e.ex.Handle(ctx, &req)
			if tc.permanent {
				if !messaging.IsPermanent(err) || len(e.pub.Take()) != 0 {
					t.Fatalf("err = %v, want permanent with nothing published", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msgs := e.pub.Take()
			plan := ofType[*contracts.ExtractionPlanned](msgs)[0]
			cmds := ofType[*contracts.ExtractionRequested](msgs)
			var years []int
			for i, b := range plan.Batches {
				years = append(years, b.Year)
				c := cmds[i]
				if c.BatchID != b.BatchID || c.FromYear != b.Year || c.ToYear != b.Year || c.RunID != "run-p" ||
					!c.RequestedAt.Equal(t0) || c.RequestedBy != "test" || b.BatchID != contracts.BatchID(b.Year, nil, nil) ||
					c.FromRaw != slices.Contains(tc.unloaded, b.Year) {
					t.Fatalf("command %+v for %+v", c, b)
				}
			}
			if !slices.Equal(years, tc.wantYears) || len(cmds) != len(years) || !plan.StartedAt.Equal(t0) {
				t.Fatalf("planned %v (%d commands), want %v", years, len(cmds), tc.wantYears)
			}
		})
	}
}

func TestRejectedKeyIsPermanentAfterOneRequest(t *testing.T) {
	for _, req := range []*contracts.ExtractionRequested{
		{Header: contracts.Header{RunID: "run-k"}, Mode: contracts.ModeFull, RequestedAt: t0},
		batchReq("run-k", 2020, t0),
	} {
		e := newEnv(t, envOpts{sim: sim.Config{RejectAllKeys: true}})
		err := e.ex.Handle(context.Background(), req)
		if !messaging.IsPermanent(err) || !errors.Is(err, gfnapi.ErrForbidden) || !strings.Contains(err.Error(), "rejected the API key (403)") {
			t.Fatalf("err = %v, want permanent ErrForbidden", err)
		}
		if n := e.sim.Stats().Requests; n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	}
}

func TestBadResponsesGoToFailed(t *testing.T) {
	valid := `[{"year": 2020, "countryCode": 1, "record": "HDI", "value": 0.7}]`
	tests := []struct {
		name, body string
		maxBytes   int64
		wantReason string
	}{
		{"not json", "<html>Service Unavailable</html>", 0, "not JSON"},
		{"truncated", valid[:40], 0, "truncated"},
		{"object", `{"error": "maintenance"}`, 0, "JSON object, not an array"},
		{"array of numbers", `[1, 2]`, 0, "element 0 is a number"},
		{"oversize", valid, 20, "size limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.body))
			}))
			defer ts.Close()
			e := newEnvFor(t, ts.URL, envOpts{client: func(c *gfnapi.Config) { c.MaxBodyBytes = tc.maxBytes }})
			err := e.ex.Handle(context.Background(), batchReq("run-b", 2020, t0))
			if !messaging.IsPermanent(err) || !strings.Contains(err.Error(), tc.wantReason) {
				t.Fatalf("err = %v, want permanent mentioning %q", err, tc.wantReason)
			}
			doc, _, err := e.store.Get(context.Background(), lake.FailedResponseKey(t0, "ef-2020"))
			if err != nil || !strings.Contains(string(doc), tc.wantReason) || !strings.Contains(string(doc), `"batch_id": "ef-2020"`) {
				t.Fatalf("failed object %s (%v)", doc, err)
			}
			if objs, _ := e.store.List(context.Background(), lake.RawPrefix); len(objs) != 0 || len(e.pub.Take()) != 0 {
				t.Fatalf("a rejected response landed %d objects or published events", len(objs))
			}
		})
	}
}

func TestSchemaDriftIsLoggedNotFatal(t *testing.T) {
	body := `[{"year": 2020, "countryCode": 1, "record": "HDI", "value": 0.7, "newMetric": 1},` +
		`{"year": 2020, "countryCode": 2, "record": "HDI", "value": 0.5, "newMetric": 2, "note": {"a": "b"}}]`
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) }))
	defer ts.Close()
	e := newEnvFor(t, ts.URL, envOpts{})
	var logs bytes.Buffer
	ctx := telemetry.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err := e.ex.Handle(ctx, batchReq("run-d", 2020, t0)); err != nil {
		t.Fatal(err)
	}
	ev := ofType[*contracts.RawBatchLanded](e.pub.Take())[0]
	got, _, _ := e.store.Get(ctx, ev.Key)
	if !bytes.Equal(got, []byte(body)) || ev.Records != 2 {
		t.Fatalf("landed %q, %d records", got, ev.Records)
	}
	var drift int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, `"msg":"unknown API fields kept in raw"`) {
			drift++
			if !strings.Contains(line, `"fields":["newMetric","note"]`) {
				t.Fatalf("drift line %s", line)
			}
		}
	}
	if drift != 1 {
		t.Fatalf("%d unknown-field lines, want 1: %s", drift, logs.String())
	}
}
