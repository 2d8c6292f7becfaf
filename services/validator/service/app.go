// Package service builds the validator application from its platform deps.
package service

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/validator/internal/validate"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
)

// EnvRejectThreshold is the reject ratio above which a batch is quarantined (default 0.05).
const EnvRejectThreshold = "GFN_REJECT_THRESHOLD"

// NewApplication returns the validator: tier-1 checks on every landed raw batch.
func NewApplication(_ context.Context, deps platform.Deps) (platform.App, func(), error) {
	cfg := validate.Config{}
	if v := deps.Getenv(EnvRejectThreshold); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return platform.App{}, nil, fmt.Errorf("%s=%q: want a ratio between 0 and 1", EnvRejectThreshold, v)
		}
		cfg.RejectThreshold = f
	}
	v := validate.New(cfg, deps.Store, deps.Publisher)
	return platform.App{Consumers: []messaging.Consumer{
		messaging.Messages(deps.Topology.Name(contracts.QueueValidator), messaging.On(v.Handle)),
	}}, func() {}, nil
}
