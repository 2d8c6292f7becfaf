module github.com/gfnpipeline/tools/gfnctl

go 1.26.8

require (
	github.com/gfnpipeline/contracts v0.0.0
	github.com/gfnpipeline/services/extractor v0.0.0
	github.com/gfnpipeline/services/loader v0.0.0
	github.com/gfnpipeline/services/notifier v0.0.0
	github.com/gfnpipeline/services/transformer v0.0.0
	github.com/gfnpipeline/services/validator v0.0.0
	github.com/gfnpipeline/shared v0.0.0
	github.com/gfnpipeline/tools/gfnapi-sim v0.0.0
)

replace (
	github.com/gfnpipeline/contracts => ../../contracts
	github.com/gfnpipeline/services/extractor => ../../services/extractor
	github.com/gfnpipeline/services/loader => ../../services/loader
	github.com/gfnpipeline/services/notifier => ../../services/notifier
	github.com/gfnpipeline/services/transformer => ../../services/transformer
	github.com/gfnpipeline/services/validator => ../../services/validator
	github.com/gfnpipeline/shared => ../../shared
	github.com/gfnpipeline/tools/gfnapi-sim => ../gfnapi-sim
)

require (
	github.com/aws/aws-sdk-go-v2 v1.48.0
	github.com/aws/aws-sdk-go-v2/service/s3 v1.114.10
	github.com/aws/aws-sdk-go-v2/service/sqs v1.53.0
	github.com/aws/smithy-go v1.28.9
	golang.org/x/term v0.39.0
	golang.org/x/time v0.16.0
)

require github.com/gfnpipeline/tools/e2e v0.0.0

replace github.com/gfnpipeline/tools/e2e => ../e2e
