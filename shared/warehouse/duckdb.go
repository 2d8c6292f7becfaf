package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
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

// loadBatchTable holds the files being loaded, for the length of their load transaction;
// loadSourceTable holds them with each natural key once, when they repeat one.
const (
	loadBatchTable  = "temp.load_batch"
	loadSourceTable = "temp.load_source"
)

// duckDBName is the warehouse file's database name in DuckDB's catalog.
const duckDBName = "gfn"

// duckDBRowGroupSize is the warehouse's row group size, in rows (DuckDB's default: 122,880).
const duckDBRowGroupSize = 16384

// ErrStorageVersion is returned by OpenDuckDB for an existing file written in a newer storage
// format than SodaStorageVersion: Soda could not read it. Delete (or export) and reload it.
var ErrStorageVersion = errors.New("duckdb file storage version is not readable by soda")

// DuckDB is the local warehouse: one file, used by one process at a time (DuckDB locks it).
type DuckDB struct {
	db   *sql.DB
	path string
	// writer is a token (capacity 1) that serialises loads: concurrent writes to the same
	// keys would abort with a transaction conflict, and one writer is all a local run needs.
	writer chan struct{}
	// queued holds the loads waiting for the writer; whoever holds it loads all of them, up to
	// maxGroupFiles a transaction (group commit): a transaction's fixed cost dwarfs a file's
	// rows.
	qmu    sync.Mutex
	queued []*loadRequest
	now    func() time.Time
}

// loadRequest is one LoadFile call waiting for its group's transaction.
type loadRequest struct {
	ctx  context.Context
	f    FileLoad
	res  LoadResult
	err  error
	done chan struct{}
}

var _ Warehouse = (*DuckDB)(nil)

// OpenDuckDB opens (creating if needed) the DuckDB file at path. The caller runs Migrate.
func OpenDuckDB(path string) (*DuckDB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("duckdb: create directory for %s: %w", path, err)
		}
	}
	// The file is attached rather than opened for its row group size: a checkpoint rewrites
	// each row group that gained rows whole, so smaller ones keep a backfill's checkpoints
	// from recompressing every row loaded so far, each time.
	opts := fmt.Sprintf("ROW_GROUP_SIZE %d", duckDBRowGroupSize)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		// Only a new file takes the version: an existing one keeps its own, checked below.
		opts += ", STORAGE_VERSION '" + SodaStorageVersion + "'"
	}
	attach := fmt.Sprintf("ATTACH IF NOT EXISTS %s AS %s (%s)", sqlString(path), duckDBName, opts)
	connector, err := duckdb.NewConnector("",
		func(execer driver.ExecerContext) error {
			for _, q := range []string{
				attach,
				"USE " + duckDBName,
				// Timestamps are UTC wall clock (TIMESTAMP, like Snowflake's TIMESTAMP_NTZ);
				// Parquet's UTC-adjusted timestamps must not shift by the host's zone.
				"SET TimeZone = 'UTC'",
				// A load is a few thousand rows: one thread does it in less CPU time than two,
				// which only contend with each other and with the pipeline's other stages.
				"SET threads = 1",
				// Checkpoints recompress every row since the last one; trying FSST, Chimp and
				// Patas there costs a quarter of their time and wins nothing on these columns
				// (dictionary, RLE and ALP do; the file comes out the same size).
				"SET disabled_compression_methods = 'fsst,chimp,patas'",
				// With small row groups a checkpoint costs little, so one every 8 MiB of WAL
				// (DuckDB's default: 16) keeps fewer uncompressed rows in memory for no more CPU.
				"SET checkpoint_threshold = '8MB'",
			} {
				if _, err := execer.ExecContext(context.Background(), q, nil); err != nil {
					return fmt.Errorf("%s: %w", q, err)
				}
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("duckdb: open %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	d := &DuckDB{db: db, path: path, writer: make(chan struct{}, 1), now: time.Now}
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
// per FileName (the load history plays Snowpipe's load metadata) unless f.Force. Calls made
// while another load runs share the next transactions, up to maxGroupFiles each; each call
// returns once its file is committed, with its own load id and row count.
func (d *DuckDB) LoadFile(ctx context.Context, f FileLoad) (LoadResult, error) {
	if f.FileName == "" || f.LocalPath == "" {
		return LoadResult{}, fmt.Errorf("duckdb load: file name and local path are required")
	}
	req := &loadRequest{ctx: ctx, f: f, done: make(chan struct{})}
	d.qmu.Lock()
	d.queued = append(d.queued, req)
	d.qmu.Unlock()

	select {
	case <-req.done:
		// An earlier holder loaded it with its group. A caller that waited for the writer
		// only to return would hold up the next load, and the callers behind it would each
		// load the one file that arrived meanwhile (a convoy of one-file transactions).
	case d.writer <- struct{}{}:
		// The queue holds this request unless an earlier holder took it, and then it holds
		// only others' (whose callers are waiting here): load them all.
		d.loadQueued()
		<-d.writer
		<-req.done
	}
	if req.err != nil {
		return LoadResult{}, req.err
	}
	log := telemetry.Logger(ctx)
	log.InfoContext(ctx, "warehouse load", "warehouse", "duckdb", "file_name", f.FileName,
		"load_id", req.res.LoadID, "rows_loaded", req.res.RowsLoaded, "already_loaded", req.res.AlreadyLoaded,
		"table_rows", req.res.TableRows, "force", f.Force)
	return req.res, nil
}

// maxGroupFiles caps a transaction's files. Each file in a group adds 10-40 MiB to the
// process's peak (its rows staged and appended uncompressed until the commit): with ten, a
// 64-year backfill peaked 70-100 MiB higher and took no less time than with two.
const maxGroupFiles = 2

// loadQueued loads what is queued, in groups of up to maxGroupFiles without a repeated file
// name (a redelivery in the same group must see the first delivery's load). The caller holds
// d.writer.
func (d *DuckDB) loadQueued() {
	d.qmu.Lock()
	queued := d.queued
	d.queued = nil
	d.qmu.Unlock()
	for len(queued) > 0 {
		seen := map[string]bool{}
		n := 0
		for n < len(queued) && n < maxGroupFiles && !seen[queued[n].f.FileName] {
			seen[queued[n].f.FileName] = true
			n++
		}
		group := queued[:n]
		queued = queued[n:]
		err := d.loadGroup(group)
		if err != nil && len(group) > 1 {
			// One bad file must fail only itself: load each alone.
			for _, r := range group {
				r.err = d.loadGroup([]*loadRequest{r})
			}
		} else {
			group[0].err = err
		}
		for _, r := range group {
			close(r.done)
		}
	}
}

// loadGroup loads the group's files in one transaction and sets each request's result.
// With several files it runs under the first one's context; a failure fails the group.
func (d *DuckDB) loadGroup(group []*loadRequest) error {
	ctx := group[0].ctx
	name := group[0].f.FileName
	if len(group) > 1 {
		name = fmt.Sprintf("%s and %d more", name, len(group)-1)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("duckdb load %s: begin: %w", name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	type fileLoad struct {
		req      *loadRequest
		prev     string // the earlier load's id, if any
		loadID   string
		loadedAt time.Time
	}
	var loads []*fileLoad
	var selects []string
	var args []any
	now := d.now().UTC()
	for i, r := range group {
		var prev string
		err := tx.QueryRowContext(ctx, `SELECT load_id FROM `+LoadHistoryTable+` WHERE file_name = ?`, r.f.FileName).Scan(&prev)
		switch {
		case err == nil && !r.f.Force:
			r.res = LoadResult{LoadID: prev, AlreadyLoaded: true}
			continue
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("duckdb load %s: read load history: %w", r.f.FileName, err)
		}
		selectList, err := parquetSelectList(ctx, tx, r.f.LocalPath)
		if err != nil {
			return fmt.Errorf("duckdb load %s: %w", r.f.FileName, err)
		}
		// A group's files are stamped a microsecond apart in arrival order, so a tie on
		// extracted_at still goes to the later load.
		at := now.Add(time.Duration(i) * time.Microsecond)
		fl := &fileLoad{req: r, prev: prev, loadID: newLoadID(at), loadedAt: at}
		loads = append(loads, fl)
		selects = append(selects, `SELECT `+selectList+`, ? AS file_name, ? AS load_id, ?::TIMESTAMP AS loaded_at
FROM read_parquet(`+sqlString(r.f.LocalPath)+`)`)
		args = append(args, r.f.FileName, fl.loadID, at)
	}
	if len(loads) > 0 {
		// The files are read once, into a temporary table (memory, never logged): RAW's
		// append and the merges read them there rather than scanning RAW for the load ids.
		stage := `CREATE OR REPLACE TEMP TABLE ` + loadBatchTable + ` AS
` + strings.Join(selects, "\nUNION ALL\n")
		if _, err := tx.ExecContext(ctx, stage, args...); err != nil {
			return fmt.Errorf("duckdb load %s: read file: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+RawTable+` SELECT * FROM `+loadBatchTable); err != nil {
			return fmt.Errorf("duckdb load %s: insert into %s: %w", name, RawTable, err)
		}
		counts := map[string]int{}
		years, err := queryCounts(ctx, tx, counts)
		if err != nil {
			return fmt.Errorf("duckdb load %s: count rows: %w", name, err)
		}
		source, err := dedupedSource(ctx, tx)
		if err != nil {
			return fmt.Errorf("duckdb load %s: check natural keys: %w", name, err)
		}
		var held bool
		if err := tx.QueryRowContext(ctx, heldSQL(years)).Scan(&held); err != nil {
			return fmt.Errorf("duckdb load %s: look for the batch's years in %s: %w", name, TransformedTable, err)
		}
		merge := []string{insertSQL(source)}
		if held {
			merge = upsertSQL(source, years)
		}
		for _, q := range merge {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("duckdb load %s: merge into %s: %w", name, TransformedTable, err)
			}
		}
		if _, err := tx.ExecContext(ctx, countriesMergeSQL(source)); err != nil {
			return fmt.Errorf("duckdb load %s: merge into %s: %w", name, CountriesTable, err)
		}
		for _, fl := range loads {
			f, n := fl.req.f, counts[fl.loadID]
			// The history lookup above already told a first load from a forced reload: a
			// plain INSERT or UPDATE costs a third of a MERGE.
			if fl.prev == "" {
				_, err = tx.ExecContext(ctx, `INSERT INTO `+LoadHistoryTable+`
    (file_name, load_id, run_id, batch_id, row_count, loads, status, first_loaded_at, loaded_at)
VALUES (?, ?, ?, ?, ?, 1, 'LOADED', ?, ?)`, f.FileName, fl.loadID, f.RunID, f.BatchID, n, fl.loadedAt, fl.loadedAt)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE `+LoadHistoryTable+`
SET load_id = ?, run_id = ?, batch_id = ?, row_count = ?, loads = loads + 1, status = 'LOADED', loaded_at = ?
WHERE file_name = ?`, fl.loadID, f.RunID, f.BatchID, n, fl.loadedAt, f.FileName)
			}
			if err != nil {
				return fmt.Errorf("duckdb load %s: record load history: %w", f.FileName, err)
			}
			fl.req.res = LoadResult{LoadID: fl.loadID, RowsLoaded: n}
		}
		// Dropped with the transaction, not at the next load: meanwhile they would hold
		// their rows, uncompressed, through checkpoints and the close.
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+loadBatchTable+`; DROP TABLE IF EXISTS `+loadSourceTable); err != nil {
			return fmt.Errorf("duckdb load %s: drop staging tables: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("duckdb load %s: commit: %w", name, err)
	}
	rows, err := d.Count(ctx)
	if err != nil {
		return err
	}
	for _, r := range group {
		r.res.TableRows = rows
	}
	return nil
}

// queryCounts sets counts[load id] to the rows each file of the batch holds and returns the
// batch's first and last year.
func queryCounts(ctx context.Context, tx *sql.Tx, counts map[string]int) (years [2]int32, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT load_id, count(*), min(min(year)) OVER (), max(max(year)) OVER ()
FROM `+loadBatchTable+` GROUP BY load_id`)
	if err != nil {
		return years, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n, &years[0], &years[1]); err != nil {
			return years, err
		}
		counts[id] = n
	}
	return years, rows.Err()
}

// dedupedSource returns the table holding the batch with each natural key once: the batch
// itself when no key repeats (the usual case, and the check costs less than the window),
// else a copy keeping each key's winner.
func dedupedSource(ctx context.Context, tx *sql.Tx) (string, error) {
	key := strings.Join(contracts.NaturalKey, ", ")
	var repeats bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+loadBatchTable+`
GROUP BY `+key+` HAVING count(*) > 1)`).Scan(&repeats)
	if err != nil || !repeats {
		return loadBatchTable, err
	}
	_, err = tx.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE `+loadSourceTable+` AS
SELECT * FROM `+loadBatchTable+`
QUALIFY row_number() OVER (PARTITION BY `+key+` ORDER BY `+winnerOrder+`) = 1`)
	return loadSourceTable, err
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
