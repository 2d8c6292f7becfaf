// Command notifier tracks runs and announces RunCompleted / RunFailed.
package main

import (
	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/notifier/service"
	"github.com/gfnpipeline/shared/platform"
)

func main() { platform.Main(contracts.ServiceNotifier, service.NewApplication) }
