package warehouse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/snowflakedb/gosnowflake"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/shared/warehouse/whtest"
)

func TestSnowflakeConfig(t *testing.T) {
	base := map[string]string{
		"SNOWFLAKE_ACCOUNT": "acme-gfn", "SNOWFLAKE_USER": "loader", "SNOWFLAKE_DATABASE": "GFN",
		"SNOWFLAKE_WAREHOUSE": "LOAD_WH", "SNOWFLAKE_PASSWORD": "pw",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // in the error, which names the setting
		check   func(SnowflakeConfig) bool
	}{
		{"password", base, "", func(c SnowflakeConfig) bool { return c.Password == "pw" && c.Account == "acme-gfn" }},
		{"emulator endpoint", with("SNOWFLAKE_HOST", "localhost", "SNOWFLAKE_PORT", "8080", "SNOWFLAKE_PROTOCOL", "http"), "",
			func(c SnowflakeConfig) bool { return c.Host == "localhost" && c.Port == 8080 && c.Protocol == "http" }},
		{"bad port", with("SNOWFLAKE_PORT", "eighty"), `SNOWFLAKE_PORT="eighty": want a positive whole number`, nil},
		{"no credentials", with("SNOWFLAKE_PASSWORD", ""), "missing SNOWFLAKE_PRIVATE_KEY or SNOWFLAKE_PASSWORD", nil},
		{"no account", with("SNOWFLAKE_ACCOUNT", ""), "missing SNOWFLAKE_ACCOUNT", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := platform.Parse[SnowflakeConfig](func(k string) string { return tc.env[k] })
			if err == nil {
				cfg, err = cfg.Resolve(context.Background(), nil)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(cfg) {
				t.Fatalf("config = %+v, %v", cfg, err)
			}
		})
	}
}

// TestSnowflakeSecret fills the settings left empty from a Secrets Manager secret on the
// emulator.
func TestSnowflakeSecret(t *testing.T) {
	awsCfg := awstest.Config(t)
	out, err := secretsmanager.NewFromConfig(awsCfg).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name:         aws.String("gfn/snowflake-" + awstest.Prefix()),
		SecretString: aws.String(`{"account":"acme-gfn","user":"loader","database":"GFN","warehouse":"LOAD_WH","password":"from-secret"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := SnowflakeConfig{User: "env-user", SecretARN: aws.ToString(out.ARN)}.Resolve(context.Background(), &awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "env-user" || cfg.Account != "acme-gfn" || cfg.Password != "from-secret" {
		t.Fatalf("config = %+v: want the environment's user and the secret's account and password", cfg)
	}
	_, err = SnowflakeConfig{SecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope"}.Resolve(context.Background(), &awsCfg)
	if !errors.Is(err, ErrSnowflakeConfig) || !strings.Contains(err.Error(), "SNOWFLAKE_SECRET_ARN") {
		t.Fatalf("missing secret: err = %v", err)
	}
}

func TestParseRSAKey(t *testing.T) {
	// A throwaway 1024-bit key: enough to prove PKCS#8 parsing, never used to sign in anger.
	out, err := exec.Command("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024").Output()
	if err != nil {
		t.Skipf("openssl unavailable: %v", err)
	}
	if _, err := parseRSAKey(string(out)); err != nil {
		t.Fatalf("PKCS#8 RSA key: %v", err)
	}
	if _, err := parseRSAKey("not a key"); !errors.Is(err, ErrSnowflakeConfig) {
		t.Fatalf("garbage key: err = %v, want ErrSnowflakeConfig", err)
	}
}

// fakesnow starts fakesnow's HTTP server (PyPI fakesnow[server]) and returns its port.
func fakesnow(t *testing.T) int {
	t.Helper()
	py := os.Getenv("GFN_FAKESNOW_PYTHON")
	if py == "" {
		py = filepath.Join(whtest.RepoRoot(t), ".venv-fakesnow", "bin", "python")
	}
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("fakesnow python not found at %s (%v): run make venv-fakesnow", py, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(py, "-m", "fakesnow", "-s", "-p", strconv.Itoa(port))
	logPath := filepath.Join(t.TempDir(), "fakesnow.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("fakesnow log:\n%s", b)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return port
		}
	}
	t.Fatal("fakesnow did not start listening within 30s")
	return 0
}

// sqlValue renders v as a Snowflake literal for the seed INSERT.
func sqlValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return sqlString(x)
	case *string:
		if x == nil {
			return "NULL"
		}
		return sqlString(*x)
	case *float64:
		if x == nil {
			return "NULL"
		}
		return strconv.FormatFloat(*x, 'g', -1, 64)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int32:
		return strconv.Itoa(int(x))
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return "'" + x.UTC().Format("2006-01-02 15:04:05.000000") + "'::TIMESTAMP_NTZ"
	}
	panic(fmt.Sprintf("sqlValue %T", v))
}

func rawInsert(rows []contracts.Row, fileName, loadID string, loadedAt time.Time) string {
	var vals []string
	for _, r := range rows {
		v := []any{r.Year, r.CountryCode, r.CountryName, r.ShortName, r.ISOAlpha2, r.ISOAlpha3, r.IsAggregate,
			r.RecordType, r.CropLand, r.GrazingLand, r.ForestLand, r.FishingGround, r.BuiltupLand, r.Carbon,
			r.Value, r.Score, r.Extra, r.RunID, r.BatchID, r.SourceKey, r.ExtractedAt, fileName, loadID, loadedAt}
		lits := make([]string, len(v))
		for i := range v {
			lits[i] = sqlValue(v[i])
		}
		vals = append(vals, "("+strings.Join(lits, ", ")+")")
	}
	return "INSERT INTO " + RawTable + " (" + strings.Join(names(allColumns()), ", ") + ") VALUES\n" + strings.Join(vals, ",\n")
}

// The Snowflake driver over gosnowflake's wire protocol against fakesnow's server: the shared
// DDL, MERGE and report SQL run in Snowflake's dialect. fakesnow lacks streams, tasks,
// SYSTEM$PIPE_STATUS, COPY_HISTORY and COPY's INCLUDE_METADATA (see the package README), so
// RAW is seeded with INSERTs the way the stream would present two loads, and the MERGE reads
// RAW instead of the stream.
func TestSnowflakeSharedSQLOnFakesnow(t *testing.T) {
	ctx := context.Background()
	port := fakesnow(t)
	quietDriverLogCheck(t)
	s, err := OpenSnowflake(ctx, SnowflakeConfig{Account: "fakesnow", User: "gfn", Password: "fake",
		Database: "gfn", Warehouse: "load_wh", Host: "127.0.0.1", Port: port, Protocol: "http"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := gosnowflake.GetLogger().GetLogLevel(); got != driverLogLevel {
		t.Errorf("gosnowflake log level %q after connecting, want %q (GO-2026-6665)", got, driverLogLevel)
	}
	db := s.DB()
	// fakesnow keeps no state between sessions' pools unless the database exists.
	for _, q := range append([]string{"CREATE DATABASE IF NOT EXISTS gfn", "USE DATABASE gfn"}, TablesSQL()...) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", firstLine(q), err)
		}
	}

	// Two loads of the World's and two countries' 2022 rows; the second revises one value.
	t1 := time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC)
	var rows []contracts.Row
	for _, r := range whtest.YearRows(t, 2022, "run-1", t1) {
		if r.CountryCode == 1 || r.CountryCode == 231 || r.CountryCode == contracts.WorldCountryCode {
			rows = append(rows, r)
		}
	}
	revised := make([]contracts.Row, len(rows))
	var want float64
	for i, r := range rows {
		r.ExtractedAt, r.RunID = t1.Add(24*time.Hour), "run-2"
		if r.CountryCode == contracts.WorldCountryCode && r.RecordType == "EFConsTotGHA" {
			r.Value *= 1.01
			want = r.Value
		}
		revised[i] = r
	}
	for _, q := range []string{
		rawInsert(rows, "transformed/a.parquet", "load-1", t1.Add(time.Minute)),
		rawInsert(revised, "transformed/b.parquet", "load-2", t1.Add(24*time.Hour+time.Minute)),
		mergeSQL(RawTable),
		countriesMergeSQL(RawTable),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", firstLine(q), err)
		}
	}
	n, err := s.Count(ctx)
	if err != nil || n != int64(len(rows)) {
		t.Fatalf("transformed rows = %d, %v; want %d", n, err, len(rows))
	}
	var got float64
	var loadID string
	if err := db.QueryRowContext(ctx, `SELECT value, load_id FROM `+TransformedTable+` WHERE country_code = ? AND record_type = 'EFConsTotGHA'`,
		contracts.WorldCountryCode).Scan(&got, &loadID); err != nil {
		t.Fatal(err)
	}
	if got != want || loadID != "load-2" {
		t.Fatalf("world footprint = %v from %s, want %v from load-2", got, loadID, want)
	}
	var countries int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+CountriesTable).Scan(&countries); err != nil || countries != 3 {
		t.Fatalf("countries = %d, %v; want 3", countries, err)
	}
	r, err := ReadReport(ctx, db, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Overshoot) != 1 || r.Overshoot[0].Year != 2022 || r.Overshoot[0].FootprintGHA != want {
		t.Fatalf("overshoot over fakesnow = %+v, want 2022 from the revised footprint %v", r.Overshoot, want)
	}
}

// quietDriverLogCheck raises gosnowflake's logger to debug (as a client config file could),
// so that the caller's check of driverLogLevel after OpenSnowflake can fail, and restores it.
func quietDriverLogCheck(t *testing.T) {
	t.Helper()
	if err := gosnowflake.GetLogger().SetLogLevel("debug"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gosnowflake.GetLogger().SetLogLevel(driverLogLevel) })
}

// Even a connection that fails has set the driver's level before it logs anything.
func TestSnowflakeDriverLogLevel(t *testing.T) {
	quietDriverLogCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := OpenSnowflake(ctx, SnowflakeConfig{Account: "nowhere", User: "gfn", Password: "pw",
		Database: "gfn", Warehouse: "load_wh", Host: "127.0.0.1", Port: 1, Protocol: "http"})
	if err == nil {
		t.Fatal("connected to 127.0.0.1:1")
	}
	if got := gosnowflake.GetLogger().GetLogLevel(); got != driverLogLevel {
		t.Errorf("gosnowflake log level %q, want %q (GO-2026-6665)", got, driverLogLevel)
	}
}
