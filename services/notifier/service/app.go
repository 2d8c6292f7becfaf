// Package service builds the notifier application from its platform deps.
package service

import (
	"context"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/notifier/notify"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
)

// EnvSlackWebhookURL, when set, also sends run outcomes to that Slack incoming webhook.
const EnvSlackWebhookURL = "SLACK_WEBHOOK_URL"

// NewApplication returns the notifier: it follows every pipeline event.
func NewApplication(_ context.Context, deps platform.Deps) (platform.App, func(), error) {
	n := notify.New(notify.Config{SlackWebhookURL: deps.Getenv(EnvSlackWebhookURL)}, deps.Store, deps.Publisher)
	return platform.App{Consumers: []messaging.Consumer{
		messaging.Messages(deps.Topology.Name(contracts.QueueNotifier), n.Handlers()...),
	}}, func() {}, nil
}
