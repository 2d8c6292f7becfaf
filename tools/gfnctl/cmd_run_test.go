package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/tools/gfnctl/runs"
)

// With queues but no extractor, `run --wait` says so within seconds, not at its timeout.
func TestRunWaitWithoutConsumerFailsFast(t *testing.T) {
	newSQSEnv(t)
	begin := time.Now()
	err := execute(context.Background(), []string{"run", "--wait", "--pickup-timeout", "2s", "--timeout", "5m"}, io.Discard, io.Discard)
	if !errors.Is(err, runs.ErrNoConsumer) || !strings.Contains(err.Error(), "is the extractor running") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(begin); d > 15*time.Second {
		t.Fatalf("took %v", d)
	}
}

// Without an emulator endpoint or credentials, gfnctl names AWS_ENDPOINT_URL.
func TestNoAWSSuggestsEndpoint(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
	} {
		t.Setenv(k, v)
	}
	err := execute(context.Background(), []string{"status"}, io.Discard, io.Discard)
	if !errors.Is(err, errNoAWS) || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL") || strings.Contains(err.Error(), "IMDS") {
		t.Fatalf("err = %v", err)
	}
}
