module github.com/gfnpipeline/tools/gfnapi-sim

go 1.27.3
