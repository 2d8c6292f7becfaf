// Package validate is the validator's domain: it applies the tier-1 staging contract
// (contracts/quality) to a raw batch, stages the valid rows, records the rejected ones and
// decides whether the batch moves on or is quarantined.
//
// Objects it writes, all at deterministic keys (a redelivered message rewrites the same
// objects with the same bytes):
//   - lake.StagedKey(run, batch): the valid rows, NDJSON in the staged format of
//     quality.EncodeStaged (the API's keys and types, then unknown keys verbatim), with
//     metadata run-id, batch-id, records, extracted-at, source-key. Not written when no row
//     is valid or the batch is quarantined.
//   - lake.FailedKey(extracted_at, batch): a lake.FailedReport (JSON) when any row is rejected or
//     the body cannot be read at all.
//
// A RawBatchLanded with Records == 0 and Key == "" means the API had no data for that year:
// the batch is validated with zero rows and no staged object, so the run can still complete.
package validate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/contracts/quality"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/telemetry"
)

// DefaultRejectThreshold is the share of rejected rows above which a batch is quarantined.
const DefaultRejectThreshold = 0.05

// Config tunes the validator.
type Config struct {
	// RejectThreshold: a batch whose rejected/in ratio is above it is quarantined; 0 means
	// DefaultRejectThreshold.
	RejectThreshold float64
}

// Validator handles RawBatchLanded.
type Validator struct {
	threshold float64
	store     lake.Store
	pub       messaging.Publisher
}

// New returns a Validator reading and writing store and publishing on pub.
func New(cfg Config, store lake.Store, pub messaging.Publisher) *Validator {
	t := cfg.RejectThreshold
	if t == 0 {
		t = DefaultRejectThreshold
	}
	return &Validator{threshold: t, store: store, pub: pub}
}

// ErrBadEvent marks a RawBatchLanded that cannot be acted on (no key but records, or a key
// whose object does not exist); retrying it cannot help.
var ErrBadEvent = errors.New("bad RawBatchLanded event")

// Handle validates the batch msg announces and publishes BatchValidated or BatchQuarantined:
// it reads the raw batch, decides on its rows, then writes what the decision says.
func (v *Validator) Handle(ctx context.Context, msg *contracts.RawBatchLanded) error {
	if msg.Key == "" {
		if msg.Records != 0 {
			return messaging.Permanent(fmt.Errorf("%w: %d records but no key", ErrBadEvent, msg.Records))
		}
		telemetry.Logger(ctx).Info("batch has no data: validated with zero rows", "year", msg.Year)
		return v.publish(ctx, &contracts.BatchValidated{Header: msg.Header, Year: msg.Year, ExtractedAt: msg.ExtractedAt})
	}
	body, err := v.readRaw(ctx, msg)
	if err != nil {
		return err
	}
	res, err := quality.ValidateBatch(body, quality.Options{})
	if err != nil {
		return v.rejectUnreadable(ctx, msg, err)
	}
	if len(res.UnknownFields) > 0 {
		if err := v.reportDrift(ctx, msg, res); err != nil {
			return err
		}
	}
	if len(res.UnknownRecordTypes) > 0 {
		telemetry.Logger(ctx).Warn("unknown record types", "record_types", res.UnknownRecordTypes)
	}
	return v.write(ctx, msg, res, v.decide(msg, res))
}

// readRaw reads the raw object msg names.
func (v *Validator) readRaw(ctx context.Context, msg *contracts.RawBatchLanded) ([]byte, error) {
	body, _, err := v.store.Get(ctx, msg.Key)
	if errors.Is(err, lake.ErrNotFound) {
		return nil, messaging.Permanent(fmt.Errorf("%w: raw object %s: %w", ErrBadEvent, msg.Key, err))
	}
	if err != nil {
		return nil, fmt.Errorf("read raw batch: %w", err)
	}
	return body, nil
}

// newReport is the failed/ report of msg's batch, before its findings.
func newReport(msg *contracts.RawBatchLanded) lake.FailedReport {
	return lake.FailedReport{RunID: msg.RunID, BatchID: msg.BatchID, Year: msg.Year, SourceKey: msg.Key, ExtractedAt: msg.ExtractedAt}
}

// rejectUnreadable records a body that is not a JSON array and fails the message for good.
func (v *Validator) rejectUnreadable(ctx context.Context, msg *contracts.RawBatchLanded, cause error) error {
	failedKey := lake.FailedKey(msg.ExtractedAt, msg.BatchID)
	report := newReport(msg)
	report.Error = cause.Error()
	report.Quarantined = true
	if err := v.putJSON(ctx, failedKey, report, msg); err != nil {
		return err
	}
	telemetry.Logger(ctx).Error("raw batch is not a JSON array", "key", msg.Key, "failed_key", failedKey, "error", cause)
	return messaging.Permanent(fmt.Errorf("validate %s: %w", msg.Key, cause))
}

// verdict is what validation decided for a batch.
type verdict struct {
	// report is the failed/ report to write; nil when no row was rejected.
	report *lake.FailedReport
	// quarantine stops the batch: too many rows were rejected, for reason.
	quarantine bool
	reason     string
}

// decide judges a validated batch: its failed/ report, and whether it is quarantined.
func (v *Validator) decide(msg *contracts.RawBatchLanded, res quality.Result) verdict {
	d := verdict{quarantine: res.RejectRatio() > v.threshold}
	var byRule map[string]int
	if len(res.Rejects) > 0 {
		byRule = map[string]int{}
		for rule, n := range res.CountByRule() {
			if n > 0 && rule != quality.RuleRecordType {
				byRule[rule] = n
			}
		}
		report := newReport(msg)
		report.Quarantined = d.quarantine
		report.RowsIn, report.RowsRejected = res.RowsIn, len(res.Rejects)
		report.Rejects, report.RejectsByRule = res.Rejects, byRule
		d.report = &report
	}
	if d.quarantine {
		d.reason = fmt.Sprintf("%d of %d rows (%.1f%%) failed tier 1, above the %.1f%% threshold: %s",
			len(res.Rejects), res.RowsIn, 100*res.RejectRatio(), 100*v.threshold, formatCounts(byRule))
	}
	return d
}

// write records the verdict: the failed/ report, then BatchQuarantined, or the staged rows
// and BatchValidated.
func (v *Validator) write(ctx context.Context, msg *contracts.RawBatchLanded, res quality.Result, d verdict) error {
	log := telemetry.Logger(ctx)
	failedKey := ""
	var byRule map[string]int
	if d.report != nil {
		failedKey, byRule = lake.FailedKey(msg.ExtractedAt, msg.BatchID), d.report.RejectsByRule
		if err := v.putJSON(ctx, failedKey, d.report, msg); err != nil {
			return err
		}
	}
	if d.quarantine {
		log.Warn("batch quarantined", "reason", d.reason, "failed_key", failedKey)
		return v.publish(ctx, &contracts.BatchQuarantined{
			Header: msg.Header, Year: msg.Year, SourceKey: msg.Key, FailedKey: failedKey,
			RowsIn: res.RowsIn, RowsRejected: len(res.Rejects), Reason: d.reason,
		})
	}
	stagedKey, err := v.stage(ctx, msg, res.Rows)
	if err != nil {
		return err
	}
	out := &contracts.BatchValidated{
		Header: msg.Header, Year: msg.Year, SourceKey: msg.Key, StagedKey: stagedKey, FailedKey: failedKey,
		RowsIn: res.RowsIn, RowsValid: len(res.Rows), RowsRejected: len(res.Rejects),
		// A warning is a row of unknown record type or a key the contract does not know.
		Warnings:    len(res.Warnings) + len(res.UnknownFields),
		ExtractedAt: msg.ExtractedAt,
	}
	log.Info("batch validated", "rows_in", out.RowsIn, "rows_valid", out.RowsValid, "rows_rejected", out.RowsRejected,
		"warnings", out.Warnings, "rejects_by_rule", byRule, "staged_key", stagedKey)
	return v.publish(ctx, out)
}

// stage writes a batch's valid rows and returns their key ("" when there are none).
func (v *Validator) stage(ctx context.Context, msg *contracts.RawBatchLanded, rows []quality.Row) (string, error) {
	if len(rows) == 0 {
		return "", nil
	}
	stagedKey := lake.StagedKey(msg.RunID, msg.BatchID)
	staged, err := quality.EncodeStaged(rows)
	if err != nil {
		return "", messaging.Permanent(fmt.Errorf("encode staged rows: %w", err))
	}
	if err := v.store.Put(ctx, stagedKey, staged, metadata(msg, len(rows))); err != nil {
		return "", fmt.Errorf("write staged rows: %w", err)
	}
	return stagedKey, nil
}

func (v *Validator) publish(ctx context.Context, m contracts.Message) error {
	if err := v.pub.Publish(ctx, m); err != nil {
		return fmt.Errorf("publish %s: %w", m.EventType(), err)
	}
	return nil
}

func (v *Validator) putJSON(ctx context.Context, key string, doc any, msg *contracts.RawBatchLanded) error {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return messaging.Permanent(fmt.Errorf("encode %s: %w", key, err))
	}
	if err := v.store.Put(ctx, key, b, metadata(msg, 0)); err != nil {
		return fmt.Errorf("write failed report: %w", err)
	}
	return nil
}

// metadata is the lineage every object the validator writes carries; records is omitted
// when it does not apply.
func metadata(msg *contracts.RawBatchLanded, records int) map[string]string {
	m := map[string]string{
		lake.MetaRunID:       msg.RunID,
		lake.MetaBatchID:     msg.BatchID,
		lake.MetaExtractedAt: msg.ExtractedAt.UTC().Format(time.RFC3339Nano),
		lake.MetaSourceKey:   msg.Key,
	}
	if records > 0 {
		m[lake.MetaRecords] = strconv.Itoa(records)
	}
	return m
}

// formatCounts renders rule counts in a stable order for messages.
func formatCounts(m map[string]int) string {
	rules := make([]string, 0, len(m))
	for r := range m {
		rules = append(rules, r)
	}
	slices.Sort(rules)
	s := ""
	for i, r := range rules {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s=%d", r, m[r])
	}
	return s
}

// reportDrift reports each unknown API field once per run, whichever batch (or validator
// instance) meets it first; the fields themselves travel on in the extra column.
func (v *Validator) reportDrift(ctx context.Context, msg *contracts.RawBatchLanded, res quality.Result) error {
	var first []string
	for _, field := range res.UnknownFieldNames() {
		err := v.store.PutIfAbsent(ctx, lake.RunDriftKey(msg.RunID, field), []byte(msg.BatchID), nil)
		switch {
		case err == nil:
			first = append(first, field)
		case !errors.Is(err, lake.ErrExists):
			return fmt.Errorf("record schema drift of run %s: %w", msg.RunID, err)
		}
	}
	if len(first) > 0 {
		telemetry.Logger(ctx).Warn("schema drift: unknown API fields kept in the extra column", "unknown_fields", first, "rows_with_unknown_fields", res.UnknownFields)
	}
	return nil
}
