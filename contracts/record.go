package contracts

import (
	"reflect"
	"slices"
	"strings"
	"time"
)

// RecordSchemaName and RecordSchemaVersion identify the warehouse record contract. The version
// changes only when the typed schema (Row) does.
const (
	RecordSchemaName    = "ecological_footprint"
	RecordSchemaVersion = 1
)

// APIRecord is one element of the GFN API's /data responses, keys as the API spells them.
// Nullable values are pointers: null must stay null, never become zero.
type APIRecord struct {
	Year          int      `json:"year"`
	CountryCode   int      `json:"countryCode"`
	CountryName   string   `json:"countryName"`
	ShortName     string   `json:"shortName"`
	ISOA2         *string  `json:"isoa2"`
	Record        string   `json:"record"`
	CropLand      *float64 `json:"cropLand"`
	GrazingLand   *float64 `json:"grazingLand"`
	ForestLand    *float64 `json:"forestLand"`
	FishingGround *float64 `json:"fishingGround"`
	BuiltupLand   *float64 `json:"builtupLand"`
	Carbon        *float64 `json:"carbon"`
	Value         *float64 `json:"value"`
	Score         *string  `json:"score"`
}

// APIFields lists the API's record keys in the order the API sends them.
var APIFields = []string{
	"year", "countryCode", "countryName", "shortName", "isoa2", "record",
	"cropLand", "grazingLand", "forestLand", "fishingGround", "builtupLand", "carbon",
	"value", "score",
}

// AggregateCodeMin: GFN codes from here up are regions, continents and the World, not countries.
const AggregateCodeMin = 1000

// WorldCountryCode is GFN's code for the World aggregate.
const WorldCountryCode = 5001

// Row is one ecological_footprint v1 row as the warehouse holds it (snake_case columns).
// Lineage columns say where it came from; loaded_at is the warehouse's own column.
type Row struct {
	Year          int32     `json:"year" parquet:"year"`
	CountryCode   int32     `json:"country_code" parquet:"country_code"`
	CountryName   string    `json:"country_name" parquet:"country_name"`
	ShortName     string    `json:"short_name" parquet:"short_name"`
	ISOAlpha2     *string   `json:"iso_alpha2" parquet:"iso_alpha2,optional"`
	ISOAlpha3     *string   `json:"iso_alpha3" parquet:"iso_alpha3,optional"`
	IsAggregate   bool      `json:"is_aggregate" parquet:"is_aggregate"`
	RecordType    string    `json:"record_type" parquet:"record_type"`
	CropLand      *float64  `json:"crop_land" parquet:"crop_land,optional"`
	GrazingLand   *float64  `json:"grazing_land" parquet:"grazing_land,optional"`
	ForestLand    *float64  `json:"forest_land" parquet:"forest_land,optional"`
	FishingGround *float64  `json:"fishing_ground" parquet:"fishing_ground,optional"`
	BuiltupLand   *float64  `json:"builtup_land" parquet:"builtup_land,optional"`
	Carbon        *float64  `json:"carbon" parquet:"carbon,optional"`
	Value         float64   `json:"value" parquet:"value"`
	Score         *string   `json:"score" parquet:"score,optional"`
	Extra         *string   `json:"extra" parquet:"extra,optional"`
	RunID         string    `json:"run_id" parquet:"run_id"`
	BatchID       string    `json:"batch_id" parquet:"batch_id"`
	SourceKey     string    `json:"source_key" parquet:"source_key"`
	ExtractedAt   time.Time `json:"extracted_at" parquet:"extracted_at,timestamp(microsecond)"`
}

// Column is one warehouse column: its name, the Go type of its values (int32, string, bool,
// float64 or time.Time; a pointer in Row means nullable) and whether it may be null.
type Column struct {
	Name     string
	Type     reflect.Type
	Nullable bool
}

// RowSchema lists Row's columns in order, read from its parquet tags: the one column list,
// which the Parquet writer, the warehouse DDL and MERGE and the deploy checks derive from.
var RowSchema = rowSchema()

// RowColumns lists RowSchema's names: the Parquet/warehouse columns of Row in order.
var RowColumns = ColumnNames(RowSchema)

// LoadSchema lists the warehouse's own lineage columns, after Row's: set per load (Snowpipe's
// file name and load, and when), never present in the files.
var LoadSchema = []Column{
	{Name: "file_name", Type: reflect.TypeFor[string]()},
	{Name: "load_id", Type: reflect.TypeFor[string]()},
	{Name: "loaded_at", Type: reflect.TypeFor[time.Time]()},
}

// ColumnNames lists the columns' names in order.
func ColumnNames(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

func rowSchema() []Column {
	t := reflect.TypeFor[Row]()
	out := make([]Column, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		typ, ptr := f.Type, f.Type.Kind() == reflect.Pointer
		if ptr {
			typ = typ.Elem()
		}
		// parquet-go writes a pointer field as optional only when its tag says so.
		out[i] = Column{Name: name, Type: typ, Nullable: ptr && slices.Contains(strings.Split(opts, ","), "optional")}
	}
	return out
}

// NaturalKey is the warehouse's unique key for a row.
var NaturalKey = []string{"country_code", "year", "record_type"}

// RecordTypes is the set of record values the GFN API is known to send.
var RecordTypes = []string{
	"EFConsPerCap", "EFConsTotGHA", "EFProdPerCap", "EFProdTotGHA", "EFImportsPerCap",
	"EFImportsTotGHA", "EFExportsPerCap", "EFExportsTotGHA", "BiocapPerCap", "BiocapTotGHA",
	"AreaPerCap", "AreaTotHA", "Earths", "Population", "GDP-USD", "GDP-PPP", "HDI",
}

// Scores is the set of data-quality scores GFN publishes (null and "" are also allowed).
var Scores = []string{"3A", "2A", "2B", "2C", "1A", "1B"}
