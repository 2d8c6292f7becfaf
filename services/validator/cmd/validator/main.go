// Command validator is the pipeline's validator service.
package main

import (
	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/validator/service"
	"github.com/gfnpipeline/shared/platform"
)

func main() { platform.Main(contracts.ServiceValidator, service.NewApplication) }
