module github.com/gfnpipeline/shared

go 1.26.8

require github.com/gfnpipeline/contracts v0.0.0

replace github.com/gfnpipeline/contracts => ../contracts
