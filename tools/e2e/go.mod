module github.com/gfnpipeline/tools/e2e

go 1.26.8

require (
	github.com/gfnpipeline/contracts v0.0.0
	github.com/gfnpipeline/services/loader v0.0.0
	github.com/gfnpipeline/shared v0.0.0
)

replace (
	github.com/gfnpipeline/services/loader => ../../services/loader
	github.com/gfnpipeline/contracts => ../../contracts
	github.com/gfnpipeline/shared => ../../shared
)
