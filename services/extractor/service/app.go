// Package service builds the extractor application from its platform deps.
package service

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/extractor/internal/extract"
	"github.com/gfnpipeline/services/extractor/internal/gfnapi"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
)

// Settings the extractor reads besides the platform's.
const (
	EnvAPIURL      = "GFN_API_URL"           // default https://api.footprintnetwork.org/v1
	EnvAPIKey      = "GFN_API_KEY"           //nolint:gosec // G101: a variable name, not a credential; or GFN_API_KEY_SECRET_ARN (Secrets Manager)
	EnvMaxInFlight = "GFN_API_MAX_IN_FLIGHT" // concurrent API requests, default 3
	EnvRate        = "GFN_API_RATE"          // requests per second, default 2
	EnvBurst       = "GFN_API_BURST"         // rate limiter burst, default 5
	EnvMaxAttempts = "GFN_API_MAX_ATTEMPTS"  // attempts per API call before the delivery fails, default 6
	EnvRawGzip     = "GFN_RAW_GZIP"          // "true" gzips raw objects
)

// NewApplication returns the extractor: it plans runs and extracts one year per message.
func NewApplication(ctx context.Context, deps platform.Deps) (platform.App, func(), error) {
	key := deps.Getenv(EnvAPIKey)
	if key == "" {
		var err error
		if key, err = gfnapi.KeyFromEnv(ctx); err != nil {
			return platform.App{}, nil, fmt.Errorf("extractor: %w", err)
		}
	}
	rate, err := floatEnv(deps.Getenv, EnvRate)
	if err != nil {
		return platform.App{}, nil, err
	}
	// Zero leaves the client's defaults (3 in flight, burst 5).
	inFlight, err := platform.IntEnv(deps.Getenv, EnvMaxInFlight, 0)
	if err != nil {
		return platform.App{}, nil, err
	}
	burst, err := platform.IntEnv(deps.Getenv, EnvBurst, 0)
	if err != nil {
		return platform.App{}, nil, err
	}
	attempts, err := platform.IntEnv(deps.Getenv, EnvMaxAttempts, 0)
	if err != nil {
		return platform.App{}, nil, err
	}
	client := gfnapi.New(gfnapi.Config{
		BaseURL:       deps.Getenv(EnvAPIURL),
		APIKey:        key,
		MaxInFlight:   inFlight,
		RatePerSecond: rate,
		Burst:         burst,
		MaxAttempts:   attempts,
	})
	ex := extract.New(extract.Config{Gzip: deps.Getenv(EnvRawGzip) == "true"}, client, deps.Store, deps.Publisher)
	return platform.App{Consumers: []messaging.Consumer{
		messaging.Messages(deps.Topology.Name(contracts.QueueExtractor), messaging.On(ex.Handle)),
	}}, func() {}, nil
}

func floatEnv(getenv func(string) string, name string) (float64, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive number", name, v)
	}
	return f, nil
}
