package service

import (
	"errors"
	"time"

	"github.com/gfnpipeline/shared/warehouse"
)

// Config is the loader's settings besides the platform's (platform.Parse reads them).
type Config struct {
	// Warehouse is duckdb (load locally) or snowflake (confirm Snowpipe's loads).
	Warehouse Warehouse `env:"WAREHOUSE" envDefault:"duckdb"`
	// DuckDBPath is the local warehouse file.
	DuckDBPath string `env:"DUCKDB_PATH" envDefault:"data/gfn.duckdb"`
	// StatusAddr, when set, serves GET /status (table rows, loads) there.
	StatusAddr string `env:"GFN_STATUS_ADDR"`
	// ConfirmDeadline (snowflake) is how long after a file's creation a load not seen fails
	// its batch (confirm.DefaultDeadline).
	ConfirmDeadline time.Duration `env:"GFN_LOAD_CONFIRM_DEADLINE" envDefault:"15m"`
	// SnowflakePipe (snowflake) is the pipe loading RAW, for stuck-load reports
	// (warehouse.DefaultPipe).
	SnowflakePipe string `env:"SNOWFLAKE_PIPE" envDefault:"raw.ecological_footprint_pipe"`
	// Snowflake (snowflake) is how to reach Snowflake.
	Snowflake warehouse.SnowflakeConfig
}

// Warehouses.
const (
	WarehouseDuckDB    = "duckdb"
	WarehouseSnowflake = "snowflake"
)

// Warehouse is WarehouseDuckDB or WarehouseSnowflake.
type Warehouse string

// UnmarshalText accepts the warehouses only.
func (w *Warehouse) UnmarshalText(b []byte) error {
	switch v := string(b); v {
	case WarehouseDuckDB, WarehouseSnowflake:
		*w = Warehouse(v)
		return nil
	}
	return errors.New("want " + WarehouseDuckDB + " or " + WarehouseSnowflake)
}
