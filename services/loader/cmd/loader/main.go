// Command loader is the local stand-in for Snowpipe: it loads transformed Parquet into DuckDB.
package main

import (
	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/loader/service"
	"github.com/gfnpipeline/shared/platform"
)

func main() { platform.Main(contracts.ServiceLoader, service.NewApplication) }
