module github.com/gfnpipeline/contracts

go 1.27.3
