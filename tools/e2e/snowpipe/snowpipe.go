// Package snowpipe is the test side of `WAREHOUSE=snowflake make e2e`: fakesnow's server
// stands in for Snowflake, and this package stands in for what fakesnow cannot run. It plays
// Snowpipe (its own subscription of the lake events topic, PUT + COPY INTO RAW) and the
// stream + task (the task's MERGE, verbatim), and answers the load confirmer's load-records
// query from fakesnow's INFORMATION_SCHEMA.LOAD_HISTORY. Each substitution is named in
// Substitutions and logged when it is used; the confirmer under test is the production one.
package snowpipe

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/tools/e2e/fakesnow"
)

// Substitution is a production statement fakesnow 0.12.1 cannot run and what ran instead.
type Substitution struct {
	Production string
	Instead    string
}

// Substitutions lists every stand-in this package makes.
var Substitutions = []Substitution{
	{"CREATE PIPE ... AUTO_INGEST = TRUE AWS_SNS_TOPIC = gfn-lake-events (Snowpipe)",
		"a consumer of its own gfn-lake-events subscription running PUT to RAW's table stage + COPY INTO RAW"},
	{"COPY INTO RAW ... MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE INCLUDE_METADATA = (file_name = METADATA$FILENAME, load_id = METADATA$FILE_CONTENT_KEY, loaded_at = METADATA$START_SCAN_TIME)",
		"COPY INTO RAW (columns) FROM (SELECT $1:<column> ..., '<key less transformed/>', '<load id>', '<load time>' FROM @RAW.%ECOLOGICAL_FOOTPRINT/<key with = as ->): a copy transformation with the metadata as literals, the file staged where DuckDB sees no hive partition"},
	{"CREATE STREAM " + warehouse.RawStream + " ON TABLE " + warehouse.RawTable + " APPEND_ONLY = TRUE",
		"a table of that name: the stand-in inserts each loaded file's RAW rows and deletes them once merged (the stream's offset)"},
	{"CREATE TASK " + warehouse.MergeTask + " (MERGE every minute when the stream has data)",
		"the task's two MERGEs (warehouse.TaskMerges, verbatim) run by the stand-in right after each COPY, each in autocommit: fakesnow fails BEGIN ... MERGE ... COMMIT (a DuckDB transaction cannot write both the database and fakesnow's _fs_global catalog)"},
	{"TABLE(information_schema.copy_history(TABLE_NAME => 'RAW.ECOLOGICAL_FOOTPRINT', START_TIME => ...))",
		"INFORMATION_SCHEMA.LOAD_HISTORY (fakesnow records COPY INTO there), through the confirmer's LoadRecords interface"},
	{"SELECT SYSTEM$PIPE_STATUS('" + warehouse.DefaultPipe + "')",
		"nothing: the stuck-load report says the pipe status is unavailable"},
}

// Setup creates the database, the shared tables and views, and the stream's stand-in table.
func Setup(ctx context.Context, db *sql.DB) error {
	stmts := append([]string{"CREATE DATABASE IF NOT EXISTS " + fakesnow.Database, "USE DATABASE " + fakesnow.Database}, warehouse.TablesSQL()...)
	stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+warehouse.RawStream+" AS SELECT * FROM "+warehouse.RawTable+" LIMIT 0")
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("fakesnow setup: %s: %w", firstLine(q), err)
		}
	}
	return nil
}

// Loaded is what one stand-in load did.
type Loaded struct {
	Key        string
	LoadID     string
	RowsLoaded int
	Skipped    bool // already loaded: Snowpipe skips a file it has loaded
}

// Load does Snowpipe's and the task's work for one file: PUT it to RAW's table stage under
// its lake key, COPY it into RAW, and MERGE what the "stream" holds into TRANSFORMED.
func Load(ctx context.Context, sf *warehouse.Snowflake, key, localPath string, now time.Time) (Loaded, error) {
	db := sf.DB()
	staged := filepath.Join(filepath.Dir(localPath), path.Base(key))
	if staged != localPath {
		if err := os.Rename(localPath, staged); err != nil {
			return Loaded{}, err
		}
	}
	put := "PUT 'file://" + filepath.ToSlash(staged) + "' " + warehouse.RawTableStage + "/" + path.Dir(stagePath(key)) + " AUTO_COMPRESS = FALSE OVERWRITE = TRUE"
	if _, err := db.ExecContext(ctx, put); err != nil {
		return Loaded{}, fmt.Errorf("stand-in put %s: %w", key, err)
	}
	res := Loaded{Key: key, LoadID: "ld-" + now.UTC().Format("20060102T150405.000000Z")}
	rows, err := db.QueryContext(ctx, copySQL(key, res.LoadID, now))
	if err != nil {
		return Loaded{}, fmt.Errorf("stand-in copy %s: %w", key, err)
	}
	for rows.Next() {
		cols, _ := rows.Columns()
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return Loaded{}, fmt.Errorf("stand-in copy %s: %w", key, err)
		}
		for i, c := range cols {
			switch strings.ToLower(c) {
			case "status":
				res.Skipped = res.Skipped || strings.EqualFold(vals[i].String, "LOAD_SKIPPED")
			case "rows_loaded":
				fmt.Sscan(vals[i].String, &res.RowsLoaded)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Loaded{}, fmt.Errorf("stand-in copy %s: %w", key, err)
	}
	if res.Skipped {
		return res, nil
	}
	// The stream presents the new RAW rows; the task merges them, and its commit moves the
	// offset past them.
	if _, err := db.ExecContext(ctx, "INSERT INTO "+warehouse.RawStream+" SELECT * FROM "+warehouse.RawTable+" WHERE load_id = ?", res.LoadID); err != nil {
		return Loaded{}, fmt.Errorf("stand-in stream %s: %w", key, err)
	}
	for _, q := range warehouse.TaskMerges() {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return Loaded{}, fmt.Errorf("stand-in task %s: %s: %w", key, firstLine(q), err)
		}
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM "+warehouse.RawStream+" WHERE load_id = ?", res.LoadID); err != nil {
		return Loaded{}, fmt.Errorf("stand-in stream offset %s: %w", key, err)
	}
	return res, nil
}

// copySQL is the production pipe's COPY with what fakesnow lacks replaced: a copy
// transformation instead of MATCH_BY_COLUMN_NAME, literals instead of INCLUDE_METADATA, and
// the file as a stage path (fakesnow resolves FILES = (...) on a table stage to a path
// without a URL scheme and rejects it).
func copySQL(key, loadID string, at time.Time) string {
	cols := contracts.RowColumns
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "$1:" + c
	}
	sel = append(sel, quote(warehouse.PipeFileName(key)), quote(loadID), quote(at.UTC().Format("2006-01-02 15:04:05.000000"))+"::TIMESTAMP_NTZ")
	return "COPY INTO " + warehouse.RawTable + " (" + strings.Join(append(slices.Clone(cols), contracts.ColumnNames(contracts.LoadSchema)...), ", ") + ")\n" +
		"FROM (SELECT " + strings.Join(sel, ", ") + " FROM " + warehouse.RawTableStage + "/" + stagePath(key) + ")\n" +
		"FILE_FORMAT = (TYPE = PARQUET)"
}

// stagePath is where a lake key is staged on fakesnow: DuckDB, under fakesnow's COPY, reads
// "year=2026/" in a path as a hive partition column that overrides the file's own year, so
// the stand-in stages "year-2026/" instead (Snowflake has no such behaviour).
func stagePath(key string) string { return strings.ReplaceAll(key, "=", "-") }

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func firstLine(q string) string {
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		return q[:i]
	}
	return q
}

// LoadHistory answers the confirmer's load-records query from fakesnow's
// INFORMATION_SCHEMA.LOAD_HISTORY (production: COPY_HISTORY; see Substitutions).
type LoadHistory struct{ DB *sql.DB }

var _ warehouse.LoadRecords = LoadHistory{}

// FileLoads reads LOAD_HISTORY rows for RAW whose staged file is fileName (a
// warehouse.PipeFileName). fakesnow records the staged file's full URL, so the name's stage
// path is matched as its suffix.
func (h LoadHistory) FileLoads(ctx context.Context, fileName string, since time.Time) ([]warehouse.CopyRecord, error) {
	rows, err := h.DB.QueryContext(ctx, `SELECT file_name, last_load_time, row_count, row_parsed, error_count, first_error_message, status
FROM information_schema.load_history
WHERE schema_name = 'RAW' AND table_name = 'ECOLOGICAL_FOOTPRINT' AND endswith(file_name, ?) AND last_load_time >= ?
ORDER BY last_load_time`, "/"+stagePath(fileName), since.UTC())
	if err != nil {
		return nil, fmt.Errorf("load history of %s (stand-in for COPY_HISTORY): %w", fileName, err)
	}
	defer rows.Close()
	var out []warehouse.CopyRecord
	for rows.Next() {
		var r warehouse.CopyRecord
		var firstErr sql.NullString
		var count, parsed, errs sql.NullInt64
		if err := rows.Scan(&r.FileName, &r.LastLoadTime, &count, &parsed, &errs, &firstErr, &r.Status); err != nil {
			return nil, fmt.Errorf("load history of %s: %w", fileName, err)
		}
		r.RowCount, r.RowParsed, r.ErrorCount, r.FirstError = count.Int64, parsed.Int64, errs.Int64, firstErr.String
		out = append(out, r)
	}
	return out, rows.Err()
}

// PipeStatus: fakesnow has no SYSTEM$PIPE_STATUS.
func (LoadHistory) PipeStatus(context.Context) (string, error) {
	return "", fmt.Errorf("SYSTEM$PIPE_STATUS is not available on fakesnow")
}
