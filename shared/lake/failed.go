package lake

import (
	"fmt"
	"time"

	"github.com/gfnpipeline/contracts/quality"
)

// failed/ holds two reports, each with its own prefix and shape.

// FailedKey holds a batch's FailedReport: its rejected rows with reasons, or why none could
// be read. BatchValidated and BatchQuarantined name it (FailedKey).
func FailedKey(at time.Time, batchID string) string { return failedKey(FailedPrefix, at, batchID) }

// FailedResponseKey holds a FailedResponse: an API response for a batch the extractor could
// not land.
func FailedResponseKey(at time.Time, batchID string) string {
	return failedKey(FailedResponsesPrefix, at, batchID)
}

func failedKey(prefix string, at time.Time, batchID string) string {
	at = at.UTC()
	return fmt.Sprintf("%s%04d/%02d/%02d/error_%s_%s.json", prefix, at.Year(), at.Month(), at.Day(), stamp(at), batchID)
}

// FailedReport is the validator's report at FailedKey: why rows (or the whole batch) failed
// tier 1 (contracts/quality).
type FailedReport struct {
	RunID       string    `json:"run_id"`
	BatchID     string    `json:"batch_id"`
	Year        int       `json:"year"`
	SourceKey   string    `json:"source_key"`
	ExtractedAt time.Time `json:"extracted_at"`
	// Error is set when the body could not be read as a JSON array; there are no rows then.
	Error        string `json:"error,omitempty"`
	Quarantined  bool   `json:"quarantined"`
	RowsIn       int    `json:"rows_in"`
	RowsRejected int    `json:"rows_rejected"`
	// RejectsByRule counts rejected rows per rule (a row breaking two rules counts twice).
	RejectsByRule map[string]int   `json:"rejects_by_rule,omitempty"`
	Rejects       []quality.Reject `json:"rejects,omitempty"`
}

// FailedResponse is the extractor's report at FailedResponseKey: a GFN API response that
// cannot be landed (not the JSON array of records a batch needs), with the start of its body.
// The extraction message fails for good and names the key.
type FailedResponse struct {
	// Stage is the service that wrote it: the extractor.
	Stage   string `json:"stage"`
	RunID   string `json:"run_id"`
	BatchID string `json:"batch_id"`
	Year    int    `json:"year"`
	Reason  string `json:"reason"`
	Error   string `json:"error"`
	// ResponseBytes is the body's size; ResponseStart its first bytes, for diagnosis.
	ResponseBytes int       `json:"response_bytes"`
	ResponseStart string    `json:"response_start,omitempty"`
	RequestedAt   time.Time `json:"requested_at"`
}
