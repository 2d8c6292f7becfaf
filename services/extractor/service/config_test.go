package service

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/platform"
)

func parse(env map[string]string) (Config, error) {
	return platform.Parse[Config](func(k string) string { return env[k] })
}

func TestConfig(t *testing.T) {
	got, err := parse(map[string]string{"GFN_API_KEY": "k"})
	want := Config{APIURL: "https://api.footprintnetwork.org/v1", APIKey: "k", MaxInFlight: 3, Rate: 2, Burst: 5, MaxAttempts: 6}
	if err != nil || got != want {
		t.Fatalf("defaults %+v, %v; want %+v", got, err, want)
	}
	if _, err := parse(nil); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: err = %v, want ErrNoKey", err)
	}
	for env, msg := range map[string]string{
		"GFN_API_RATE":          `GFN_API_RATE="0": want a positive number`,
		"GFN_API_BURST":         `GFN_API_BURST="0": want a positive whole number`,
		"GFN_API_MAX_IN_FLIGHT": `GFN_API_MAX_IN_FLIGHT="0": want a positive whole number`,
		"GFN_API_MAX_ATTEMPTS":  `GFN_API_MAX_ATTEMPTS="0": want a positive whole number`,
	} {
		if _, err := parse(map[string]string{"GFN_API_KEY": "k", env: "0"}); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s=0: err = %v, want %q", env, err, msg)
		}
	}
	if _, err := parse(map[string]string{"GFN_API_KEY": "k", "GFN_RAW_GZIP": "yes"}); err == nil || !strings.Contains(err.Error(), `GFN_RAW_GZIP="yes"`) {
		t.Errorf("GFN_RAW_GZIP=yes: err = %v", err)
	}
}

// TestKeyFromSecretsManager reads the key from a secret on the emulator, as a deployed
// extractor with GFN_API_KEY_SECRET_ARN does.
func TestKeyFromSecretsManager(t *testing.T) {
	ctx := context.Background()
	awsCfg := awstest.Config(t)
	out, err := secretsmanager.NewFromConfig(awsCfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("gfn/api-key-" + awstest.Prefix()), SecretString: aws.String(`{"api_key":"json-secret-key"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parse(map[string]string{"GFN_API_KEY_SECRET_ARN": aws.ToString(out.ARN)})
	if err != nil {
		t.Fatal(err)
	}
	if key, err := cfg.apiKey(ctx, &awsCfg); err != nil || key != "json-secret-key" {
		t.Fatalf("apiKey = %q, %v", key, err)
	}
	cfg.APIKey = "from-env"
	if key, err := cfg.apiKey(ctx, &awsCfg); err != nil || key != "from-env" {
		t.Fatalf("GFN_API_KEY set: apiKey = %q, %v", key, err)
	}
	cfg = Config{APIKeySecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope"}
	if _, err := cfg.apiKey(ctx, &awsCfg); err == nil || !strings.Contains(err.Error(), "GFN_API_KEY_SECRET_ARN") {
		t.Fatalf("missing secret: err = %v", err)
	}
}
