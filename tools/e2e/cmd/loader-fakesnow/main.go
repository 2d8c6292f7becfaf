// Command loader-fakesnow is the production loader in confirm mode (WAREHOUSE=snowflake)
// with one substitution for fakesnow's server: the load records come from
// INFORMATION_SCHEMA.LOAD_HISTORY, because fakesnow has no COPY_HISTORY table function and
// no SYSTEM$PIPE_STATUS. Everything else (the confirmer, the backlog and count queries, the
// messaging) is the production code.
package main

import (
	"context"

	"github.com/gfnpipeline/services/loader/service"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/tools/e2e/snowpipe"
)

func main() {
	platform.Main("loader", func(ctx context.Context, cfg service.Config, deps platform.Deps) (platform.App, func(), error) {
		deps.Logger.Warn("test substitute: load records from fakesnow's INFORMATION_SCHEMA.LOAD_HISTORY instead of COPY_HISTORY(TABLE_NAME => 'RAW.ECOLOGICAL_FOOTPRINT'); pipe status unavailable")
		return service.NewConfirmApplication(ctx, cfg, deps, func(sf *warehouse.Snowflake) warehouse.LoadRecords {
			return snowpipe.LoadHistory{DB: sf.DB()}
		})
	})
}
