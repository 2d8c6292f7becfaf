// Package contracts holds what the pipeline's services agree on: typed messages, the
// ecological_footprint record, and the messaging topology. It imports no AWS code so every
// service, the operator CLI and the infrastructure tests can depend on it.
package contracts

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message is implemented by every command and event. MessageType is the versioned
// CloudEvents type; EventType is the short name SNS filter policies match on.
type Message interface {
	MessageType() string
	EventType() string
	Run() string
	Batch() string
}

// Header is embedded in every message: which run and which batch it belongs to.
type Header struct {
	RunID   string `json:"run_id"`
	BatchID string `json:"batch_id,omitempty"`
}

func (h Header) Run() string   { return h.RunID }
func (h Header) Batch() string { return h.BatchID }

// Versioned message types. A consumer accepts only the versions listed here.
const (
	TypeExtractionRequested = "gfn.pipeline.extraction_requested.v1"
	TypeExtractionPlanned   = "gfn.pipeline.extraction_planned.v1"
	TypeRawBatchLanded      = "gfn.pipeline.raw_batch_landed.v1"
	TypeBatchValidated      = "gfn.pipeline.batch_validated.v1"
	TypeBatchQuarantined    = "gfn.pipeline.batch_quarantined.v1"
	TypeBatchTransformed    = "gfn.pipeline.batch_transformed.v1"
	TypeBatchLoaded         = "gfn.pipeline.batch_loaded.v1"
	TypeRunCompleted        = "gfn.pipeline.run_completed.v1"
	TypeRunFailed           = "gfn.pipeline.run_failed.v1"
	TypeBatchFailed         = "gfn.pipeline.batch_failed.v1"
)

// Extraction modes for ExtractionRequested.
const (
	ModeFull        = "full"
	ModeIncremental = "incremental"
)

// ExtractionRequested is the command that starts a run. Zero years mean "the API's range".
type ExtractionRequested struct {
	Header
	Mode        string    `json:"mode"`
	FromYear    int       `json:"from_year,omitempty"`
	ToYear      int       `json:"to_year,omitempty"`
	Countries   []int     `json:"countries,omitempty"`
	RecordTypes []string  `json:"record_types,omitempty"`
	RecheckLast int       `json:"recheck_last,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	RequestedBy string    `json:"requested_by,omitempty"`
	// FromRaw (a one-batch command) re-announces the batch's landed raw object instead of
	// calling the API: incremental planning sets it for a year whose raw landed but never loaded.
	FromRaw bool `json:"from_raw,omitempty"`
}

// PlannedBatch is one unit of extraction: a year (and the run's filters).
type PlannedBatch struct {
	BatchID string `json:"batch_id"`
	Year    int    `json:"year"`
}

// ExtractionPlanned announces how many batches a run has, so the notifier knows when it is done.
type ExtractionPlanned struct {
	Header
	Mode      string         `json:"mode"`
	Batches   []PlannedBatch `json:"batches"`
	PlannedAt time.Time      `json:"planned_at"`
	StartedAt time.Time      `json:"started_at"`
}

// RawBatchLanded: the API's bytes for one batch are in raw/.
type RawBatchLanded struct {
	Header
	Year        int       `json:"year"`
	Bucket      string    `json:"bucket"`
	Key         string    `json:"key"`
	SHA256      string    `json:"sha256"`
	Records     int       `json:"records"`
	Bytes       int64     `json:"bytes"`
	Revision    bool      `json:"revision"`
	Unchanged   bool      `json:"unchanged,omitempty"`
	ExtractedAt time.Time `json:"extracted_at"`
}

// BatchValidated: the batch passed tier 1; valid rows are in staged/.
type BatchValidated struct {
	Header
	Year         int       `json:"year"`
	SourceKey    string    `json:"source_key"`
	StagedKey    string    `json:"staged_key"`
	FailedKey    string    `json:"failed_key,omitempty"`
	RowsIn       int       `json:"rows_in"`
	RowsValid    int       `json:"rows_valid"`
	RowsRejected int       `json:"rows_rejected"`
	Warnings     int       `json:"warnings,omitempty"`
	ExtractedAt  time.Time `json:"extracted_at"`
}

// BatchQuarantined: too many rows failed tier 1; nothing of the batch moves on.
type BatchQuarantined struct {
	Header
	Year         int    `json:"year"`
	SourceKey    string `json:"source_key"`
	FailedKey    string `json:"failed_key"`
	RowsIn       int    `json:"rows_in"`
	RowsRejected int    `json:"rows_rejected"`
	Reason       string `json:"reason"`
}

// BatchTransformed: typed Parquet for the batch is in transformed/.
type BatchTransformed struct {
	Header
	Year      int    `json:"year"`
	SourceKey string `json:"source_key"`
	Key       string `json:"key"`
	Rows      int    `json:"rows"`
	Bytes     int64  `json:"bytes"`
}

// BatchLoaded: the warehouse has the batch's file. TableRows is the transformed table's
// row count after the MERGE, so summaries count the warehouse, not memory.
type BatchLoaded struct {
	Header
	Key           string    `json:"key"`
	LoadID        string    `json:"load_id"`
	RowsLoaded    int       `json:"rows_loaded"`
	AlreadyLoaded bool      `json:"already_loaded,omitempty"`
	TableRows     int64     `json:"table_rows"`
	LoadedAt      time.Time `json:"loaded_at"`
}

// BatchFailed: a stage gave up on a batch for good (a permanent error, or a message
// dead-lettered), so the run can fail instead of waiting forever.
type BatchFailed struct {
	Header
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
}

// RunSummary is what RunCompleted and RunFailed report.
type RunSummary struct {
	Batches    int   `json:"batches"`
	RowsIn     int   `json:"rows_in"`
	RowsLoaded int64 `json:"rows_loaded"`
	Rejected   int   `json:"rejected"`
	// FailedBatches counts the planned batches that settled without loading (quarantined or
	// dead-lettered).
	FailedBatches int       `json:"failed_batches"`
	StartedAt     time.Time `json:"started_at"`
	FinishedAt    time.Time `json:"finished_at"`
	DurationSec   float64   `json:"duration_seconds"`
}

// RunCompleted: every planned batch is loaded (or had nothing to load).
type RunCompleted struct {
	Header
	RunSummary
}

// RunFailed: every planned batch has settled and at least one was quarantined or
// dead-lettered (or the run could not be planned). Failures names each failed batch;
// FailedBatch and Reason repeat the first for readers of v1 before Failures existed.
type RunFailed struct {
	Header
	RunSummary
	FailedBatch string         `json:"failed_batch"`
	Reason      string         `json:"reason"`
	Failures    []BatchFailure `json:"failures,omitempty"`
}

// BatchFailure is one failed batch of a run and why it failed.
type BatchFailure struct {
	BatchID string `json:"batch_id"`
	Year    int    `json:"year,omitempty"`
	Reason  string `json:"reason"`
}

func (ExtractionRequested) MessageType() string { return TypeExtractionRequested }
func (ExtractionPlanned) MessageType() string   { return TypeExtractionPlanned }
func (RawBatchLanded) MessageType() string      { return TypeRawBatchLanded }
func (BatchValidated) MessageType() string      { return TypeBatchValidated }
func (BatchQuarantined) MessageType() string    { return TypeBatchQuarantined }
func (BatchTransformed) MessageType() string    { return TypeBatchTransformed }
func (BatchLoaded) MessageType() string         { return TypeBatchLoaded }
func (BatchFailed) MessageType() string         { return TypeBatchFailed }
func (RunCompleted) MessageType() string        { return TypeRunCompleted }
func (RunFailed) MessageType() string           { return TypeRunFailed }

func (ExtractionRequested) EventType() string { return "ExtractionRequested" }
func (ExtractionPlanned) EventType() string   { return "ExtractionPlanned" }
func (RawBatchLanded) EventType() string      { return "RawBatchLanded" }
func (BatchValidated) EventType() string      { return "BatchValidated" }
func (BatchQuarantined) EventType() string    { return "BatchQuarantined" }
func (BatchTransformed) EventType() string    { return "BatchTransformed" }
func (BatchLoaded) EventType() string         { return "BatchLoaded" }
func (BatchFailed) EventType() string         { return "BatchFailed" }
func (RunCompleted) EventType() string        { return "RunCompleted" }
func (RunFailed) EventType() string           { return "RunFailed" }

// registry maps each known versioned type to a constructor of its struct.
var registry = map[string]func() Message{
	TypeExtractionRequested: func() Message { return &ExtractionRequested{} },
	TypeExtractionPlanned:   func() Message { return &ExtractionPlanned{} },
	TypeRawBatchLanded:      func() Message { return &RawBatchLanded{} },
	TypeBatchValidated:      func() Message { return &BatchValidated{} },
	TypeBatchQuarantined:    func() Message { return &BatchQuarantined{} },
	TypeBatchTransformed:    func() Message { return &BatchTransformed{} },
	TypeBatchLoaded:         func() Message { return &BatchLoaded{} },
	TypeBatchFailed:         func() Message { return &BatchFailed{} },
	TypeRunCompleted:        func() Message { return &RunCompleted{} },
	TypeRunFailed:           func() Message { return &RunFailed{} },
}

// KnownTypes lists every message type this version of the contracts understands.
func KnownTypes() []string {
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	return out
}

// ErrUnknownType is returned for a message type (or version) the contracts do not know.
var ErrUnknownType = errors.New("unknown message type")

// ErrUndecodable is returned for a body that does not decode into its declared type.
var ErrUndecodable = errors.New("undecodable message body")

// Decode turns a body of the given versioned type into its typed message. Unknown fields are
// tolerated (a newer producer may add some); a body that is not the type's JSON is not.
func Decode(msgType string, body []byte) (Message, error) {
	newMsg, ok := registry[msgType]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownType, msgType)
	}
	m := newMsg()
	if err := json.Unmarshal(body, m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUndecodable, msgType, err)
	}
	if m.Run() == "" {
		return nil, fmt.Errorf("%w: %s: missing run_id", ErrUndecodable, msgType)
	}
	return m, nil
}
