// Command extractor pulls the GFN API into the raw zone of the data lake.
package main

import (
	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/extractor/service"
	"github.com/gfnpipeline/shared/platform"
)

func main() { platform.Main(contracts.ServiceExtractor, service.NewApplication) }
