module github.com/gfnpipeline/contracts

go 1.26.8
