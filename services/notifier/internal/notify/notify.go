// Package notify tracks runs and announces their outcome from the run ledger (runledger): an
// outcome is claimed once by the event that decided it, published, then marked announced; a
// claim whose publish failed is published by that event's retry, so no outcome is lost.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/runledger"
	"github.com/gfnpipeline/shared/telemetry"
)

// Config of the notifier.
type Config struct {
	// SlackWebhookURL, when set, also receives every run outcome.
	SlackWebhookURL string
	HTTPClient      *http.Client
	Now             func() time.Time
}

// Notifier records pipeline events in the run ledger and announces each run's outcome once
// every planned batch has settled (loaded, empty, quarantined or dead-lettered): RunCompleted
// when all loaded, else RunFailed naming every failed batch. A quarantined or dead-lettered
// batch is alerted at once (log, Slack); the outcome waits for the rest.
type Notifier struct {
	cfg    Config
	ledger runledger.Ledger
	pub    messaging.Publisher
	slack  Slack
}

// claimLease is how long an outcome claimed but not announced waits for the retry of the
// event that claimed it; after that any delivery for the run announces it (the claiming
// message may have been dead-lettered).
const claimLease = 2 * time.Minute

// New returns a notifier.
func New(cfg Config, store lake.Store, pub messaging.Publisher) *Notifier {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Notifier{cfg: cfg, ledger: runledger.New(store), pub: pub, slack: Slack{URL: cfg.SlackWebhookURL, Client: cfg.HTTPClient}}
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
	if err := n.alert(ctx, m); err != nil {
		return err
	}
	if decide, err := n.decisive(ctx, m); err != nil || !decide {
		return err
	}
	run, err := n.ledger.Load(ctx, m.Run())
	if err != nil {
		return err
	}
	by, now := runledger.EventKey(m), n.cfg.Now()
	for _, o := range run.Outcomes {
		// A claim whose publish failed (SNS, or the function died): its event's retry, or after
		// the lease any event of the run, announces the claimed message as it was decided.
		if !o.Announced && o.ClaimedBy != "" && (o.ClaimedBy == by || now.Sub(o.ClaimedAt) > claimLease) {
			claimed, err := o.Decode()
			if err != nil {
				return fmt.Errorf("run %s: %w", m.Run(), err)
			}
			if err := n.announce(ctx, claimed); err != nil {
				return err
			}
		}
	}
	outcome := Evaluate(run, now)
	if outcome == nil {
		return nil
	}
	if _, claimed := run.Outcomes[outcome.EventType()]; claimed {
		return nil
	}
	claimed, err := n.ledger.ClaimOutcome(ctx, outcome, by, now)
	if err != nil || !claimed {
		return err
	}
	// On failure the message is retried and its retry announces the claim.
	return n.announce(ctx, outcome)
}

// alert tells people about a failed batch at once, once per batch; the run's outcome waits.
func (n *Notifier) alert(ctx context.Context, m contracts.Message) error {
	var text string
	log := telemetry.Logger(ctx).With("run_id", m.Run(), "batch_id", m.Batch())
	switch e := m.(type) {
	case *contracts.BatchQuarantined:
		text = fmt.Sprintf(":warning: GFN run %s: batch %s (year %d) quarantined: %s (%d of %d rows rejected)",
			e.RunID, e.BatchID, e.Year, e.Reason, e.RowsRejected, e.RowsIn)
		log.Error("batch quarantined", "reason", e.Reason, "rows_rejected", e.RowsRejected)
	case *contracts.BatchFailed:
		// The DLQ watch alerts people about dead-lettered messages; this is the run's record.
		log.Error("batch failed", "stage", e.Stage, "reason", e.Reason)
		return nil
	default:
		return nil
	}
	if n.cfg.SlackWebhookURL == "" {
		return nil
	}
	first, err := n.ledger.ClaimAlert(ctx, m)
	if err != nil || !first {
		return err
	}
	if err := n.slack.Post(ctx, text); err != nil {
		log.Error("slack alert failed", "error", err.Error())
	}
	return nil
}

// decisive reports whether m can decide its run's outcome; other events are only recorded.
// A landing or a validation can when it comes after its batch's transform or load (it was
// redelivered after a crash): the run waits for its counts.
func (n *Notifier) decisive(ctx context.Context, m contracts.Message) (bool, error) {
	switch e := m.(type) {
	case *contracts.RawBatchLanded, *contracts.BatchValidated:
		return n.ledger.Reached(ctx, m, contracts.BatchLoaded{}.EventType(), contracts.BatchTransformed{}.EventType())
	case *contracts.BatchTransformed:
		return e.Key == "", nil
	}
	return true, nil
}

// Evaluate decides a run's outcome from its ledger once every planned batch has settled, or
// returns nil while any is still in flight.
func Evaluate(run runledger.Run, now time.Time) contracts.Message {
	header := contracts.Header{RunID: run.RunID}
	sum := contracts.RunSummary{FinishedAt: now.UTC()}
	if run.Plan == nil {
		// Planning gave up: no batch will ever come. (Resolved once a later delivery plans the run.)
		if b, ok := run.Batches[lake.RunBatch]; ok {
			var failed contracts.BatchFailed
			if decode(b, &failed) {
				reason := fmt.Sprintf("%s gave up: %s", failed.Stage, failed.Reason)
				return &contracts.RunFailed{Header: header, RunSummary: sum, Reason: reason}
			}
		}
		return nil
	}
	sum.Batches = len(run.Plan.Batches)
	sum.StartedAt = run.Plan.StartedAt
	sum.DurationSec = now.Sub(run.Plan.StartedAt).Seconds()
	var failures []contracts.BatchFailure
	for _, pb := range run.Plan.Batches {
		b, ok := run.Batches[pb.BatchID]
		if !ok {
			return nil
		}
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
		var failed contracts.BatchFailed
		if b.Has(loaded.EventType()) || empty {
			// Its landing and validation (rows in, rejected) come on messages of their own,
			// which a crash can hold back past the load: wait for them, unless a stage gave up
			// on one of the batch's messages (they may never come).
			counted := b.Has(landed.EventType()) && b.Has(validated.EventType())
			if !counted && !b.Has(failed.EventType()) {
				return nil
			}
			// A batch that failed and was redriven to completion no longer fails the run.
			continue
		}
		var quarantined contracts.BatchQuarantined
		switch {
		case decode(b, &quarantined):
			sum.Rejected += quarantined.RowsRejected
			failures = append(failures, contracts.BatchFailure{BatchID: pb.BatchID, Year: pb.Year, Reason: "quarantined: " + quarantined.Reason})
		case decode(b, &failed):
			failures = append(failures, contracts.BatchFailure{BatchID: pb.BatchID, Year: pb.Year,
				Reason: fmt.Sprintf("%s gave up: %s", failed.Stage, failed.Reason)})
		default:
			return nil // still in flight
		}
	}
	if len(failures) == 0 {
		return &contracts.RunCompleted{Header: header, RunSummary: sum}
	}
	sum.FailedBatches = len(failures)
	return &contracts.RunFailed{Header: header, RunSummary: sum, FailedBatch: failures[0].BatchID,
		Reason: failures[0].Reason, Failures: failures}
}

func decode(b *runledger.BatchState, m contracts.Message) bool {
	raw, ok := b.Stages[m.EventType()]
	return ok && json.Unmarshal(raw, m) == nil
}

// announce publishes the outcome, marks it announced, and tells people.
func (n *Notifier) announce(ctx context.Context, outcome contracts.Message) error {
	if err := n.pub.Publish(ctx, outcome); err != nil {
		return fmt.Errorf("announce %s: %w", outcome.EventType(), err)
	}
	if err := n.ledger.MarkAnnounced(ctx, outcome); err != nil {
		// Published but not marked: the retry publishes again (at least once beats never).
		return err
	}
	log := telemetry.Logger(ctx).With("run_id", outcome.Run())
	if f, ok := outcome.(*contracts.RunFailed); ok {
		log.Error("run failed", "failed_batches", f.FailedBatches, "failures", f.Failures)
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
		failed := []string{o.Reason}
		if len(o.Failures) > 0 {
			failed = failed[:0]
		}
		for _, f := range o.Failures {
			failed = append(failed, fmt.Sprintf("%s: %s", f.BatchID, f.Reason))
		}
		return fmt.Sprintf(":x: GFN run %s failed: %d of %d batches failed (%s); %d rows in, %d rows in the warehouse, %d rejected, %.0f s",
			o.RunID, o.FailedBatches, o.Batches, strings.Join(failed, "; "), o.RowsIn, o.RowsLoaded, o.Rejected, o.DurationSec)
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
		// Not %w: the parse error quotes the URL, which is a secret.
		return errors.New("slack webhook URL does not parse")
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.Client.Do(req)
	if err != nil {
		// *url.Error quotes the webhook URL, a secret: keep only the operation and the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("slack webhook: %s: %w", ue.Op, ue.Err)
		}
		return fmt.Errorf("slack webhook: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("slack answered %s", res.Status)
	}
	return nil
}
