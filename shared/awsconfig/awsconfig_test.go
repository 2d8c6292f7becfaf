package awsconfig_test

import (
	"testing"

	"github.com/gfnpipeline/shared/awsconfig"
)

func TestResourceName(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:sqs:us-east-1:123456789012:gfn-validator": "gfn-validator",
		"arn:aws:sns:eu-west-1:000000000000:t1-gfn-events": "t1-gfn-events",
		"gfn-loader": "gfn-loader",
	} {
		if got := awsconfig.ResourceName(arn); got != want {
			t.Errorf("ResourceName(%s) = %s, want %s", arn, got, want)
		}
	}
}
