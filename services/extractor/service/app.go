// Package service builds the extractor application from its settings and platform deps.
package service

import (
	"context"
	"fmt"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/extractor/internal/extract"
	"github.com/gfnpipeline/services/extractor/internal/gfnapi"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
)

// NewApplication returns the extractor: it plans runs and extracts one year per message.
func NewApplication(ctx context.Context, cfg Config, deps platform.Deps) (platform.App, func(), error) {
	key, err := cfg.apiKey(ctx, deps.AWS)
	if err != nil {
		return platform.App{}, nil, fmt.Errorf("extractor: %w", err)
	}
	client := gfnapi.New(gfnapi.Config{
		BaseURL:       cfg.APIURL,
		APIKey:        key,
		MaxInFlight:   cfg.MaxInFlight,
		RatePerSecond: cfg.Rate,
		Burst:         cfg.Burst,
		MaxAttempts:   cfg.MaxAttempts,
	})
	ex := extract.New(extract.Config{Gzip: cfg.RawGzip}, client, deps.Store, deps.Publisher)
	return platform.App{Consumers: []messaging.Consumer{
		messaging.Messages(deps.Topology.Name(contracts.QueueExtractor), messaging.On(ex.Handle)),
	}}, func() {}, nil
}
