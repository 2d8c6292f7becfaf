package service

import (
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/services/loader/internal/confirm"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/shared/warehouse"
)

func TestConfig(t *testing.T) {
	parse := func(env map[string]string) (Config, error) {
		return platform.Parse[Config](func(k string) string { return env[k] })
	}
	got, err := parse(nil)
	want := Config{Warehouse: WarehouseDuckDB, DuckDBPath: "data/gfn.duckdb", ConfirmDeadline: confirm.DefaultDeadline, SnowflakePipe: warehouse.DefaultPipe}
	if err != nil || got != want {
		t.Fatalf("defaults %+v, %v; want %+v", got, err, want)
	}
	got, err = parse(map[string]string{"WAREHOUSE": "snowflake", "GFN_LOAD_CONFIRM_DEADLINE": "2m", "SNOWFLAKE_ACCOUNT": "acme"})
	if err != nil || got.Warehouse != WarehouseSnowflake || got.ConfirmDeadline != 2*time.Minute || got.Snowflake.Account != "acme" {
		t.Fatalf("config %+v, %v", got, err)
	}
	for env, msg := range map[string]string{
		"WAREHOUSE":                 `WAREHOUSE="x": want duckdb or snowflake`,
		"GFN_LOAD_CONFIRM_DEADLINE": `GFN_LOAD_CONFIRM_DEADLINE="x": want a positive duration`,
		"SNOWFLAKE_PORT":            `SNOWFLAKE_PORT="x": want a positive whole number`,
	} {
		if _, err := parse(map[string]string{env: "x"}); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s=x: err = %v, want %q", env, err, msg)
		}
	}
}
