package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gfnpipeline/services/extractor/internal/gfnapi"
	"github.com/gfnpipeline/shared/secrets"
)

// Config is the extractor's settings besides the platform's (platform.Parse reads them).
type Config struct {
	// APIURL is the GFN API's base URL.
	APIURL string `env:"GFN_API_URL" envDefault:"https://api.footprintnetwork.org/v1"`
	// APIKey is the API key (the basic auth password); never logged.
	APIKey string `env:"GFN_API_KEY"`
	// APIKeySecretARN names a Secrets Manager secret holding the key, when APIKey is empty.
	APIKeySecretARN string `env:"GFN_API_KEY_SECRET_ARN"`
	// MaxInFlight bounds concurrent API requests.
	MaxInFlight int `env:"GFN_API_MAX_IN_FLIGHT" envDefault:"3"`
	// Rate and Burst limit request starts (per second, burst).
	Rate  float64 `env:"GFN_API_RATE" envDefault:"2"`
	Burst int     `env:"GFN_API_BURST" envDefault:"5"`
	// MaxAttempts per API call before the delivery fails.
	MaxAttempts int `env:"GFN_API_MAX_ATTEMPTS" envDefault:"6"`
	// RawGzip gzips raw objects.
	RawGzip bool `env:"GFN_RAW_GZIP" envDefault:"false"`
}

// ErrNoKey: neither GFN_API_KEY nor GFN_API_KEY_SECRET_ARN is set.
var ErrNoKey = errors.New("no GFN API key: set GFN_API_KEY or GFN_API_KEY_SECRET_ARN")

// Validate checks that the key can be had.
func (c Config) Validate() error {
	if c.APIKey == "" && c.APIKeySecretARN == "" {
		return ErrNoKey
	}
	return nil
}

// apiKey is APIKey, else the key in the secret APIKeySecretARN names (awsCfg as for
// secrets.String).
func (c Config) apiKey(ctx context.Context, awsCfg *aws.Config) (string, error) {
	if c.APIKey != "" {
		return c.APIKey, nil
	}
	s, err := secrets.String(ctx, awsCfg, c.APIKeySecretARN)
	if err != nil {
		return "", fmt.Errorf("GFN_API_KEY_SECRET_ARN: %w", err)
	}
	key, err := gfnapi.KeyFromSecret(s)
	if err != nil {
		return "", fmt.Errorf("GFN_API_KEY_SECRET_ARN: secret %s: %w", c.APIKeySecretARN, err)
	}
	return key, nil
}
