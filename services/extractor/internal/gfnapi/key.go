package gfnapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// ErrNoKey: neither GFN_API_KEY nor GFN_API_KEY_SECRET_ARN is set.
var ErrNoKey = errors.New("no GFN API key: set GFN_API_KEY or GFN_API_KEY_SECRET_ARN")

// KeyFromEnv returns the API key from GFN_API_KEY, else from the Secrets Manager secret named
// by GFN_API_KEY_SECRET_ARN (the SDK honours AWS_ENDPOINT_URL). The secret may be the bare key
// or a JSON object with an "api_key" or "GFN_API_KEY" field. The key is never logged.
func KeyFromEnv(ctx context.Context) (string, error) {
	if k := strings.TrimSpace(os.Getenv("GFN_API_KEY")); k != "" {
		return k, nil
	}
	arn := os.Getenv("GFN_API_KEY_SECRET_ARN")
	if arn == "" {
		return "", ErrNoKey
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return "", fmt.Errorf("load AWS config for the GFN API key secret: %w", err)
	}
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("read GFN API key secret %s: %w", arn, err)
	}
	key, err := keyFromSecret(aws.ToString(out.SecretString))
	if err != nil {
		return "", fmt.Errorf("GFN API key secret %s: %w", arn, err)
	}
	return key, nil
}

func keyFromSecret(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		var fields map[string]string
		if err := json.Unmarshal([]byte(s), &fields); err != nil {
			return "", errors.New("secret is a JSON object but not one of strings")
		}
		s = strings.TrimSpace(fields["api_key"])
		if s == "" {
			s = strings.TrimSpace(fields["GFN_API_KEY"])
		}
	}
	if s == "" {
		return "", errors.New("secret holds no key")
	}
	return s, nil
}
