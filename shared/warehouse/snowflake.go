package warehouse

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/snowflakedb/gosnowflake"

	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/secrets"
	"github.com/gfnpipeline/shared/telemetry"
)

// Snowflake object names beyond the shared tables. RAW.LOAD_HISTORY has no Snowflake twin:
// Snowflake keeps load metadata itself (COPY_HISTORY, 64 days of load-once memory).
const (
	RawStream     = "raw.ecological_footprint_stream"
	MergeTask     = "transformed.merge_ecological_footprint"
	RawTableStage = "@raw.%ecological_footprint"
	// DefaultPipe is the Snowpipe terraform creates on the lake's transformed/ prefix.
	DefaultPipe = "raw.ecological_footprint_pipe"
	// PipeStagePrefix is the lake prefix the pipe's external stage points at (terraform's
	// stage url s3://<bucket>/transformed/): COPY_HISTORY's FILE_NAME and METADATA$FILENAME,
	// hence RAW's file_name, are relative to it.
	PipeStagePrefix = lake.TransformedRoot
)

// PipeFileName is the name Snowflake's load records and RAW give a lake key Snowpipe loaded.
func PipeFileName(key string) string { return strings.TrimPrefix(key, PipeStagePrefix) }

// ErrSnowflakeConfig reports missing or unusable Snowflake settings.
var ErrSnowflakeConfig = errors.New("snowflake configuration")

// SnowflakeConfig says how to reach Snowflake: the loader's settings (env tags) when it
// confirms Snowpipe's loads. Authentication is key-pair JWT when PrivateKeyPEM is set, else
// Password.
type SnowflakeConfig struct {
	Account       string `env:"SNOWFLAKE_ACCOUNT"`
	User          string `env:"SNOWFLAKE_USER"`
	Database      string `env:"SNOWFLAKE_DATABASE"`
	Warehouse     string `env:"SNOWFLAKE_WAREHOUSE"`
	Role          string `env:"SNOWFLAKE_ROLE"`
	PrivateKeyPEM string `env:"SNOWFLAKE_PRIVATE_KEY"`
	Password      string `env:"SNOWFLAKE_PASSWORD"`
	// SecretARN names a Secrets Manager secret whose JSON fills what the fields above leave
	// empty (Resolve).
	SecretARN string `env:"SNOWFLAKE_SECRET_ARN"`
	// Host, Port and Protocol override the account's endpoint (an emulator such as fakesnow).
	Host     string `env:"SNOWFLAKE_HOST"`
	Port     int    `env:"SNOWFLAKE_PORT"`
	Protocol string `env:"SNOWFLAKE_PROTOCOL"`
}

// snowflakeSecret is the JSON document SNOWFLAKE_SECRET_ARN names in AWS Secrets Manager.
type snowflakeSecret struct {
	Account    string `json:"account"`
	User       string `json:"user"`
	Database   string `json:"database"`
	Warehouse  string `json:"warehouse"`
	Role       string `json:"role"`
	PrivateKey string `json:"private_key"`
	Password   string `json:"password"`
}

// Resolve fills what cfg leaves empty from the secret SecretARN names (keys account, user,
// database, warehouse, role, private_key, password; awsCfg as for secrets.String), and checks
// that account, user, database, warehouse and a private key or password are there.
func (cfg SnowflakeConfig) Resolve(ctx context.Context, awsCfg *aws.Config) (SnowflakeConfig, error) {
	if cfg.SecretARN != "" {
		var sec snowflakeSecret
		if err := secrets.JSON(ctx, awsCfg, cfg.SecretARN, &sec); err != nil {
			return SnowflakeConfig{}, fmt.Errorf("%w: SNOWFLAKE_SECRET_ARN: %w", ErrSnowflakeConfig, err)
		}
		fill := func(dst *string, v string) {
			if *dst == "" {
				*dst = v
			}
		}
		fill(&cfg.Account, sec.Account)
		fill(&cfg.User, sec.User)
		fill(&cfg.Database, sec.Database)
		fill(&cfg.Warehouse, sec.Warehouse)
		fill(&cfg.Role, sec.Role)
		fill(&cfg.PrivateKeyPEM, sec.PrivateKey)
		fill(&cfg.Password, sec.Password)
	}
	var missing []string
	for _, s := range []struct{ name, v string }{
		{"SNOWFLAKE_ACCOUNT", cfg.Account}, {"SNOWFLAKE_USER", cfg.User},
		{"SNOWFLAKE_DATABASE", cfg.Database}, {"SNOWFLAKE_WAREHOUSE", cfg.Warehouse},
	} {
		if s.v == "" {
			missing = append(missing, s.name)
		}
	}
	if cfg.PrivateKeyPEM == "" && cfg.Password == "" {
		missing = append(missing, "SNOWFLAKE_PRIVATE_KEY or SNOWFLAKE_PASSWORD")
	}
	if len(missing) > 0 {
		return SnowflakeConfig{}, fmt.Errorf("%w: missing %s (set them, or SNOWFLAKE_SECRET_ARN)", ErrSnowflakeConfig, strings.Join(missing, ", "))
	}
	return cfg, nil
}

func parseRSAKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, fmt.Errorf("%w: private key is not PEM", ErrSnowflakeConfig)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: private key (unencrypted PKCS#1 or PKCS#8 expected): %w", ErrSnowflakeConfig, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: private key is %T, Snowflake key-pair auth needs RSA", ErrSnowflakeConfig, k)
	}
	return rk, nil
}

// Snowflake is the production warehouse. Snowpipe loads RAW there; this driver owns the DDL,
// the stream and the task that MERGEs into TRANSFORMED, the load records the loader's load
// confirmer reads, and a LoadFile (PUT + COPY INTO + the task's MERGE) for loading without
// Snowpipe.
type Snowflake struct {
	db        *sql.DB
	warehouse string
}

var _ Warehouse = (*Snowflake)(nil)

// OpenSnowflake connects; the caller runs Migrate.
func OpenSnowflake(ctx context.Context, cfg SnowflakeConfig) (*Snowflake, error) {
	sc := &gosnowflake.Config{
		Account:   cfg.Account,
		User:      cfg.User,
		Database:  cfg.Database,
		Warehouse: cfg.Warehouse,
		Role:      cfg.Role,
		Host:      cfg.Host,
		Port:      cfg.Port,
		Protocol:  cfg.Protocol,
		// Timestamps are UTC wall clock, as in DuckDB.
		Params: map[string]*string{"TIMEZONE": ptr("UTC")},
		// Deprecated, but the only field that sets the driver's level before its first
		// connection logs anything (GO-2026-6665: the driver logs secrets at debug).
		Tracing: driverLogLevel, //nolint:staticcheck // SA1019: see above
	}
	if cfg.PrivateKeyPEM != "" {
		key, err := parseRSAKey(cfg.PrivateKeyPEM)
		if err != nil {
			return nil, err
		}
		sc.Authenticator, sc.PrivateKey = gosnowflake.AuthTypeJwt, key
	} else {
		sc.Password = cfg.Password
	}
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, *sc))
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("snowflake: connect to %s: %w", cfg.Account, err), db.Close())
	}
	// The first connection may have replaced the logger from a client config file (the
	// driver's "easy logging"); hold it at driverLogLevel all the same.
	if err := gosnowflake.GetLogger().SetLogLevel(driverLogLevel); err != nil {
		return nil, errors.Join(fmt.Errorf("snowflake: driver log level: %w", err), db.Close())
	}
	return &Snowflake{db: db, warehouse: cfg.Warehouse}, nil
}

// driverLogLevel keeps gosnowflake's own logger at error: below that, gosnowflake v1 writes
// tokens and other secrets to its logs (GO-2026-6665, fixed only in v2; see
// mk/govulncheck-exclusions.txt). Never raise it to info or debug.
const driverLogLevel = "error"

func ptr[T any](v T) *T { return &v }

// DB exposes the connection for reports.
func (s *Snowflake) DB() *sql.DB { return s.db }

// TaskMerges are the task's two MERGEs from the stream.
func TaskMerges() []string { return []string{mergeSQL(RawStream), countriesMergeSQL(RawStream)} }

// mergeTransaction is the task body: both MERGEs read the same stream offset, which
// advances when the transaction commits.
func mergeTransaction() []string {
	return append(append([]string{"BEGIN TRANSACTION"}, TaskMerges()...), "COMMIT")
}

// TablesSQL is the schemas, tables and views: what Migrate creates besides the stream and
// task (an emulator without streams and tasks runs only these).
func TablesSQL() []string { return append(tableDDL(snowDialect), viewDDL()...) }

// migrateSQL is Migrate's statements, in order.
func (s *Snowflake) migrateSQL() []string {
	return append(TablesSQL(),
		"CREATE STREAM IF NOT EXISTS "+RawStream+" ON TABLE "+RawTable+" APPEND_ONLY = TRUE",
		"CREATE TASK IF NOT EXISTS "+MergeTask+"\n    WAREHOUSE = "+s.warehouse+
			"\n    SCHEDULE = '1 MINUTE'\n    WHEN SYSTEM$STREAM_HAS_DATA('"+strings.ToUpper(RawStream)+"')\nAS\nEXECUTE IMMEDIATE $$\nBEGIN\n"+
			strings.Join(mergeTransaction(), ";\n")+";\nEND;\n$$",
		"ALTER TASK "+MergeTask+" RESUME",
	)
}

// Migrate creates the schemas, tables, stream, task and views that are missing (Snowpipe
// itself, with its stage and storage integration, is terraform's). It never replaces what
// exists: in production terraform owns the task (terraform/sql/merge_task.sql, which a test
// keeps equal to mergeTransaction).
func (s *Snowflake) Migrate(ctx context.Context) error {
	for _, q := range s.migrateSQL() {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("snowflake migrate: %s: %w", firstLine(q), err)
		}
	}
	return nil
}

// copySQL loads one staged file into RAW by column name, as the pipe does, with the
// warehouse's lineage columns from the file's metadata.
func copySQL(fileName string, force bool) string {
	return `COPY INTO ` + RawTable + `
FROM ` + RawTableStage + `
FILES = (` + sqlString(fileName) + `)
FILE_FORMAT = (TYPE = PARQUET)
MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
INCLUDE_METADATA = (file_name = METADATA$FILENAME, load_id = METADATA$FILE_CONTENT_KEY, loaded_at = METADATA$START_SCAN_TIME)
ON_ERROR = ABORT_STATEMENT
FORCE = ` + strings.ToUpper(strconv.FormatBool(force))
}

// LoadFile stages the file in RAW's table stage under its lake key, COPYs it (Snowflake
// skips files it loaded before unless Force) and runs the task's MERGE at once.
func (s *Snowflake) LoadFile(ctx context.Context, f FileLoad) (LoadResult, error) {
	local, cleanup, err := stageName(f)
	if err != nil {
		return LoadResult{}, err
	}
	defer cleanup()
	// The local path goes in a quoted string literal: escape its backslashes and quotes.
	put := "PUT 'file://" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(filepath.ToSlash(local)) + "' " + RawTableStage + "/" + path.Dir(f.FileName) + " AUTO_COMPRESS = FALSE OVERWRITE = TRUE" //nolint:gosec // G202: the stage and directory come from our lake layout; the path is escaped
	if _, err := s.db.ExecContext(ctx, put); err != nil {
		return LoadResult{}, fmt.Errorf("snowflake load %s: put: %w", f.FileName, err)
	}
	loaded, err := s.copyInto(ctx, f)
	if err != nil {
		return LoadResult{}, err
	}
	if err := s.RunMerge(ctx); err != nil {
		return LoadResult{}, fmt.Errorf("snowflake load %s: %w", f.FileName, err)
	}
	res := LoadResult{RowsLoaded: loaded, AlreadyLoaded: loaded == 0}
	if res.LoadID, err = s.FileLoadID(ctx, f.FileName); err != nil {
		return LoadResult{}, fmt.Errorf("snowflake load %s: %w", f.FileName, err)
	}
	if res.TableRows, err = s.Count(ctx); err != nil {
		return LoadResult{}, err
	}
	telemetry.Logger(ctx).InfoContext(ctx, "warehouse load", "warehouse", "snowflake", "file_name", f.FileName,
		"load_id", res.LoadID, "rows_loaded", res.RowsLoaded, "already_loaded", res.AlreadyLoaded, "table_rows", res.TableRows)
	return res, nil
}

// stageName gives the local file the lake key's base name: PUT keeps the local name, and
// the staged name is the file's load-once identity.
func stageName(f FileLoad) (string, func(), error) {
	if filepath.Base(f.LocalPath) == path.Base(f.FileName) {
		return f.LocalPath, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "gfn-stage-")
	if err != nil {
		return "", nil, fmt.Errorf("snowflake load %s: %w", f.FileName, err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	dst := filepath.Join(dir, path.Base(f.FileName))
	if err := copyFile(f.LocalPath, dst); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("snowflake load %s: %w", f.FileName, err)
	}
	return dst, cleanup, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close() //nolint:errcheck // read-only: a read error surfaces from io.Copy
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		return errors.Join(err, out.Close())
	}
	return out.Close()
}

// copyInto runs COPY INTO and returns the rows it loaded (0 when Snowflake skipped the file
// as already loaded). A file Snowflake cannot parse is ErrBadFile.
func (s *Snowflake) copyInto(ctx context.Context, f FileLoad) (int, error) {
	rows, err := s.db.QueryContext(ctx, copySQL(f.FileName, f.Force))
	if err != nil {
		return 0, fmt.Errorf("snowflake load %s: copy: %w", f.FileName, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, fmt.Errorf("snowflake load %s: copy result: %w", f.FileName, err)
	}
	loaded := 0
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return 0, fmt.Errorf("snowflake load %s: copy result: %w", f.FileName, err)
		}
		row := map[string]string{}
		for i, c := range cols {
			row[strings.ToLower(c)] = vals[i].String
		}
		// One row per file: status LOADED / LOAD_FAILED / ...; a skipped file gives a single
		// "Copy executed with 0 files processed." status row.
		switch status := strings.ToUpper(row["status"]); { //nolint:staticcheck // QF1002: the cases list status values and their alternatives
		case status == "LOADED" || status == "PARTIALLY_LOADED":
			n, err := strconv.Atoi(row["rows_loaded"])
			if err != nil {
				return 0, fmt.Errorf("snowflake load %s: rows_loaded %q: %w", f.FileName, row["rows_loaded"], err)
			}
			loaded += n
		case status == "LOAD_FAILED":
			return 0, fmt.Errorf("%w: snowflake copy %s: %s", ErrBadFile, f.FileName, row["first_error"])
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("snowflake load %s: copy result: %w", f.FileName, err)
	}
	return loaded, nil
}

// RunMerge runs the task's body now: what the stream holds goes into TRANSFORMED.
func (s *Snowflake) RunMerge(ctx context.Context) error {
	conn, err := s.db.Conn(ctx) // one session: the transaction statements must share it
	if err != nil {
		return fmt.Errorf("snowflake merge: %w", err)
	}
	defer conn.Close() //nolint:errcheck // returns the session to the pool; the statements' errors are returned
	for _, q := range mergeTransaction() {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			_, _ = conn.ExecContext(ctx, "ROLLBACK") // best effort; the session closes anyway
			return fmt.Errorf("snowflake merge: %s: %w", firstLine(q), err)
		}
	}
	return nil
}

// Count returns TRANSFORMED's row count.
func (s *Snowflake) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+TransformedTable).Scan(&n); err != nil {
		return 0, fmt.Errorf("snowflake count %s: %w", TransformedTable, err)
	}
	return n, nil
}

// Close closes the connection pool.
func (s *Snowflake) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("snowflake close: %w", err)
	}
	return nil
}

// PipeStatus is SYSTEM$PIPE_STATUS's answer (the fields named here; Raw has all).
type PipeStatus struct {
	ExecutionState        string `json:"executionState"`
	PendingFileCount      int    `json:"pendingFileCount"`
	LastIngestedTimestamp string `json:"lastIngestedTimestamp"`
	LastIngestedFilePath  string `json:"lastIngestedFilePath"`
	Error                 string `json:"error"`
	Fault                 string `json:"fault"`
	Raw                   string `json:"-"`
}

// PipeStatus asks Snowflake for the pipe's state (e.g. DefaultPipe).
func (s *Snowflake) PipeStatus(ctx context.Context, pipe string) (PipeStatus, error) {
	var raw string
	if err := s.db.QueryRowContext(ctx, `SELECT SYSTEM$PIPE_STATUS(?)`, pipe).Scan(&raw); err != nil {
		return PipeStatus{}, fmt.Errorf("snowflake pipe status %s: %w", pipe, err)
	}
	st := PipeStatus{Raw: raw}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return PipeStatus{}, fmt.Errorf("snowflake pipe status %s: %q: %w", pipe, raw, err)
	}
	return st, nil
}

// CopyRecord is one row of COPY_HISTORY: one file loaded (or not) into a table.
type CopyRecord struct {
	FileName      string
	StageLocation string
	LastLoadTime  time.Time
	RowCount      int64
	RowParsed     int64
	ErrorCount    int64
	FirstError    string
	Status        string // Loaded, Load failed, Partially loaded, ...
	PipeName      string
}

// FileLoadID is the load id RAW's rows of fileName carry (the latest load's), "" if none.
func (s *Snowflake) FileLoadID(ctx context.Context, fileName string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(max_by(load_id, loaded_at), '') FROM `+RawTable+` WHERE file_name = ?`, fileName).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("snowflake load id of %s: %w", fileName, err)
	}
	return id, nil
}

// PendingMerge counts fileName's rows the stream still holds: rows in RAW that the task has
// not yet MERGEd into TRANSFORMED (reading a stream outside DML does not move its offset).
func (s *Snowflake) PendingMerge(ctx context.Context, fileName string) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+RawStream+` WHERE file_name = ?`, fileName).Scan(&n); err != nil {
		return 0, fmt.Errorf("snowflake pending merge of %s: %w", fileName, err)
	}
	return n, nil
}

// LoadRecords are Snowflake's own records of file loads into RAW, which the load confirmer
// reads. Production reads COPY_HISTORY (Snowpipe's loads are there, not in LOAD_HISTORY) and
// SYSTEM$PIPE_STATUS; an emulator that lacks them substitutes its equivalent.
type LoadRecords interface {
	// FileLoads lists the loads of fileName (PipeFileName of the lake key) into RAW since
	// since, oldest first.
	FileLoads(ctx context.Context, fileName string, since time.Time) ([]CopyRecord, error)
	// PipeStatus describes the pipe's state for an operator (a stuck load's report).
	PipeStatus(ctx context.Context) (string, error)
}

// CopyHistoryRecords are the production LoadRecords: COPY_HISTORY of RAW and the pipe's status.
type CopyHistoryRecords struct {
	Snowflake *Snowflake
	// Pipe is the Snowpipe loading RAW (DefaultPipe when empty).
	Pipe string
}

// FileLoads reads COPY_HISTORY for fileName (a PipeFileName).
func (r CopyHistoryRecords) FileLoads(ctx context.Context, fileName string, since time.Time) ([]CopyRecord, error) {
	return r.Snowflake.copyHistory(ctx, RawTable, since, fileName)
}

// PipeStatus is SYSTEM$PIPE_STATUS's JSON.
func (r CopyHistoryRecords) PipeStatus(ctx context.Context) (string, error) {
	pipe := r.Pipe
	if pipe == "" {
		pipe = DefaultPipe
	}
	st, err := r.Snowflake.PipeStatus(ctx, pipe)
	return st.Raw, err
}

func (s *Snowflake) copyHistory(ctx context.Context, table string, since time.Time, fileName string) ([]CopyRecord, error) {
	q := `SELECT file_name, stage_location, last_load_time, row_count, row_parsed, error_count,
       first_error_message, status, pipe_name
FROM TABLE(information_schema.copy_history(TABLE_NAME => ?, START_TIME => ?::TIMESTAMP_LTZ))`
	args := []any{strings.ToUpper(table), since.UTC()}
	if fileName != "" {
		q += " WHERE file_name = ?"
		args = append(args, fileName)
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY last_load_time", args...)
	if err != nil {
		return nil, fmt.Errorf("snowflake copy history %s: %w", table, err)
	}
	defer rows.Close()
	var out []CopyRecord
	for rows.Next() {
		var r CopyRecord
		var stage, firstErr, pipe sql.NullString
		var at sql.NullTime
		var count, parsed, errs sql.NullInt64
		if err := rows.Scan(&r.FileName, &stage, &at, &count, &parsed, &errs, &firstErr, &r.Status, &pipe); err != nil {
			return nil, fmt.Errorf("snowflake copy history %s: %w", table, err)
		}
		r.StageLocation, r.LastLoadTime, r.FirstError, r.PipeName = stage.String, at.Time, firstErr.String, pipe.String
		r.RowCount, r.RowParsed, r.ErrorCount = count.Int64, parsed.Int64, errs.Int64
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("snowflake copy history %s: %w", table, err)
	}
	return out, nil
}
