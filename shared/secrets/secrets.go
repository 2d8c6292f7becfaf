// Package secrets reads AWS Secrets Manager, where a deployment keeps what must not sit in a
// service's environment: the GFN API key and Snowflake's credentials. A setting ending in
// _SECRET_ARN names the secret; its value is never logged.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gfnpipeline/shared/awsconfig"
)

// ErrNoString: the secret holds binary data, not a string.
var ErrNoString = errors.New("secret has no string value")

// String returns the string value of the secret arn names. A nil awsCfg loads the SDK's
// configuration (awsconfig.Load): a run with no AWS deps, such as the embedded one, may still
// read its key from AWS.
func String(ctx context.Context, awsCfg *aws.Config, arn string) (string, error) {
	if awsCfg == nil {
		cfg, err := awsconfig.Load(ctx)
		if err != nil {
			return "", fmt.Errorf("read secret %s: %w", arn, err)
		}
		awsCfg = &cfg
	}
	out, err := secretsmanager.NewFromConfig(*awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", arn, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s: %w", arn, ErrNoString)
	}
	return *out.SecretString, nil
}

// JSON decodes the JSON document the secret arn names into v.
func JSON(ctx context.Context, awsCfg *aws.Config, arn string, v any) error {
	s, err := String(ctx, awsCfg, arn)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("secret %s is not the JSON expected: %w", arn, err)
	}
	return nil
}
