// Package service builds the transformer application from its settings and platform deps.
package service

import (
	"context"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/transformer/internal/transform"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
)

// NewApplication returns the transformer: validated batches to Parquet in transformed/.
func NewApplication(_ context.Context, _ Config, deps platform.Deps) (platform.App, func(), error) {
	t := transform.New(transform.Config{}, deps.Store, deps.Publisher)
	return platform.App{Consumers: []messaging.Consumer{
		messaging.Messages(deps.Topology.Name(contracts.QueueTransformer), messaging.On(t.Handle)),
	}}, func() {}, nil
}
