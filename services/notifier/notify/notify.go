package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/telemetry"
)

// Config of the notifier.
type Config struct {
	// SlackWebhookURL, when set, also receives every run outcome.
	SlackWebhookURL string
	HTTPClient      *http.Client
	Now             func() time.Time
}

// Notifier records pipeline events in the run ledger and announces each run's outcome once:
// RunCompleted when every planned batch is loaded (or had nothing to load), RunFailed as soon
// as a batch is quarantined or dead-lettered.
type Notifier struct {
	cfg    Config
	ledger Ledger
	pub    messaging.Publisher
	slack  Slack
}

// New returns a notifier.
func New(cfg Config, store lake.Store, pub messaging.Publisher) *Notifier {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Notifier{cfg: cfg, ledger: NewLedger(store), pub: pub, slack: Slack{URL: cfg.SlackWebhookURL, Client: cfg.HTTPClient}}
}

// Handlers are the typed handlers for every event the notifier follows.
func (n *Notifier) Handlers() []messaging.TypedHandler {
	return []messaging.TypedHandler{
		messaging.On(func(ctx context.Context, m *contracts.ExtractionPlanned) error { return n.Handle(ctx, m) }),
		messaging.On(func(ctx context.Context, m *contracts.RawBatchLanded) error { return n.Handle(ctx, m) }),
		messaging.On(func(ctx context.Context, m *contracts.BatchValidated) error { return n.Handle(ctx, m) }),
		messaging.On(func(ctx context.Context, m *contracts.BatchQuarantined) error { return n.Handle(ctx, m) }),
		messaging.On(func(ctx context.Context, m *contracts.BatchTransformed) error { return n.Handle(ctx, m) }),
		messaging.On(func(ctx context.Context, m *contracts.BatchLoaded) error { return n.Handle(ctx, m) }),
		messaging.On(func(ctx context.Context, m *contracts.BatchFailed) error { return n.Handle(ctx, m) }),
	}
}

// Handle records m and announces the run's outcome if m decided it.
func (n *Notifier) Handle(ctx context.Context, m contracts.Message) error {
	if err := n.ledger.Record(ctx, m); err != nil {
		return err
	}
	if !decisive(m) {
		return nil
	}
	run, err := n.ledger.Load(ctx, m.Run())
	if err != nil {
		return err
	}
	outcome := Evaluate(run, n.cfg.Now())
	if outcome == nil {
		return nil
	}
	if _, announced := run.Outcomes[outcome.EventType()]; announced {
		return nil
	}
	claimed, err := n.ledger.ClaimOutcome(ctx, outcome)
	if err != nil || !claimed {
		return err
	}
	if err := n.announce(ctx, outcome); err != nil {
		// Let a retry announce it: nothing was said yet.
		if rErr := n.ledger.ReleaseOutcome(ctx, outcome); rErr != nil {
			telemetry.Logger(ctx).Error("release outcome claim", "error", rErr.Error())
		}
		return err
	}
	return nil
}

// decisive reports whether m can decide its run's outcome; other events are only recorded.
func decisive(m contracts.Message) bool {
	switch e := m.(type) {
	case *contracts.RawBatchLanded, *contracts.BatchValidated:
		return false
	case *contracts.BatchTransformed:
		return e.Key == ""
	}
	return true
}

// Evaluate decides a run's outcome from its ledger, or returns nil while it is undecided.
func Evaluate(run Run, now time.Time) contracts.Message {
	sum := contracts.RunSummary{FinishedAt: now.UTC()}
	if run.Plan != nil {
		sum.Batches = len(run.Plan.Batches)
		sum.StartedAt = run.Plan.StartedAt
		sum.DurationSec = now.Sub(run.Plan.StartedAt).Seconds()
	}
	header := contracts.Header{RunID: run.RunID}
	var failedBatch, reason string
	done := 0
	for _, b := range run.SortedBatches() {
		var landed contracts.RawBatchLanded
		if decode(b, &landed) {
			sum.RowsIn += landed.Records
		}
		var validated contracts.BatchValidated
		if decode(b, &validated) {
			sum.Rejected += validated.RowsRejected
		}
		var loaded contracts.BatchLoaded
		if decode(b, &loaded) && loaded.TableRows > sum.RowsLoaded {
			sum.RowsLoaded = loaded.TableRows
		}
		var transformed contracts.BatchTransformed
		empty := decode(b, &transformed) && transformed.Key == ""
		if b.Has(loaded.EventType()) || empty {
			// A batch that failed and was redriven to completion no longer fails the run.
			done++
			continue
		}
		var quarantined contracts.BatchQuarantined
		if decode(b, &quarantined) {
			sum.Rejected += quarantined.RowsRejected
			if failedBatch == "" {
				failedBatch, reason = b.BatchID, "quarantined: "+quarantined.Reason
			}
		}
		var failed contracts.BatchFailed
		// A run-level failure (planning) is resolved once a later delivery planned the run.
		if b.BatchID == "_run" && run.Plan != nil {
			continue
		}
		if decode(b, &failed) && failedBatch == "" {
			failedBatch, reason = b.BatchID, fmt.Sprintf("%s gave up: %s", failed.Stage, failed.Reason)
		}
	}
	if failedBatch != "" {
		if failedBatch == "_run" {
			failedBatch = ""
		}
		return &contracts.RunFailed{Header: header, RunSummary: sum, FailedBatch: failedBatch, Reason: reason}
	}
	if run.Plan == nil || done < len(run.Plan.Batches) {
		return nil
	}
	return &contracts.RunCompleted{Header: header, RunSummary: sum}
}

func decode(b *BatchState, m contracts.Message) bool {
	raw, ok := b.Stages[m.EventType()]
	return ok && json.Unmarshal(raw, m) == nil
}

func (n *Notifier) announce(ctx context.Context, outcome contracts.Message) error {
	if err := n.pub.Publish(ctx, outcome); err != nil {
		return fmt.Errorf("announce %s: %w", outcome.EventType(), err)
	}
	log := telemetry.Logger(ctx).With("run_id", outcome.Run())
	if f, ok := outcome.(*contracts.RunFailed); ok {
		log.Error("run failed", "failed_batch", f.FailedBatch, "reason", f.Reason)
	} else {
		log.Info("run completed")
	}
	if n.cfg.SlackWebhookURL == "" {
		return nil
	}
	if err := n.slack.Post(ctx, SlackText(outcome)); err != nil {
		// The run's outcome is already published; Slack is a courtesy copy.
		log.Error("slack notification failed", "error", err.Error())
	}
	return nil
}

// SlackText is the one-line message a person reads.
func SlackText(outcome contracts.Message) string {
	switch o := outcome.(type) {
	case *contracts.RunCompleted:
		return fmt.Sprintf(":white_check_mark: GFN run %s completed: %d batches, %d rows in, %d rows in the warehouse, %d rejected, %.0f s",
			o.RunID, o.Batches, o.RowsIn, o.RowsLoaded, o.Rejected, o.DurationSec)
	case *contracts.RunFailed:
		return fmt.Sprintf(":x: GFN run %s failed at batch %s: %s (%d rows in, %d rejected, %.0f s)",
			o.RunID, o.FailedBatch, o.Reason, o.RowsIn, o.Rejected, o.DurationSec)
	}
	return outcome.EventType() + " " + outcome.Run()
}

// Slack posts to an incoming webhook.
type Slack struct {
	URL    string
	Client *http.Client
}

// Post sends text; a non-2xx answer is an error.
func (s Slack) Post(ctx context.Context, text string) error {
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("slack answered %s", res.Status)
	}
	return nil
}
