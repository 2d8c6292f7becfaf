module github.com/gfnpipeline/tools/deploytest

go 1.26.8

require (
	github.com/gfnpipeline/contracts v0.0.0
	github.com/gfnpipeline/shared v0.0.0
)

require (
	github.com/agext/levenshtein v1.2.1 // indirect
	github.com/apparentlymart/go-textseg/v15 v15.0.0 // indirect
	github.com/apparentlymart/go-textseg/v17 v17.0.1 // indirect
	github.com/compose-spec/compose-go/v2 v2.16.2 // indirect
	github.com/hashicorp/hcl/v2 v2.25.0 // indirect
	github.com/mitchellh/go-wordwrap v1.0.1 // indirect
	github.com/zclconf/go-cty v1.19.0 // indirect
	golang.org/x/mod v0.32.0 // indirect
	golang.org/x/sync v0.19.0 // indirect
	golang.org/x/text v0.33.0 // indirect
	golang.org/x/tools v0.41.0 // indirect
)

replace (
	github.com/gfnpipeline/contracts => ../../contracts
	github.com/gfnpipeline/shared => ../../shared
)
