// Command notifier tracks runs and announces RunCompleted / RunFailed.
package main

import (
	"github.com/gfnpipeline/services/notifier/service"
	"github.com/gfnpipeline/shared/platform"
)

func main() { platform.Main("notifier", service.NewApplication) }
