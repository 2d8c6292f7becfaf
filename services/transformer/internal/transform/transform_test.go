package transform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/contracts/quality"
	"github.com/gfnpipeline/contracts/quality/qualitytest"
	"github.com/gfnpipeline/services/transformer/internal/transform"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
)

var extractedAt = time.Date(2026, 3, 4, 6, 0, 1, 0, time.UTC)

// fixtureRows are the valid rows of the tier-1 fixture (nulls, "", "NA", an aggregate, an
// unknown key, an unknown record type).
func fixtureRows(t testing.TB) []quality.Row {
	t.Helper()
	res, err := quality.ValidateBatch(qualitytest.Build().Body, quality.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Rows
}

type env struct {
	store *lake.Dir
	pub   *messagingtest.Recorder
	tr    *transform.Transformer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pub := &messagingtest.Recorder{}
	return &env{store: store, pub: pub, tr: transform.New(transform.Config{}, store, pub)}
}

// stage writes rows as the validator does and returns its event.
func (e *env) stage(t *testing.T, rows []quality.Row) *contracts.BatchValidated {
	t.Helper()
	body, err := quality.EncodeStaged(rows)
	if err != nil {
		t.Fatal(err)
	}
	msg := &contracts.BatchValidated{
		Header: contracts.Header{RunID: "run-1", BatchID: "ef-2020"}, Year: 2020,
		SourceKey: lake.RawKey(extractedAt, "ef-2020"), StagedKey: lake.StagedKey("run-1", "ef-2020"),
		RowsIn: len(rows), RowsValid: len(rows), ExtractedAt: extractedAt,
	}
	if err := e.store.Put(context.Background(), msg.StagedKey, body, nil); err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestHandleWritesParquetAndSchema(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rows := fixtureRows(t)
	msg := e.stage(t, rows)
	if err := e.tr.Handle(ctx, msg); err != nil {
		t.Fatal(err)
	}
	key, err := lake.TransformedKey(msg.SourceKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := "transformed/ecological_footprint/year=2026/month=03/day=04/data_20260304_060001_ef-2020.parquet"; key != want {
		t.Fatalf("key %s, want %s", key, want)
	}
	body, obj, err := e.store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	want := &contracts.BatchTransformed{Header: msg.Header, Year: 2020, SourceKey: msg.SourceKey, Key: key, Rows: len(rows), Bytes: int64(len(body))}
	if len(e.pub.Messages()) != 1 || !reflect.DeepEqual(e.pub.Messages()[0], want) {
		t.Fatalf("published %+v, want %+v", e.pub.Messages(), want)
	}
	wantMeta := map[string]string{
		lake.MetaRunID: "run-1", lake.MetaBatchID: "ef-2020", lake.MetaRecords: "8",
		lake.MetaExtractedAt: "2026-03-04T06:00:01Z", lake.MetaSourceKey: msg.SourceKey,
	}
	if !reflect.DeepEqual(obj.Metadata, wantMeta) {
		t.Errorf("metadata %v, want %v", obj.Metadata, wantMeta)
	}
	if !bytes.HasPrefix(body, []byte("PAR1")) || !bytes.HasSuffix(body, []byte("PAR1")) {
		t.Fatal("transformed object is not a Parquet file")
	}

	doc, _, err := e.store.Get(ctx, lake.SchemaKey)
	if err != nil {
		t.Fatal(err)
	}
	var sd transform.SchemaDoc
	if err := json.Unmarshal(doc, &sd); err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(sd.Columns))
	for i, c := range sd.Columns {
		names[i] = c.Name
	}
	if sd.Name != contracts.RecordSchemaName || sd.Version != contracts.RecordSchemaVersion || !slices.Equal(names, contracts.RowColumns) {
		t.Fatalf("schema document %+v", sd)
	}
}

// The schema is the contract: column order, physical and logical types and nullability.
func TestSchema(t *testing.T) {
	type col struct {
		name, physical, logical string
		nullable                bool
	}
	str := func(n string, null bool) col { return col{n, "BYTE_ARRAY", "STRING", null} }
	dbl := func(n string, null bool) col { return col{n, "DOUBLE", "", null} }
	want := []col{
		{"year", "INT32", "INT(32,true)", false}, {"country_code", "INT32", "INT(32,true)", false},
		str("country_name", false), str("short_name", false), str("iso_alpha2", true), str("iso_alpha3", true),
		{"is_aggregate", "BOOLEAN", "", false}, str("record_type", false),
		dbl("crop_land", true), dbl("grazing_land", true), dbl("forest_land", true), dbl("fishing_ground", true),
		dbl("builtup_land", true), dbl("carbon", true), dbl("value", false),
		str("score", true), str("extra", true), str("run_id", false), str("batch_id", false), str("source_key", false),
		{"extracted_at", "INT64", "TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)", false},
	}
	doc, err := transform.SchemaDocument()
	if err != nil {
		t.Fatal(err)
	}
	var sd transform.SchemaDoc
	if err := json.Unmarshal(doc, &sd); err != nil {
		t.Fatal(err)
	}
	var got []col
	for _, c := range sd.Columns {
		got = append(got, col{c.Name, c.PhysicalType, c.LogicalType, c.Nullable})
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schema\n%v\nwant\n%v", got, want)
	}
}

func TestToRows(t *testing.T) {
	rows, err := transform.ToRows(fixtureRows(t), transform.Lineage{RunID: "r", BatchID: "b", SourceKey: "raw/k", ExtractedAt: extractedAt.In(time.FixedZone("x", 3600))})
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[int32]contracts.Row{}
	for _, r := range rows {
		if r.RunID != "r" || r.BatchID != "b" || r.SourceKey != "raw/k" || !r.ExtractedAt.Equal(extractedAt) || r.ExtractedAt.Location() != time.UTC {
			t.Fatalf("lineage %+v", r)
		}
		byCode[r.CountryCode] = r
	}
	if r := byCode[147]; r.ISOAlpha2 == nil || *r.ISOAlpha2 != "NA" || r.ISOAlpha3 == nil || *r.ISOAlpha3 != "NAM" || r.IsAggregate {
		t.Errorf("Namibia %+v", r)
	}
	if r := byCode[206]; r.ISOAlpha2 == nil || *r.ISOAlpha2 != "" || r.ISOAlpha3 != nil {
		t.Errorf("Sudan (former) %+v", r)
	}
	if r := byCode[2000]; !r.IsAggregate || r.ISOAlpha2 != nil || r.CropLand != nil || r.Score != nil || r.Value != 1340598000 {
		t.Errorf("aggregate %+v", r)
	}
	if r := byCode[107]; r.Extra == nil || *r.Extra != `{"newMetric":{"unit":"gha","v":[1,2]}}` || r.CountryName != "Côte d'Ivoire" {
		t.Errorf("drift row %+v", r)
	}
	if r := byCode[1]; r.Extra != nil || r.CropLand == nil || *r.CropLand != 0.5 || r.ISOAlpha3 == nil || *r.ISOAlpha3 != "ARM" {
		t.Errorf("Armenia %+v", r)
	}
}

func TestZeroRowBatch(t *testing.T) {
	e := newEnv(t)
	msg := &contracts.BatchValidated{Header: contracts.Header{RunID: "run-1", BatchID: "ef-2024"}, Year: 2024, ExtractedAt: extractedAt}
	if err := e.tr.Handle(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	want := &contracts.BatchTransformed{Header: msg.Header, Year: 2024}
	if len(e.pub.Messages()) != 1 || !reflect.DeepEqual(e.pub.Messages()[0], want) {
		t.Fatalf("published %+v", e.pub.Messages())
	}
	if objs, _ := e.store.List(context.Background(), ""); len(objs) != 0 {
		t.Fatalf("wrote %v", objs)
	}
}

func TestRedeliveryRewritesTheSameBytes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	msg := e.stage(t, fixtureRows(t))
	snapshot := func() map[string][]byte {
		objs, err := e.store.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]byte{}
		for _, o := range objs {
			b, _, err := e.store.Get(ctx, o.Key)
			if err != nil {
				t.Fatal(err)
			}
			out[o.Key] = b
		}
		return out
	}
	if err := e.tr.Handle(ctx, msg); err != nil {
		t.Fatal(err)
	}
	first := snapshot()
	if err := e.tr.Handle(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if second := snapshot(); !reflect.DeepEqual(first, second) {
		t.Fatal("redelivery changed the lake")
	}
	if len(first) != 3 || len(e.pub.Messages()) != 2 || !reflect.DeepEqual(e.pub.Messages()[0], e.pub.Messages()[1]) {
		t.Fatalf("objects %d, published %+v", len(first), e.pub.Messages())
	}
}

// A staged code beyond int32 (which the contract rejects) is refused, never wrapped.
func TestCountryCodeBeyondInt32IsNotWrapped(t *testing.T) {
	staged := fixtureRows(t)[:1]
	staged[0].CountryCode = 1<<32 + 1
	if _, err := transform.ToRows(staged, transform.Lineage{RunID: "r"}); !errors.Is(err, transform.ErrBadStaged) {
		t.Fatalf("err = %v, want ErrBadStaged", err)
	}
}

func TestBadStagedIsPermanent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	msg := e.stage(t, fixtureRows(t))
	missing := *msg
	missing.StagedKey = "staged/ecological_footprint/run=x/nope.ndjson"
	if err := e.store.Put(ctx, msg.StagedKey, []byte(`{"year":"2020"}`+"\n"), nil); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*contracts.BatchValidated{"malformed": msg, "missing": &missing} {
		if err := e.tr.Handle(ctx, m); !messaging.IsPermanent(err) || !errors.Is(err, transform.ErrBadStaged) {
			t.Errorf("%s: error %v, want a permanent ErrBadStaged", name, err)
		}
	}
	if len(e.pub.Messages()) != 0 {
		t.Fatalf("published %+v", e.pub.Messages())
	}
}
