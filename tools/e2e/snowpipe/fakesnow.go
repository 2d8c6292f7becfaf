package snowpipe

import (
	"context"

	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/tools/e2e/fakesnow"
)

// Open connects the Snowflake driver to fakesnow on port.
func Open(ctx context.Context, port int) (*warehouse.Snowflake, error) {
	return warehouse.OpenSnowflake(ctx, warehouse.SnowflakeConfig{Account: "fakesnow", User: "gfn", Password: "fake",
		Database: fakesnow.Database, Warehouse: "load_wh", Host: "127.0.0.1", Port: port, Protocol: "http"})
}
