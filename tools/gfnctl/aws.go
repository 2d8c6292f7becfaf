package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/gfnpipeline/shared/awsconfig"
)

// errNoAWS explains what a new user is missing instead of the SDK's EC2 metadata errors.
var errNoAWS = errors.New("no AWS credentials found and AWS_ENDPOINT_URL is not set\n" +
	"  local stack: run `make stack` in another terminal and export the environment it prints (AWS_ENDPOINT_URL=...)\n" +
	"  AWS: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")

// credentialsCheck bounds the credential lookup (the EC2 metadata service is the chain's last,
// slow resort).
const credentialsCheck = 5 * time.Second

// loadAWS is the SDK config gfnctl talks with. Off an emulator it first makes sure there are
// credentials, so a missing setup gets a hint rather than an operation's long IMDS error.
func loadAWS(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.Load(ctx, config.WithLogger(sdkLogger{}))
	if err != nil || awsconfig.Emulated() {
		return cfg, err
	}
	ctx, cancel := context.WithTimeout(ctx, credentialsCheck)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		slog.Debug("credential lookup failed", "error", err.Error())
		return cfg, errNoAWS
	}
	return cfg, nil
}

// sdkLogger passes the SDK's warnings on as JSON log lines, except its IMDS fallback notes,
// which only say that no instance role exists (errNoAWS says what to do).
type sdkLogger struct{}

func (sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "IMDS") {
		slog.Debug("aws sdk", "message", msg)
		return
	}
	if c == logging.Warn {
		slog.Warn("aws sdk", "message", msg)
		return
	}
	slog.Debug("aws sdk", "message", msg)
}
