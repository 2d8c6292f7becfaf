// Package service builds the notifier application from its platform deps.
package service

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/notifier/internal/dlqwatch"
	"github.com/gfnpipeline/services/notifier/internal/notify"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
)

// EnvSlackWebhookURL, when set, also sends run outcomes to that Slack incoming webhook.
const EnvSlackWebhookURL = "SLACK_WEBHOOK_URL"

// EnvDLQWatchInterval is how often the poller checks the DLQs for new messages (default 1m).
const EnvDLQWatchInterval = "GFN_DLQ_WATCH_INTERVAL"

// NewApplication returns the notifier: it follows every pipeline event and, on AWS, watches
// the dead-letter queues.
func NewApplication(_ context.Context, deps platform.Deps) (platform.App, func(), error) {
	cfg := notify.Config{SlackWebhookURL: deps.Getenv(EnvSlackWebhookURL)}
	n := notify.New(cfg, deps.Store, deps.Publisher)
	app := platform.App{Consumers: []messaging.Consumer{
		messaging.Messages(deps.Topology.Name(contracts.QueueNotifier), n.Handlers()...),
	}}
	if deps.AWS == nil {
		return app, func() {}, nil
	}
	every := time.Minute
	if v := deps.Getenv(EnvDLQWatchInterval); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return platform.App{}, nil, fmt.Errorf("%s=%q: want a positive duration such as 30s", EnvDLQWatchInterval, v)
		}
		every = d
	}
	var tell func(context.Context, dlqwatch.Alert) error
	if cfg.SlackWebhookURL != "" {
		slack := notify.Slack{URL: cfg.SlackWebhookURL, Client: &http.Client{Timeout: 10 * time.Second}}
		tell = func(ctx context.Context, a dlqwatch.Alert) error { return slack.Post(ctx, dlqwatch.Text(a)) }
	}
	w := dlqwatch.New(sqs.NewFromConfig(*deps.AWS), deps.Topology.DLQs(), deps.Store, deps.Publisher, tell)
	app.Background = append(app.Background, func(ctx context.Context) error { return w.Run(ctx, every) })
	// On Lambda an EventBridge rule invokes the notifier on a schedule for the same pass.
	app.Scheduled = func(ctx context.Context) error {
		_, err := w.Check(ctx)
		return err
	}
	return app, func() {}, nil
}
