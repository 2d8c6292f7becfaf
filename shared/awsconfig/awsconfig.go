// Package awsconfig loads the AWS SDK configuration every service uses. The SDK itself honours
// AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>), so LocalStack or moto need no custom
// endpoint resolvers; this package only fills the gaps an emulator leaves.
package awsconfig

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// RequestTimeout bounds every S3/SQS/SNS request attempt: above SQS's longest long poll
// (20 s), far above the transfer of the lake's largest objects (a few MB).
const RequestTimeout = 40 * time.Second

// DefaultRegion is used when neither AWS_REGION nor AWS_DEFAULT_REGION is set.
const DefaultRegion = "us-east-1"

// Load returns the SDK config. Against an emulator (AWS_ENDPOINT_URL set) with no credentials
// in the environment it uses the emulator's conventional test credentials. extra options
// apply after these.
func Load(ctx context.Context, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(RequestTimeout)),
	}
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion(DefaultRegion))
	}
	if Emulated() && os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(opts, extra...)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}

// Emulated reports whether the SDK talks to an emulator instead of AWS.
func Emulated() bool { return os.Getenv("AWS_ENDPOINT_URL") != "" }

// S3 returns an S3 client; emulators need path-style addressing.
func S3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = Emulated() || os.Getenv("S3_FORCE_PATH_STYLE") == "true"
		// Emulators send no checksums; the SDK would log that on every GET.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

// ResourceName is the last part of an ARN: a queue's or topic's name.
func ResourceName(arn string) string {
	return arn[strings.LastIndexByte(arn, ':')+1:]
}
