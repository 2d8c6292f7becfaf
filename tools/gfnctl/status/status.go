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
	"github.com/gfnpipeline/services/notifier/notify"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/tools/gfnctl/dlq"
)

// ErrNoRuns: the ledger has no run yet.
var ErrNoRuns = errors.New("no runs in the ledger")

// Run statuses.
const (
	StatusRunning   = "running"
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

// Report is `gfnctl status`.
type Report struct {
	RunID       string                   `json:"run_id"`
	Status      string                   `json:"status"`
	Summary     *contracts.RunSummary    `json:"summary,omitempty"`
	FailedBatch string                   `json:"failed_batch,omitempty"`
	Failures    []contracts.BatchFailure `json:"failures,omitempty"`
	Reason      string                   `json:"reason,omitempty"`
	Batches     []Batch                  `json:"batches"`
	Queues      []Queue                  `json:"queues"`
	LastError   *LastError               `json:"last_error,omitempty"`
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
// for the embedded run's lake, which has no queues).
func Gather(ctx context.Context, store lake.Store, tool *dlq.Tool, runID string) (Report, error) {
	rep := Report{RunID: runID, Status: StatusRunning}
	run, err := notify.NewLedger(store).Load(ctx, runID)
	if err != nil {
		return rep, err
	}
	if run.Plan == nil && len(run.Batches) == 0 {
		return rep, fmt.Errorf("run %s: %w", runID, ErrNoRuns)
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
	if tool == nil {
		return rep, nil
	}
	for _, q := range tool.Topology.Queues {
		for _, name := range []string{q.Name, q.DLQ()} {
			d, err := tool.Depth(ctx, name)
			if err != nil {
				return rep, err
			}
			rep.Queues = append(rep.Queues, Queue{Name: name, DLQ: name == q.DLQ(), Depth: d})
		}
	}
	if rep.LastError == nil {
		if rep.LastError, err = newestDLQError(ctx, tool, rep.Queues); err != nil {
			return rep, err
		}
	}
	return rep, nil
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
func batchRow(b *notify.BatchState, planned bool) (Batch, string) {
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

func decode(b *notify.BatchState, m contracts.Message) bool {
	raw, ok := b.Stages[m.EventType()]
	return ok && json.Unmarshal(raw, m) == nil
}

// WriteTable prints the report for a person.
func (r Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "run %s: %s", r.RunID, r.Status)
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
	// An embedded run's lake has no queues to show.
	if len(r.Queues) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
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
