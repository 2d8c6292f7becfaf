// Package status reports a run as an on-call engineer needs it: the run ledger per batch,
// the outcome, queue and DLQ depths, and the last error.
package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/runledger"
	"github.com/gfnpipeline/tools/gfnctl/dlq"
)

// ErrNoRuns: the ledger has no run yet.
var ErrNoRuns = errors.New("no runs in the ledger")

// Run statuses.
const (
	StatusRunning = "running"
	// StatusPending: no stage has reported for the run yet (its request may still be queued).
	StatusPending   = "pending"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// Batch is one batch's progress; a nil count is a stage not reached.
type Batch struct {
	BatchID     string `json:"batch_id"`
	Year        int    `json:"year"`
	Planned     bool   `json:"planned"`
	Landed      *int   `json:"landed"`
	Validated   *int   `json:"validated"`
	Transformed *int   `json:"transformed"`
	Loaded      *int   `json:"loaded"`
	Rejected    *int   `json:"rejected"`
	// Failure is why the batch was quarantined or given up on ("" when it was not).
	Failure string `json:"failure,omitempty"`
}

// Queue is one queue's depth.
type Queue struct {
	Name string `json:"name"`
	DLQ  bool   `json:"dlq"`
	dlq.Depth
}

// LastError is the most telling error: a failure in the run's ledger, else the newest
// dead-lettered message's reason.
type LastError struct {
	Source  string     `json:"source"` // ledger or dlq
	Queue   string     `json:"queue,omitempty"`
	RunID   string     `json:"run_id,omitempty"`
	BatchID string     `json:"batch_id,omitempty"`
	Error   string     `json:"error"`
	At      *time.Time `json:"at,omitempty"`
}

// Stage is one service's share of the run: batches it handled (passed on or settled) and
// batches it gave up on, with the newest reason.
type Stage struct {
	Name      string `json:"name"`
	Handled   int    `json:"handled"`
	Failed    int    `json:"failed"`
	LastError string `json:"last_error,omitempty"`
}

// Report is `gfnctl status`.
type Report struct {
	RunID       string                   `json:"run_id"`
	Status      string                   `json:"status"`
	Summary     *contracts.RunSummary    `json:"summary,omitempty"`
	FailedBatch string                   `json:"failed_batch,omitempty"`
	Failures    []contracts.BatchFailure `json:"failures,omitempty"`
	Reason      string                   `json:"reason,omitempty"`
	Stages      []Stage                  `json:"stages"`
	Batches     []Batch                  `json:"batches"`
	Queues      []Queue                  `json:"queues"`
	LastError   *LastError               `json:"last_error,omitempty"`
	// Quality is the tier-2 Soda scan of the run in production (nil until it ran).
	Quality *Quality `json:"quality,omitempty"`
}

// Quality is the Soda job's record: checks.yml against Snowflake after RunCompleted.
type Quality struct {
	Passed       int      `json:"passed"`
	Failed       int      `json:"failed"`
	Total        int      `json:"total"`
	FailedChecks []string `json:"failed_checks"`
	Errors       []string `json:"errors"`
	ScannedAt    string   `json:"scanned_at"`
	DataSource   string   `json:"data_source"`
}

// Newest is the most recently started run in the ledger (its first object's time; the run
// id, which sorts by time for gfnctl's ids, breaks ties).
func Newest(ctx context.Context, store lake.Store) (string, error) {
	objs, err := store.List(ctx, lake.RunsPrefix)
	if err != nil {
		return "", fmt.Errorf("newest run: %w", err)
	}
	started := map[string]time.Time{}
	for _, o := range objs {
		id, _, ok := strings.Cut(strings.TrimPrefix(o.Key, lake.RunsPrefix), "/")
		if !ok || id == "" {
			continue
		}
		if t, seen := started[id]; !seen || o.LastModified.Before(t) {
			started[id] = o.LastModified
		}
	}
	newest := ""
	for id, t := range started {
		if newest == "" || t.After(started[newest]) || t.Equal(started[newest]) && id > newest {
			newest = id
		}
	}
	if newest == "" {
		return "", ErrNoRuns
	}
	return newest, nil
}

// Gather builds the report of runID from the ledger in store and the queues tool sees (nil
// for the embedded run's lake, which has no queues). A run no stage has reported on yet (or
// runID "" when the ledger is empty) is pending: its queues still tell where its request is.
func Gather(ctx context.Context, store lake.Store, tool *dlq.Tool, runID string) (Report, error) {
	rep := Report{RunID: runID, Status: StatusRunning}
	run := runledger.Run{RunID: runID}
	if runID != "" {
		var err error
		if run, err = runledger.New(store).Load(ctx, runID); err != nil {
			return rep, err
		}
	}
	if run.Plan == nil && len(run.Batches) == 0 {
		if tool == nil {
			return rep, fmt.Errorf("run %s: %w", runID, ErrNoRuns)
		}
		rep.Status = StatusPending
		return rep, gatherQueues(ctx, tool, &rep)
	}
	switch o, err := run.OutcomeMessage(); {
	case err != nil:
		return rep, err
	case o == nil:
	default:
		switch o := o.(type) {
		case *contracts.RunCompleted:
			rep.Status, rep.Summary = StatusCompleted, &o.RunSummary
		case *contracts.RunFailed:
			rep.Status, rep.Summary, rep.FailedBatch, rep.Reason = StatusFailed, &o.RunSummary, o.FailedBatch, o.Reason
			rep.Failures = o.Failures
		}
	}
	quality, err := readQuality(ctx, store, runID)
	if err != nil {
		return rep, err
	}
	rep.Quality = quality
	planned := map[string]bool{}
	if run.Plan != nil {
		for _, b := range run.Plan.Batches {
			planned[b.BatchID] = true
		}
	}
	for _, b := range run.SortedBatches() {
		row, failure := batchRow(b, planned[b.BatchID])
		rep.Batches = append(rep.Batches, row)
		if failure != "" && rep.LastError == nil {
			rep.LastError = &LastError{Source: "ledger", RunID: runID, BatchID: b.BatchID, Error: failure}
		}
	}
	rep.Stages = stages(run.SortedBatches())
	if tool == nil {
		return rep, nil
	}
	return rep, gatherQueues(ctx, tool, &rep)
}

// gatherQueues adds every queue's depth and, when the ledger named no error, the newest
// dead-lettered message's reason.
func gatherQueues(ctx context.Context, tool *dlq.Tool, rep *Report) error {
	for _, q := range tool.Topology.Queues {
		for _, name := range []string{q.Name, q.DLQ()} {
			d, err := tool.Depth(ctx, name)
			if err != nil {
				return err
			}
			rep.Queues = append(rep.Queues, Queue{Name: name, DLQ: name == q.DLQ(), Depth: d})
		}
	}
	if rep.LastError == nil {
		var err error
		if rep.LastError, err = newestDLQError(ctx, tool, rep.Queues); err != nil {
			return err
		}
	}
	return nil
}

// stageOutputs are, per service, the events that show it handled a batch; the validator's
// quarantine is handled and failed both (the batch stops there).
// The notifier handles no batch, so it has no stage.
var stageOutputs = []struct {
	name   string
	events []string
}{
	{contracts.ServiceExtractor, []string{"RawBatchLanded"}},
	{contracts.ServiceValidator, []string{"BatchValidated", "BatchQuarantined"}},
	{contracts.ServiceTransformer, []string{"BatchTransformed"}},
	{contracts.ServiceLoader, []string{"BatchLoaded"}},
}

// stages counts each service's handled and failed batches from the ledger.
func stages(batches []*runledger.BatchState) []Stage {
	queues := map[string]string{}
	for _, s := range contracts.Services() {
		queues[s.Name] = s.Queue
	}
	out := make([]Stage, len(stageOutputs))
	for i, so := range stageOutputs {
		out[i].Name = so.name
		for _, b := range batches {
			for _, ev := range so.events {
				if b.Has(ev) {
					out[i].Handled++
					break
				}
			}
			var q contracts.BatchQuarantined
			if so.name == contracts.ServiceValidator && decode(b, &q) {
				out[i].Failed++
				out[i].LastError = "quarantined: " + q.Reason
			}
			// BatchFailed names the queue that gave up (prefixed in a named stack).
			var f contracts.BatchFailed
			if decode(b, &f) && strings.HasSuffix(f.Stage, queues[so.name]) {
				out[i].Failed++
				out[i].LastError = f.Reason
			}
		}
	}
	return out
}

// dlqSample bounds how many messages of one DLQ are read for the newest error.
const dlqSample = 100

func newestDLQError(ctx context.Context, tool *dlq.Tool, queues []Queue) (*LastError, error) {
	var last *LastError
	for _, q := range queues {
		if !q.DLQ || q.Visible == 0 {
			continue
		}
		msgs, err := tool.Peek(ctx, q.Name, dlqSample, dlq.Filter{})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Error == "" || last != nil && !m.SentAt.After(*last.At) {
				continue
			}
			at := m.SentAt
			last = &LastError{Source: "dlq", Queue: q.Name, RunID: m.Attributes[contracts.AttrRunID], Error: m.Error, At: &at}
		}
	}
	return last, nil
}

// batchRow reads a batch's stage events; a batch that reached BatchLoaded has no failure
// even when it failed before (it was redriven).
func batchRow(b *runledger.BatchState, planned bool) (Batch, string) {
	row := Batch{BatchID: b.BatchID, Year: b.Year, Planned: planned}
	var (
		landed      contracts.RawBatchLanded
		validated   contracts.BatchValidated
		quarantined contracts.BatchQuarantined
		transformed contracts.BatchTransformed
		loaded      contracts.BatchLoaded
		failed      contracts.BatchFailed
	)
	if decode(b, &landed) {
		row.Landed = &landed.Records
		if row.Year == 0 {
			row.Year = landed.Year
		}
	}
	if decode(b, &validated) {
		row.Validated, row.Rejected = &validated.RowsValid, &validated.RowsRejected
	}
	if decode(b, &quarantined) {
		row.Rejected = &quarantined.RowsRejected
		row.Failure = "quarantined: " + quarantined.Reason
	}
	if decode(b, &transformed) {
		row.Transformed = &transformed.Rows
	}
	if decode(b, &failed) && row.Failure == "" {
		row.Failure = fmt.Sprintf("%s gave up: %s", failed.Stage, failed.Reason)
	}
	if decode(b, &loaded) {
		row.Loaded = &loaded.RowsLoaded
		return row, ""
	}
	return row, row.Failure
}

func decode(b *runledger.BatchState, m contracts.Message) bool {
	raw, ok := b.Stages[m.EventType()]
	return ok && json.Unmarshal(raw, m) == nil
}

func readQuality(ctx context.Context, store lake.Store, runID string) (*Quality, error) {
	body, _, err := store.Get(ctx, lake.RunQualityKey(runID))
	if errors.Is(err, lake.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("run %s quality: %w", runID, err)
	}
	var q Quality
	if err := json.Unmarshal(body, &q); err != nil {
		return nil, fmt.Errorf("run %s quality %s: %w", runID, lake.RunQualityKey(runID), err)
	}
	return &q, nil
}

// WriteTable prints the report for a person.
func (r Report) WriteTable(w io.Writer) error {
	if r.RunID == "" {
		fmt.Fprint(w, "no runs in the ledger yet")
	} else {
		fmt.Fprintf(w, "run %s: %s", r.RunID, r.Status)
	}
	if s := r.Summary; s != nil {
		fmt.Fprintf(w, " (batches %d, failed %d, rows in %d, rows loaded %d, rejected %d, %.1f s)", s.Batches, s.FailedBatches, s.RowsIn, s.RowsLoaded, s.Rejected, s.DurationSec)
	}
	fmt.Fprintln(w)
	for _, f := range r.Failures {
		fmt.Fprintf(w, "failed batch %s (year %d): %s\n", f.BatchID, f.Year, f.Reason)
	}
	if len(r.Failures) == 0 && (r.FailedBatch != "" || r.Reason != "") {
		fmt.Fprintf(w, "failed at batch %s: %s\n", r.FailedBatch, r.Reason)
	}
	if r.Status == StatusPending && r.RunID != "" {
		fmt.Fprintln(w, "no stage has reported on this run yet; the queues below show where its request waits")
	}
	if q := r.Quality; q != nil {
		fmt.Fprintf(w, "quality (soda tier 2 on %s, %s): %d/%d checks passed", q.DataSource, q.ScannedAt, q.Passed, q.Total)
		if len(q.FailedChecks) > 0 {
			fmt.Fprintf(w, "; failed: %s", strings.Join(q.FailedChecks, "; "))
		}
		if len(q.Errors) > 0 {
			fmt.Fprintf(w, "; errors: %s", strings.Join(q.Errors, "; "))
		}
		fmt.Fprintln(w)
	}
	if len(r.Stages) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STAGE\tHANDLED\tFAILED\tLAST ERROR")
		for _, s := range r.Stages {
			last := s.LastError
			if last == "" {
				last = "-"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", s.Name, s.Handled, s.Failed, last)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if len(r.Batches) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "BATCH\tYEAR\tPLANNED\tLANDED\tVALIDATED\tTRANSFORMED\tLOADED\tREJECTED\t")
		for _, b := range r.Batches {
			planned := "no"
			if b.Planned {
				planned = "yes"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", b.BatchID, b.Year, planned, count(b.Landed), count(b.Validated), count(b.Transformed), count(b.Loaded), count(b.Rejected))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	// An embedded run's lake has no queues to show.
	if len(r.Queues) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "QUEUE\tVISIBLE\tIN FLIGHT\tDELAYED")
		queues := append([]Queue(nil), r.Queues...)
		sort.SliceStable(queues, func(i, j int) bool { return !queues[i].DLQ && queues[j].DLQ })
		for _, q := range queues {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", q.Name, q.Visible, q.InFlight, q.Delayed)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if e := r.LastError; e != nil {
		where := "ledger, batch " + e.BatchID
		if e.Source == "dlq" {
			where = fmt.Sprintf("%s, run %s, sent %s", e.Queue, e.RunID, e.At.Format(time.RFC3339))
		}
		fmt.Fprintf(w, "\nlast error (%s): %s\n", where, e.Error)
	}
	return nil
}

func count(n *int) string {
	if n == nil {
		return "-"
	}
	return fmt.Sprint(*n)
}
