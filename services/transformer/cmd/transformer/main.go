// Command transformer is the pipeline's transformer service.
package main

import (
	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/transformer/service"
	"github.com/gfnpipeline/shared/platform"
)

func main() { platform.Main(contracts.ServiceTransformer, service.NewApplication) }
