package gfnapi_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gfnpipeline/services/extractor/internal/gfnapi"
)

func TestKeyFromEnv(t *testing.T) {
	t.Setenv("GFN_API_KEY", " from-env ")
	t.Setenv("GFN_API_KEY_SECRET_ARN", "arn:ignored")
	if k, err := gfnapi.KeyFromEnv(context.Background()); err != nil || k != "from-env" {
		t.Fatalf("KeyFromEnv = %q, %v", k, err)
	}
	t.Setenv("GFN_API_KEY", "")
	t.Setenv("GFN_API_KEY_SECRET_ARN", "")
	if _, err := gfnapi.KeyFromEnv(context.Background()); !errors.Is(err, gfnapi.ErrNoKey) {
		t.Fatalf("err = %v, want ErrNoKey", err)
	}
}

// startMoto runs moto's server on a free port; the test skips only if moto is not installed.
func startMoto(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	if err := exec.Command(py, "-c", "import moto.server").Run(); err != nil {
		t.Skip("moto not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(py, "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto did not start on %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestKeyFromSecretsManager(t *testing.T) {
	endpoint := startMoto(t)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("GFN_API_KEY", "")
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg)

	tests := []struct{ name, secret, want string }{
		{"plain", "plain-secret-key\n", "plain-secret-key"},
		{"json", `{"api_key":"json-secret-key"}`, "json-secret-key"},
		{"json env name", `{"GFN_API_KEY":"env-named-key"}`, "env-named-key"},
		{"empty json", `{"other":"x"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
				Name: aws.String("gfn/api-key/" + strings.ReplaceAll(tc.name, " ", "-")), SecretString: aws.String(tc.secret),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv("GFN_API_KEY_SECRET_ARN", aws.ToString(out.ARN))
			got, err := gfnapi.KeyFromEnv(ctx)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("want an error for secret %q, got key", tc.secret)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("KeyFromEnv = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	t.Run("missing secret", func(t *testing.T) {
		t.Setenv("GFN_API_KEY_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope")
		if _, err := gfnapi.KeyFromEnv(ctx); err == nil || !strings.Contains(err.Error(), "read GFN API key secret") {
			t.Fatalf("err = %v", err)
		}
	})
}
