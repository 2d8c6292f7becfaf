package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/telemetry"
)

// SodaStorageVersion is the storage format the DuckDB file is written in. Soda Core 3.5.6
// (soda-core-duckdb) pins Python duckdb < 1.1, which reads files up to this format; DuckDB
// 1.5 would otherwise write a newer one. The setting applies when the file is created.
const SodaStorageVersion = "v1.0.0"

// loadBatchTable holds the file being loaded, for the length of its load transaction.
const loadBatchTable = "temp.load_batch"

// ErrStorageVersion is returned by OpenDuckDB for an existing file written in a newer storage
// format than SodaStorageVersion: Soda could not read it. Delete (or export) and reload it.
var ErrStorageVersion = errors.New("duckdb file storage version is not readable by soda")

// DuckDB is the local warehouse: one file, used by one process at a time (DuckDB locks it).
type DuckDB struct {
	db   *sql.DB
	path string
	// mu serialises loads: concurrent MERGEs on the same keys would abort with a
	// transaction conflict, and one writer is all a local run needs.
	mu  sync.Mutex
	now func() time.Time
}

var _ Warehouse = (*DuckDB)(nil)

// OpenDuckDB opens (creating if needed) the DuckDB file at path. The caller runs Migrate.
func OpenDuckDB(path string) (*DuckDB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("duckdb: create directory for %s: %w", path, err)
		}
	}
	connector, err := duckdb.NewConnector(path+"?storage_compatibility_version="+SodaStorageVersion,
		func(execer driver.ExecerContext) error {
			// Timestamps are UTC wall clock (TIMESTAMP, like Snowflake's TIMESTAMP_NTZ);
			// Parquet's UTC-adjusted timestamps must not shift by the host's zone.
			_, err := execer.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil)
			if err != nil {
				return err
			}
			// A load is a few thousand rows: one thread does it in less CPU time than two,
			// which only contend with each other and with the pipeline's other stages.
			_, err = execer.ExecContext(context.Background(), "SET threads = 1", nil)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("duckdb: open %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	d := &DuckDB{db: db, path: path, now: time.Now}
	var version sql.NullString
	err = db.QueryRowContext(context.Background(), `SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()`).Scan(&version)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("duckdb: read storage version of %s: %w", path, err), db.Close())
	}
	if !strings.HasPrefix(version.String, SodaStorageVersion) {
		return nil, errors.Join(fmt.Errorf("%w: %s has %q, want %s", ErrStorageVersion, path, version.String, SodaStorageVersion), db.Close())
	}
	return d, nil
}

// DB exposes the connection for reports and tests; loads go through LoadFile.
func (d *DuckDB) DB() *sql.DB { return d.db }

// Migrate creates the schemas, tables and views.
func (d *DuckDB) Migrate(ctx context.Context) error {
	stmts := append(tableDDL(duckDialect),
		`CREATE TABLE IF NOT EXISTS `+LoadHistoryTable+` (
    file_name VARCHAR NOT NULL,
    load_id VARCHAR NOT NULL,
    run_id VARCHAR,
    batch_id VARCHAR,
    row_count BIGINT NOT NULL,
    loads INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    first_loaded_at TIMESTAMP NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)`)
	stmts = append(stmts, viewDDL()...)
	for _, s := range stmts {
		if _, err := d.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("duckdb migrate: %s: %w", firstLine(s), err)
		}
	}
	return nil
}

// LoadFile loads the file into RAW and merges it into TRANSFORMED in one transaction, once
// per FileName (the load history plays Snowpipe's load metadata) unless f.Force.
func (d *DuckDB) LoadFile(ctx context.Context, f FileLoad) (LoadResult, error) {
	if f.FileName == "" || f.LocalPath == "" {
		return LoadResult{}, fmt.Errorf("duckdb load: file name and local path are required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()

	res, err := d.loadTx(ctx, f)
	if err != nil {
		return LoadResult{}, err
	}
	if res.TableRows, err = d.Count(ctx); err != nil {
		return LoadResult{}, err
	}
	log := telemetry.Logger(ctx)
	log.InfoContext(ctx, "warehouse load", "warehouse", "duckdb", "file_name", f.FileName,
		"load_id", res.LoadID, "rows_loaded", res.RowsLoaded, "already_loaded", res.AlreadyLoaded,
		"table_rows", res.TableRows, "force", f.Force)
	return res, nil
}

func (d *DuckDB) loadTx(ctx context.Context, f FileLoad) (LoadResult, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return LoadResult{}, fmt.Errorf("duckdb load %s: begin: %w", f.FileName, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	var prev string
	err = tx.QueryRowContext(ctx, `SELECT load_id FROM `+LoadHistoryTable+` WHERE file_name = ?`, f.FileName).Scan(&prev)
	switch {
	case err == nil && !f.Force:
		return LoadResult{LoadID: prev, AlreadyLoaded: true}, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return LoadResult{}, fmt.Errorf("duckdb load %s: read load history: %w", f.FileName, err)
	}

	selectList, err := parquetSelectList(ctx, tx, f.LocalPath)
	if err != nil {
		return LoadResult{}, fmt.Errorf("duckdb load %s: %w", f.FileName, err)
	}
	now := d.now().UTC()
	loadID := newLoadID(now)
	// The file is read once, into a temporary table (memory, never logged): RAW's append and
	// both MERGEs read it there rather than scanning RAW for the load id.
	stage := `CREATE OR REPLACE TEMP TABLE ` + loadBatchTable + ` AS
SELECT ` + selectList + `, ? AS file_name, ? AS load_id, ?::TIMESTAMP AS loaded_at
FROM read_parquet(` + sqlString(f.LocalPath) + `)`
	if _, err := tx.ExecContext(ctx, stage, f.FileName, loadID, now); err != nil {
		return LoadResult{}, fmt.Errorf("duckdb load %s: read file: %w", f.FileName, err)
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO `+RawTable+` SELECT * FROM `+loadBatchTable)
	if err != nil {
		return LoadResult{}, fmt.Errorf("duckdb load %s: insert into %s: %w", f.FileName, RawTable, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return LoadResult{}, fmt.Errorf("duckdb load %s: rows inserted: %w", f.FileName, err)
	}
	// A file rarely repeats a natural key; only then does the MERGE need its dedup window,
	// which costs more than this check.
	var repeats bool
	err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+loadBatchTable+`
GROUP BY `+strings.Join(contracts.NaturalKey, ", ")+` HAVING count(*) > 1)`).Scan(&repeats)
	if err != nil {
		return LoadResult{}, fmt.Errorf("duckdb load %s: check natural keys: %w", f.FileName, err)
	}
	merge := uniqueMergeSQL(loadBatchTable)
	if repeats {
		merge = mergeSQL(loadBatchTable)
	}
	if _, err := tx.ExecContext(ctx, merge); err != nil {
		return LoadResult{}, fmt.Errorf("duckdb load %s: merge into %s: %w", f.FileName, TransformedTable, err)
	}
	if _, err := tx.ExecContext(ctx, countriesMergeSQL(loadBatchTable)); err != nil {
		return LoadResult{}, fmt.Errorf("duckdb load %s: merge into %s: %w", f.FileName, CountriesTable, err)
	}
	// The history lookup above already told a first load from a forced reload: a plain INSERT
	// or UPDATE costs a third of a MERGE.
	if prev == "" {
		_, err = tx.ExecContext(ctx, `INSERT INTO `+LoadHistoryTable+`
    (file_name, load_id, run_id, batch_id, row_count, loads, status, first_loaded_at, loaded_at)
VALUES (?, ?, ?, ?, ?, 1, 'LOADED', ?, ?)`, f.FileName, loadID, f.RunID, f.BatchID, n, now, now)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE `+LoadHistoryTable+`
SET load_id = ?, run_id = ?, batch_id = ?, row_count = ?, loads = loads + 1, status = 'LOADED', loaded_at = ?
WHERE file_name = ?`, loadID, f.RunID, f.BatchID, n, now, f.FileName)
	}
	if err != nil {
		return LoadResult{}, fmt.Errorf("duckdb load %s: record load history: %w", f.FileName, err)
	}
	if err := tx.Commit(); err != nil {
		return LoadResult{}, fmt.Errorf("duckdb load %s: commit: %w", f.FileName, err)
	}
	return LoadResult{LoadID: loadID, RowsLoaded: int(n)}, nil
}

// parquetSelectList matches the file's columns to RAW's by name, as Snowpipe's
// MATCH_BY_COLUMN_NAME does: a missing nullable column loads as NULL, a missing required
// one (or a file that is not Parquet) is ErrBadFile.
func parquetSelectList(ctx context.Context, tx *sql.Tx, path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("parquet file: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT name FROM parquet_schema(`+sqlString(path)+`)`)
	if err != nil {
		return "", fmt.Errorf("%w: read parquet schema of %s: %w", ErrBadFile, path, err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return "", fmt.Errorf("%w: read parquet schema of %s: %w", ErrBadFile, path, err)
		}
		have[strings.ToLower(name)] = true
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("%w: read parquet schema of %s: %w", ErrBadFile, path, err)
	}
	list := make([]string, len(rowColumns))
	var missing []string
	for i, c := range rowColumns {
		switch {
		case have[c.name]:
			list[i] = c.name
		case c.nullable:
			list[i] = "NULL"
		default:
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%w: %s lacks required columns %s", ErrBadFile, path, strings.Join(missing, ", "))
	}
	return strings.Join(list, ", "), nil
}

// Count returns TRANSFORMED's row count.
func (d *DuckDB) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM `+TransformedTable).Scan(&n); err != nil {
		return 0, fmt.Errorf("duckdb count %s: %w", TransformedTable, err)
	}
	return n, nil
}

// FileLoaded reports whether fileName is in the load history.
func (d *DuckDB) FileLoaded(ctx context.Context, fileName string) (bool, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM `+LoadHistoryTable+` WHERE file_name = ?`, fileName).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("duckdb load history %s: %w", fileName, err)
	}
	return n > 0, nil
}

// Close checkpoints (so the file holds everything and no WAL is left for Soda's older
// DuckDB to replay) and closes the database.
func (d *DuckDB) Close() error {
	_, cerr := d.db.ExecContext(context.Background(), "CHECKPOINT")
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("duckdb close %s: %w", d.path, err)
	}
	if cerr != nil {
		return fmt.Errorf("duckdb checkpoint %s: %w", d.path, cerr)
	}
	return nil
}

// sqlString quotes s as a SQL string literal. DuckDB's table functions take no bind
// parameters for file names, and ids are built here, so quoting is all they need.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
