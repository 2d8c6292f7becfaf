package service

import "time"

// Config is the notifier's settings besides the platform's (platform.Parse reads them).
type Config struct {
	// SlackWebhookURL, when set, also sends run outcomes and DLQ alerts to that Slack
	// incoming webhook.
	SlackWebhookURL string `env:"SLACK_WEBHOOK_URL"`
	// DLQWatchInterval is how often the poller checks the DLQs for new messages.
	DLQWatchInterval time.Duration `env:"GFN_DLQ_WATCH_INTERVAL" envDefault:"1m"`
}
