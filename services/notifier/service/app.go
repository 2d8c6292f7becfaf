// Package service builds the notifier application from its settings and platform deps.
package service

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/notifier/internal/dlqwatch"
	"github.com/gfnpipeline/services/notifier/internal/notify"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
)

// NewApplication returns the notifier: it follows every pipeline event and, on AWS, watches
// the dead-letter queues.
func NewApplication(_ context.Context, cfg Config, deps platform.Deps) (platform.App, func(), error) {
	n := notify.New(notify.Config{SlackWebhookURL: cfg.SlackWebhookURL}, deps.Store, deps.Publisher)
	app := platform.App{Consumers: []messaging.Consumer{
		messaging.Messages(deps.Topology.Name(contracts.QueueNotifier), n.Handlers()...),
	}}
	if deps.AWS == nil {
		return app, func() {}, nil
	}
	var tell func(context.Context, dlqwatch.Alert) error
	if cfg.SlackWebhookURL != "" {
		slack := notify.Slack{URL: cfg.SlackWebhookURL, Client: &http.Client{Timeout: 10 * time.Second}}
		tell = func(ctx context.Context, a dlqwatch.Alert) error { return slack.Post(ctx, dlqwatch.Text(a)) }
	}
	w := dlqwatch.New(sqs.NewFromConfig(*deps.AWS), deps.Topology.DLQs(), deps.Store, deps.Publisher, tell)
	app.Background = append(app.Background, func(ctx context.Context) error { return w.Run(ctx, cfg.DLQWatchInterval) })
	// On Lambda an EventBridge rule invokes the notifier on a schedule for the same pass.
	app.Scheduled = func(ctx context.Context) error {
		_, err := w.Check(ctx)
		return err
	}
	return app, func() {}, nil
}
