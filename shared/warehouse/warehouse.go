// Package warehouse lands transformed Parquet files in the warehouse: DuckDB for local runs
// (the loader plays Snowpipe plus the stream and task), Snowflake in production. Both drivers
// share the table layout and the merge rules (key, winner, columns) so local runs exercise the
// production semantics:
// each file loads once (Force reloads), RAW is append-only, TRANSFORMED keeps one row per
// natural key where the latest extracted_at wins and ties go to the later load.
package warehouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gfnpipeline/contracts"
)

// Warehouse is what the loader needs from a warehouse driver.
type Warehouse interface {
	// Migrate creates or updates schemas, tables and views; it is idempotent.
	Migrate(ctx context.Context) error
	// LoadFile appends a local Parquet file to RAW and merges it into TRANSFORMED, once per
	// FileName unless Force is set.
	LoadFile(ctx context.Context, f FileLoad) (LoadResult, error)
	// Count returns TRANSFORMED's row count.
	Count(ctx context.Context) (int64, error)
	Close() error
}

// FileLoad names one Parquet file to load.
type FileLoad struct {
	// LocalPath is where the file is on this machine.
	LocalPath string
	// FileName is the lake key: Snowpipe's load-once identity for the file.
	FileName string
	RunID    string
	BatchID  string
	// Force reloads a file that was loaded before (Snowflake's COPY ... FORCE = TRUE).
	Force bool
}

// LoadResult says what a LoadFile did.
type LoadResult struct {
	// LoadID identifies the load that put the file in RAW (the earlier one when AlreadyLoaded).
	LoadID        string
	RowsLoaded    int
	AlreadyLoaded bool
	// TableRows is TRANSFORMED's row count after the load.
	TableRows int64
}

// ErrBadFile marks a file that can never load (not Parquet, or missing required columns).
// Callers do not retry it.
var ErrBadFile = errors.New("file cannot be loaded")

// Table and view names. Snowflake folds the unquoted names to upper case (RAW.ECOLOGICAL_FOOTPRINT).
const (
	RawTable         = "raw.ecological_footprint"
	LoadHistoryTable = "raw.load_history"
	TransformedTable = "transformed.ecological_footprint"
	CountriesTable   = "transformed.countries"
	BalanceView      = "transformed.footprint_balance"
	OvershootView    = "transformed.earth_overshoot_day"
)

// column is one warehouse column with its type in each dialect.
type column struct {
	name     string
	duck     string
	snow     string
	nullable bool
}

// sqlTypes is the column type, DuckDB's then Snowflake's, of each value type contracts'
// columns hold.
var sqlTypes = map[reflect.Type][2]string{
	reflect.TypeFor[int32]():     {"INTEGER", "INTEGER"},
	reflect.TypeFor[string]():    {"VARCHAR", "VARCHAR"},
	reflect.TypeFor[bool]():      {"BOOLEAN", "BOOLEAN"},
	reflect.TypeFor[float64]():   {"DOUBLE", "FLOAT"},
	reflect.TypeFor[time.Time](): {"TIMESTAMP", "TIMESTAMP_NTZ"},
}

// columns types contracts' columns for both dialects.
func columns(cs []contracts.Column) []column {
	out := make([]column, len(cs))
	for i, c := range cs {
		t, ok := sqlTypes[c.Type]
		if !ok {
			panic(fmt.Sprintf("warehouse: column %s holds %v, which has no SQL type", c.Name, c.Type))
		}
		out[i] = column{name: c.Name, duck: t[0], snow: t[1], nullable: c.Nullable}
	}
	return out
}

var (
	// rowColumns are contracts.Row's (contracts.RowSchema).
	rowColumns = columns(contracts.RowSchema)
	// loadColumns are the warehouse's own lineage columns, set per load.
	loadColumns = columns(contracts.LoadSchema)
)

type dialect int

const (
	duckDialect dialect = iota
	snowDialect
)

func columnDefs(d dialect, cols []column) string {
	defs := make([]string, len(cols))
	for i, c := range cols {
		typ := c.duck
		if d == snowDialect {
			typ = c.snow
		}
		defs[i] = "    " + c.name + " " + typ
		if !c.nullable {
			defs[i] += " NOT NULL"
		}
	}
	return strings.Join(defs, ",\n")
}

func names(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

func allColumns() []column { return append(append([]column{}, rowColumns...), loadColumns...) }

// tableDDL returns the RAW and TRANSFORMED fact tables and the countries table. Primary keys
// are declared for Snowflake, where they are informational; DuckDB gets none because
// DuckDB 1.5 serializes index metadata that DuckDB 1.0 (Soda's) cannot read, whatever the
// storage version. In both, the MERGE keeps the key unique and Soda checks it.
func tableDDL(d dialect) []string {
	cols := columnDefs(d, allColumns())
	pk := func(cols ...string) string {
		if d != snowDialect {
			return ""
		}
		return ",\n    PRIMARY KEY (" + strings.Join(cols, ", ") + ")"
	}
	return []string{
		"CREATE SCHEMA IF NOT EXISTS raw",
		"CREATE SCHEMA IF NOT EXISTS transformed",
		"CREATE TABLE IF NOT EXISTS " + RawTable + " (\n" + cols + "\n)",
		"CREATE TABLE IF NOT EXISTS " + TransformedTable + " (\n" + cols + pk(contracts.NaturalKey...) + "\n)",
		`CREATE TABLE IF NOT EXISTS ` + CountriesTable + ` (
    country_code INTEGER NOT NULL,
    country_name VARCHAR NOT NULL,
    short_name VARCHAR,
    iso_alpha2 VARCHAR,
    iso_alpha3 VARCHAR,
    is_aggregate BOOLEAN NOT NULL,
    first_year INTEGER NOT NULL,
    last_year INTEGER NOT NULL` + pk("country_code") + `
)`,
	}
}

// winnerOrder ranks a natural key's rows, winner first: the latest extracted_at, and on a tie
// the later load.
const winnerOrder = "extracted_at DESC, loaded_at DESC, load_id DESC"

// sourceWins is when a source row s replaces the target row t of the same natural key.
const sourceWins = `(s.extracted_at > t.extracted_at
                  OR (s.extracted_at = t.extracted_at AND s.loaded_at >= t.loaded_at))`

// mergeSQL merges source (rows shaped like RAW, possibly from several loads) into TRANSFORMED:
// one row per natural key, the latest extracted_at wins and ties go to the later load. The
// Snowflake task runs it per stream batch; DuckDB gets the same effect from upsertSQL.
func mergeSQL(source string) string {
	cols := names(allColumns())
	return `MERGE INTO ` + TransformedTable + ` AS t
USING (
    SELECT * FROM ` + source + `
    QUALIFY row_number() OVER (PARTITION BY ` + strings.Join(contracts.NaturalKey, ", ") + `
                               ORDER BY ` + winnerOrder + `) = 1
) AS s
ON ` + keyMatch() + `
WHEN MATCHED AND ` + sourceWins + ` THEN
    UPDATE SET ` + strings.Join(setNonKey(), ", ") + `
WHEN NOT MATCHED THEN
    INSERT (` + strings.Join(cols, ", ") + `)
    VALUES (` + strings.Join(prefixed("s.", cols), ", ") + `)`
}

// upsertSQL has mergeSQL's effect for a source holding each natural key at most once: an
// UPDATE of the keys where the source wins, then an INSERT of the keys TRANSFORMED lacks.
// DuckDB runs these two joins in a third of its MERGE's time. The source's rows lie in years
// [years[0], years[1]]; TRANSFORMED is read only there (the natural key holds the year, so no
// other row can match): a load then joins its own years' rows, not the whole table.
func upsertSQL(source string, years [2]int32) []string {
	cols := names(allColumns())
	inYears := inYears(years)
	return []string{
		`UPDATE ` + TransformedTable + ` AS t
SET ` + strings.Join(setNonKey(), ", ") + `
FROM ` + source + ` AS s
WHERE ` + inYears + ` AND ` + keyMatch() + ` AND ` + sourceWins,
		`INSERT INTO ` + TransformedTable + ` (` + strings.Join(cols, ", ") + `)
SELECT ` + strings.Join(prefixed("s.", cols), ", ") + `
FROM ` + source + ` AS s ANTI JOIN (
    SELECT ` + strings.Join(contracts.NaturalKey, ", ") + ` FROM ` + TransformedTable + ` AS t WHERE ` + inYears + `
) AS t ON ` + keyMatch(),
	}
}

// inYears limits TRANSFORMED (as t) to the years [years[0], years[1]].
func inYears(years [2]int32) string {
	return fmt.Sprintf("t.year BETWEEN %d AND %d", years[0], years[1])
}

// heldSQL asks whether TRANSFORMED holds any row in the years: when not, insertSQL does
// upsertSQL's work.
func heldSQL(years [2]int32) string {
	return `SELECT EXISTS (SELECT 1 FROM ` + TransformedTable + ` AS t WHERE ` + inYears(years) + `)`
}

// insertSQL has upsertSQL's effect when TRANSFORMED holds no row in the source's years (a
// backfill's first load of them): no key can match, so the source is appended without joins.
func insertSQL(source string) string {
	cols := strings.Join(names(allColumns()), ", ")
	return `INSERT INTO ` + TransformedTable + ` (` + cols + `) SELECT ` + cols + ` FROM ` + source
}

// keyMatch joins target t to source s on the natural key.
func keyMatch() string {
	on := make([]string, len(contracts.NaturalKey))
	for i, k := range contracts.NaturalKey {
		on[i] = "t." + k + " = s." + k
	}
	return strings.Join(on, " AND ")
}

// setNonKey assigns every column but the natural key from source s.
func setNonKey() []string {
	var set []string
	for _, c := range allColumns() {
		if !slices.Contains(contracts.NaturalKey, c.name) {
			set = append(set, c.name+" = s."+c.name)
		}
	}
	return set
}

func prefixed(prefix string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = prefix + s
	}
	return out
}

// countriesMergeSQL keeps the countries reference table (the dimension analysts join and Soda
// checks referential integrity against) in step with the countries the source rows name.
// Names come from the latest year a country appears in.
func countriesMergeSQL(source string) string {
	return `MERGE INTO ` + CountriesTable + ` AS t
USING (
    SELECT country_code,
           max_by(country_name, year) AS country_name,
           max_by(short_name, year) AS short_name,
           max_by(iso_alpha2, year) AS iso_alpha2,
           max_by(iso_alpha3, year) AS iso_alpha3,
           max(CASE WHEN is_aggregate THEN 1 ELSE 0 END) = 1 AS is_aggregate,
           min(year) AS first_year,
           max(year) AS last_year
    FROM ` + source + `
    GROUP BY country_code
) AS s
ON t.country_code = s.country_code
WHEN MATCHED THEN UPDATE SET
    country_name = CASE WHEN s.last_year >= t.last_year THEN s.country_name ELSE t.country_name END,
    short_name = CASE WHEN s.last_year >= t.last_year THEN s.short_name ELSE t.short_name END,
    iso_alpha2 = CASE WHEN s.last_year >= t.last_year THEN s.iso_alpha2 ELSE t.iso_alpha2 END,
    iso_alpha3 = CASE WHEN s.last_year >= t.last_year THEN s.iso_alpha3 ELSE t.iso_alpha3 END,
    is_aggregate = s.is_aggregate,
    first_year = least(t.first_year, s.first_year),
    last_year = greatest(t.last_year, s.last_year)
WHEN NOT MATCHED THEN
    INSERT (country_code, country_name, short_name, iso_alpha2, iso_alpha3, is_aggregate, first_year, last_year)
    VALUES (s.country_code, s.country_name, s.short_name, s.iso_alpha2, s.iso_alpha3, s.is_aggregate, s.first_year, s.last_year)`
}

// viewDDL is the analysts' layer, plain SQL both dialects (and DuckDB 1.0, which re-parses
// view text when Soda opens the file) understand.
func viewDDL() []string {
	return []string{
		`CREATE OR REPLACE VIEW ` + BalanceView + ` AS
SELECT country_code,
       max(country_name) AS country_name,
       max(CASE WHEN is_aggregate THEN 1 ELSE 0 END) = 1 AS is_aggregate,
       year,
       max(CASE WHEN record_type = 'EFConsTotGHA' THEN value END) AS footprint_gha,
       max(CASE WHEN record_type = 'BiocapTotGHA' THEN value END) AS biocapacity_gha,
       max(CASE WHEN record_type = 'BiocapTotGHA' THEN value END)
         - max(CASE WHEN record_type = 'EFConsTotGHA' THEN value END) AS balance_gha,
       max(CASE WHEN record_type = 'EFConsPerCap' THEN value END) AS footprint_per_cap,
       max(CASE WHEN record_type = 'BiocapPerCap' THEN value END) AS biocapacity_per_cap,
       max(CASE WHEN record_type = 'BiocapPerCap' THEN value END)
         - max(CASE WHEN record_type = 'EFConsPerCap' THEN value END) AS balance_per_cap,
       CASE WHEN max(CASE WHEN record_type = 'BiocapTotGHA' THEN value END)
                 >= max(CASE WHEN record_type = 'EFConsTotGHA' THEN value END) THEN 'reserve'
            ELSE 'deficit' END AS status
FROM ` + TransformedTable + `
WHERE record_type IN ('EFConsTotGHA', 'BiocapTotGHA', 'EFConsPerCap', 'BiocapPerCap')
GROUP BY country_code, year
HAVING max(CASE WHEN record_type = 'EFConsTotGHA' THEN value END) IS NOT NULL
   AND max(CASE WHEN record_type = 'BiocapTotGHA' THEN value END) IS NOT NULL`,
		// GFN: Overshoot Day = (Earth's biocapacity / humanity's footprint) x 365, counted from
		// 1 January. A year in which the world used less than its biocapacity (the 1960s) has
		// none: NULL, not a day past 365.
		fmt.Sprintf(`CREATE OR REPLACE VIEW `+OvershootView+` AS
SELECT year,
       biocapacity_gha,
       footprint_gha,
       footprint_gha / biocapacity_gha AS earths,
       CASE WHEN footprint_gha > biocapacity_gha
            THEN CAST(floor(365 * biocapacity_gha / footprint_gha) AS INTEGER) END AS overshoot_day
FROM `+BalanceView+`
WHERE country_code = %d`, contracts.WorldCountryCode),
	}
}

// newLoadID is unique per load and sorts by time, like the ids Snowpipe reports.
func newLoadID(at time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "ld-" + at.UTC().Format("20060102T150405.000000Z") + "-" + hex.EncodeToString(b[:])
}
