package secrets_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/secrets"
)

// TestSecretsOnEmulator reads secrets over Secrets Manager's protocol: a string, a JSON
// document, and errors that name the secret.
func TestSecretsOnEmulator(t *testing.T) {
	ctx := context.Background()
	cfg := awstest.Config(t)
	create := func(value string) string {
		out, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String("gfn/test-" + awstest.Prefix()), SecretString: aws.String(value),
		})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ARN)
	}
	plain := create("a-key\n")
	if got, err := secrets.String(ctx, &cfg, plain); err != nil || got != "a-key\n" {
		t.Fatalf("String = %q, %v", got, err)
	}
	// nil: the SDK's configuration from the environment (awstest.Config set it).
	if got, err := secrets.String(ctx, nil, plain); err != nil || got != "a-key\n" {
		t.Fatalf("String with no AWS config = %q, %v", got, err)
	}
	var doc struct {
		User string `json:"user"`
	}
	if err := secrets.JSON(ctx, &cfg, create(`{"user":"loader"}`), &doc); err != nil || doc.User != "loader" {
		t.Fatalf("JSON = %+v, %v", doc, err)
	}
	if err := secrets.JSON(ctx, &cfg, plain, &doc); err == nil || !strings.Contains(err.Error(), plain) {
		t.Fatalf("JSON of a plain secret: err = %v, want one naming %s", err, plain)
	}
	missing := "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope"
	if _, err := secrets.String(ctx, &cfg, missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing secret: err = %v", err)
	}
}
