// Package service builds the validator application from its settings and platform deps.
package service

import (
	"context"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/validator/internal/validate"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
)

// NewApplication returns the validator: tier-1 checks on every landed raw batch.
func NewApplication(_ context.Context, cfg Config, deps platform.Deps) (platform.App, func(), error) {
	v := validate.New(validate.Config{RejectThreshold: float64(cfg.RejectThreshold)}, deps.Store, deps.Publisher)
	return platform.App{Consumers: []messaging.Consumer{
		messaging.Messages(deps.Topology.Name(contracts.QueueValidator), messaging.On(v.Handle)),
	}}, func() {}, nil
}
