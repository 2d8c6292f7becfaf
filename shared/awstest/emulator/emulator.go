// Package emulator gives tests an AWS emulator in a container (testcontainers-go): moto's
// server image by default, LocalStack when LOCALSTACK_AUTH_TOKEN is set. When
// AWS_ENDPOINT_URL is set (CI starts moto's server) that emulator is used and no container
// starts; without it and without Docker the test is skipped, cleanly.
package emulator

import (
	"context"
	"os"
	"testing"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Images, pinned as in docker-compose.yml.
const (
	MotoImage       = "motoserver/moto:5.2.1"
	LocalStackImage = "localstack/localstack:2026.03.0"
)

// Endpoint returns the URL of an emulator for this test.
func Endpoint(t *testing.T) string {
	t.Helper()
	if e := os.Getenv("AWS_ENDPOINT_URL"); e != "" {
		return e
	}
	testcontainers.SkipIfProviderIsNotHealthy(t)
	req := testcontainers.ContainerRequest{
		Image:        MotoImage,
		ExposedPorts: []string{"5000/tcp"},
		WaitingFor:   wait.ForHTTP("/moto-api/").WithPort("5000/tcp"),
	}
	port := "5000/tcp"
	if token := os.Getenv("LOCALSTACK_AUTH_TOKEN"); token != "" {
		port = "4566/tcp"
		req = testcontainers.ContainerRequest{
			Image:        LocalStackImage,
			ExposedPorts: []string{port},
			Env:          map[string]string{"LOCALSTACK_AUTH_TOKEN": token, "SERVICES": "sqs,sns,s3,secretsmanager"},
			WaitingFor:   wait.ForHTTP("/_localstack/health").WithPort("4566/tcp"),
		}
	}
	ctx := context.Background()
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	testcontainers.CleanupContainer(t, c)
	if err != nil {
		t.Fatalf("start %s: %v", req.Image, err)
	}
	url, err := c.PortEndpoint(ctx, port, "http")
	if err != nil {
		t.Fatal(err)
	}
	return url
}
