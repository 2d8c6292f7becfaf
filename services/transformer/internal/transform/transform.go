// Package transform is the transformer's domain: staged rows become typed
// ecological_footprint v1 rows (contracts.Row) and one Parquet file per batch in
// transformed/, the file Snowpipe loads (MATCH_BY_COLUMN_NAME) and the local loader reads.
//
// Schema evolution: the Parquet schema is contracts.Row's, so it changes only with
// contracts.RecordSchemaVersion. Keys the API adds go to the `extra` column as a JSON object
// (null when a row has none) until the contract adopts them.
//
// A batch with zero valid rows (BatchValidated with no staged key) produces no Parquet file:
// BatchTransformed is published with Rows 0 and Key "", so the run still completes.
package transform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/contracts/concordance"
	"github.com/gfnpipeline/contracts/quality"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/telemetry"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// DefaultRowGroupRows caps a row group. A batch (one year, ~3,300 rows, ~100 KB compressed)
// is a single row group; the cap only matters for an unusually large batch, and keeps a
// group's columns a few MB so readers can parallelise and skip by statistics.
const DefaultRowGroupRows = 128 * 1024

// Config tunes the transformer.
type Config struct {
	// RowGroupRows caps a Parquet row group; 0 means DefaultRowGroupRows.
	RowGroupRows int
}

// Transformer handles BatchValidated.
type Transformer struct {
	rowGroupRows int
	store        lake.Store
	pub          messaging.Publisher
}

// New returns a Transformer reading and writing store and publishing on pub.
func New(cfg Config, store lake.Store, pub messaging.Publisher) *Transformer {
	n := cfg.RowGroupRows
	if n <= 0 {
		n = DefaultRowGroupRows
	}
	return &Transformer{rowGroupRows: n, store: store, pub: pub}
}

// Lineage says where a batch's rows came from.
type Lineage struct {
	RunID       string
	BatchID     string
	SourceKey   string
	ExtractedAt time.Time
}

// ErrBadStaged marks a staged object that cannot be transformed (missing or malformed);
// retrying cannot help.
var ErrBadStaged = errors.New("staged rows cannot be transformed")

// Handle turns the batch's staged rows into Parquet and publishes BatchTransformed.
func (t *Transformer) Handle(ctx context.Context, msg *contracts.BatchValidated) error {
	log := telemetry.Logger(ctx)
	done := &contracts.BatchTransformed{Header: msg.Header, Year: msg.Year, SourceKey: msg.SourceKey}
	if msg.StagedKey == "" {
		log.Info("batch has no valid rows: nothing to transform", "year", msg.Year)
		return t.publish(ctx, done)
	}

	body, _, err := t.store.Get(ctx, msg.StagedKey)
	if errors.Is(err, lake.ErrNotFound) {
		return messaging.Permanent(fmt.Errorf("%w: %s: %w", ErrBadStaged, msg.StagedKey, err))
	}
	if err != nil {
		return fmt.Errorf("read staged rows: %w", err)
	}
	staged, err := quality.DecodeStaged(body)
	if err != nil {
		return messaging.Permanent(fmt.Errorf("%w: %s: %w", ErrBadStaged, msg.StagedKey, err))
	}
	if len(staged) != msg.RowsValid {
		log.Warn("staged row count differs from the event", "staged_rows", len(staged), "rows_valid", msg.RowsValid)
	}
	rows, err := ToRows(staged, Lineage{RunID: msg.RunID, BatchID: msg.BatchID, SourceKey: msg.SourceKey, ExtractedAt: msg.ExtractedAt})
	if err != nil {
		return messaging.Permanent(err)
	}

	var buf bytes.Buffer
	if err := writeParquet(&buf, rows, t.rowGroupRows); err != nil {
		return messaging.Permanent(err)
	}
	doc, err := SchemaDocument()
	if err != nil {
		return messaging.Permanent(err)
	}
	// The schema description goes first, so it is there whenever a file it describes is.
	if err := t.store.Put(ctx, lake.SchemaKey, doc, nil); err != nil {
		return fmt.Errorf("write schema description: %w", err)
	}
	key, err := lake.TransformedKey(msg.SourceKey)
	if err != nil {
		return messaging.Permanent(err)
	}
	meta := map[string]string{
		lake.MetaRunID:       msg.RunID,
		lake.MetaBatchID:     msg.BatchID,
		lake.MetaRecords:     strconv.Itoa(len(rows)),
		lake.MetaExtractedAt: msg.ExtractedAt.UTC().Format(time.RFC3339Nano),
		lake.MetaSourceKey:   msg.SourceKey,
	}
	if err := t.store.Put(ctx, key, buf.Bytes(), meta); err != nil {
		return fmt.Errorf("write parquet: %w", err)
	}
	done.Key, done.Rows, done.Bytes = key, len(rows), int64(buf.Len())
	log.Info("batch transformed", "key", key, "rows", done.Rows, "bytes", done.Bytes)
	return t.publish(ctx, done)
}

func (t *Transformer) publish(ctx context.Context, m contracts.Message) error {
	if err := t.pub.Publish(ctx, m); err != nil {
		return fmt.Errorf("publish %s: %w", m.EventType(), err)
	}
	return nil
}

// ToRows maps staged API records to warehouse rows: snake_case columns, iso_alpha3 from the
// GFN concordance, is_aggregate for codes >= 1000, unknown keys as a JSON object in extra,
// and the batch's lineage. Nullable values stay null.
func ToRows(staged []quality.Row, l Lineage) ([]contracts.Row, error) {
	rows := make([]contracts.Row, len(staged))
	extractedAt := l.ExtractedAt.UTC()
	for i := range staged {
		s := &staged[i]
		if s.Value == nil {
			return nil, fmt.Errorf("%w: row %d has no value", ErrBadStaged, i)
		}
		// The contract keeps codes in int32 range; a staged row outside it is not wrapped.
		if s.CountryCode <= 0 || s.CountryCode > quality.MaxCountryCode {
			return nil, fmt.Errorf("%w: row %d has countryCode %d outside 1..%d", ErrBadStaged, i, s.CountryCode, quality.MaxCountryCode)
		}
		r := contracts.Row{
			Year:          int32(s.Year),        //nolint:gosec // G115: validated year range
			CountryCode:   int32(s.CountryCode), //nolint:gosec // G115: validated GFN code (< 10000)
			CountryName:   s.CountryName,
			ShortName:     s.ShortName,
			ISOAlpha2:     s.ISOA2,
			ISOAlpha3:     alpha3(s.CountryCode),
			IsAggregate:   s.CountryCode >= contracts.AggregateCodeMin,
			RecordType:    s.Record,
			CropLand:      s.CropLand,
			GrazingLand:   s.GrazingLand,
			ForestLand:    s.ForestLand,
			FishingGround: s.FishingGround,
			BuiltupLand:   s.BuiltupLand,
			Carbon:        s.Carbon,
			Value:         *s.Value,
			Score:         s.Score,
			RunID:         l.RunID,
			BatchID:       l.BatchID,
			SourceKey:     l.SourceKey,
			ExtractedAt:   extractedAt,
		}
		if len(s.Extra) > 0 {
			b, err := json.Marshal(s.Extra) // map keys sorted: the same row gives the same text
			if err != nil {
				return nil, fmt.Errorf("%w: row %d extra fields: %w", ErrBadStaged, i, err)
			}
			e := string(b)
			r.Extra = &e
		}
		rows[i] = r
	}
	return rows, nil
}

// alpha3Ptrs holds one pointer per code so rows share them instead of allocating each.
var alpha3Ptrs = func() map[int]*string {
	m := map[int]*string{}
	for _, e := range concordance.Entries() {
		if e.Alpha3 != "" {
			a := e.Alpha3
			m[e.Code] = &a
		}
	}
	return m
}()

func alpha3(code int) *string { return alpha3Ptrs[code] }

// Schema is the Parquet schema of ecological_footprint v1: contracts.Row's columns and types,
// with dictionary encoding on repeating string columns.
func Schema() *parquet.Schema { return schema }

// dictionary adds dictionary encoding to contracts.Row's own tags for the columns that repeat
// within a batch (names, codes, record types, lineage): it shrinks what zstd has to compress,
// which is most of the writer's time. The writer gets the same options as the schema so it
// keeps parquet-go's direct struct-to-column path.
var dictionary = func() []*parquet.StructTagOption {
	t := reflect.TypeFor[contracts.Row]()
	var opts []*parquet.StructTagOption
	for _, name := range []string{"CountryName", "ShortName", "ISOAlpha2", "ISOAlpha3", "RecordType", "Score", "RunID", "BatchID", "SourceKey"} {
		f, ok := t.FieldByName(name)
		if !ok {
			panic("transform: contracts.Row has no field " + name)
		}
		tag := reflect.StructTag(`parquet:"` + f.Tag.Get("parquet") + `,dict"`)
		opts = append(opts, &parquet.StructTagOption{StructTag: tag, ColumnPath: []string{name}})
	}
	return opts
}()

var schema = func() *parquet.Schema {
	opts := make([]parquet.SchemaOption, len(dictionary))
	for i, o := range dictionary {
		opts[i] = o
	}
	return parquet.SchemaOf(new(contracts.Row), opts...)
}()

// codec is zstd's fastest level: files 8% larger than its default level, written 1.5x faster.
// One shared codec, so its pool of encoders is reused across batches.
var codec = &zstd.Codec{Level: zstd.SpeedFastest}

// WriteParquet writes rows as one Parquet file (zstd, row groups of DefaultRowGroupRows).
func WriteParquet(w io.Writer, rows []contracts.Row) error {
	return writeParquet(w, rows, DefaultRowGroupRows)
}

func writeParquet(w io.Writer, rows []contracts.Row, rowGroupRows int) error {
	opts := []parquet.WriterOption{
		schema,
		parquet.Compression(codec),
		parquet.MaxRowsPerRowGroup(int64(rowGroupRows)),
		parquet.KeyValueMetadata("gfn.schema", contracts.RecordSchemaName),
		parquet.KeyValueMetadata("gfn.schema_version", strconv.Itoa(contracts.RecordSchemaVersion)),
	}
	for _, o := range dictionary {
		opts = append(opts, o)
	}
	pw := parquet.NewGenericWriter[contracts.Row](w, opts...)
	if _, err := pw.Write(rows); err != nil {
		return fmt.Errorf("write parquet rows: %w", err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("close parquet writer: %w", err)
	}
	return nil
}

// Column describes one column in the schema document.
type Column struct {
	Name         string `json:"name"`
	PhysicalType string `json:"physical_type"`
	LogicalType  string `json:"logical_type,omitempty"`
	Nullable     bool   `json:"nullable"`
}

// SchemaDoc is the JSON description at lake.SchemaKey, generated from Schema().
type SchemaDoc struct {
	Name        string   `json:"name"`
	Version     int      `json:"version"`
	Format      string   `json:"format"`
	Compression string   `json:"compression"`
	NaturalKey  []string `json:"natural_key"`
	Columns     []Column `json:"columns"`
	// WarehouseColumns are added by the warehouse at load, not present in the files.
	WarehouseColumns []string `json:"warehouse_columns"`
}

// SchemaDocument renders the schema description.
func SchemaDocument() ([]byte, error) {
	doc := SchemaDoc{
		Name: contracts.RecordSchemaName, Version: contracts.RecordSchemaVersion, Format: "parquet",
		Compression: "zstd", NaturalKey: contracts.NaturalKey, WarehouseColumns: contracts.ColumnNames(contracts.LoadSchema),
	}
	for _, f := range schema.Fields() {
		c := Column{Name: f.Name(), PhysicalType: f.Type().Kind().String(), Nullable: f.Optional()}
		if lt := f.Type().LogicalType(); lt != nil {
			c.LogicalType = lt.String()
		}
		doc.Columns = append(doc.Columns, c)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode schema description: %w", err)
	}
	return append(b, '\n'), nil
}
