package lake

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gfnpipeline/contracts"
)

const dataset = contracts.RecordSchemaName

// The bucket's top-level zones; each data zone holds one folder per dataset.
const (
	RawRoot         = "raw/"
	StagedRoot      = "staged/"
	TransformedRoot = "transformed/"
	FailedRoot      = "failed/"
	MetadataRoot    = "metadata/"
)

// Prefixes of the data zones and of metadata/.
const (
	RawPrefix         = RawRoot + dataset + "/"
	StagedPrefix      = StagedRoot + dataset + "/"
	TransformedPrefix = TransformedRoot + dataset + "/"
	FailedPrefix      = FailedRoot + dataset + "/"
	// FailedResponsesPrefix holds the extractor's FailedResponse reports, apart from the
	// validator's FailedReport ones under FailedPrefix.
	FailedResponsesPrefix = FailedRoot + "responses/" + dataset + "/"
	RunsPrefix            = MetadataRoot + "runs/"
	SchemaKey             = MetadataRoot + "schemas/" + dataset + "_v1.json"
	RawIndexPrefix        = MetadataRoot + "raw-index/"
	DLQAlertsPrefix       = MetadataRoot + "dlq-alerts/"
)

// Partitions are by extraction date (the production layout), not by the data's year.
func datePartition(zone string, at time.Time) string {
	at = at.UTC()
	return fmt.Sprintf("%syear=%04d/month=%02d/day=%02d/", zone, at.Year(), at.Month(), at.Day())
}

func stamp(at time.Time) string { return at.UTC().Format("20060102_150405") }

// RawKey is where the API's bytes for a batch extracted at `at` are kept (immutable).
func RawKey(at time.Time, batchID string) string {
	return fmt.Sprintf("%sdata_%s_%s.json", datePartition(RawPrefix, at), stamp(at), batchID)
}

// StagedKey holds a batch's valid rows as NDJSON.
func StagedKey(runID, batchID string) string {
	return fmt.Sprintf("%srun=%s/%s.ndjson", StagedPrefix, runID, batchID)
}

// TransformedKey is the Parquet file made from the raw object rawKey: the same partition and
// name. Snowpipe loads each file name once; every raw version (a revision is a new raw object)
// gets its own file, and a redelivery or an unchanged re-extraction rewrites the same one.
func TransformedKey(rawKey string) (string, error) {
	name, ok := strings.CutPrefix(rawKey, RawPrefix)
	if !ok || !strings.HasSuffix(name, ".json") {
		return "", fmt.Errorf("%q is not a raw object key", rawKey)
	}
	return TransformedPrefix + strings.TrimSuffix(name, ".json") + ".parquet", nil
}

// BatchOfKey is the batch id in a raw or transformed object's name
// (data_YYYYMMDD_HHMMSS_<batch>.<ext>; a later version's suffix stays on), "" for any other
// key. The object's batch-id metadata is the authority; this names the batch of an object
// that is gone.
func BatchOfKey(key string) string {
	name := key[strings.LastIndex(key, "/")+1:]
	rest, ok := strings.CutPrefix(name, "data_")
	if !ok || len(rest) < len("20060102_150405_") || rest[len("20060102_150405")] != '_' {
		return ""
	}
	rest = rest[len("20060102_150405_"):]
	if i := strings.LastIndex(rest, "."); i > 0 {
		return rest[:i]
	}
	return ""
}

// RawIndexKey is a batch's raw index object: its latest raw object and sha256, so planning
// and the unchanged check need not list raw/.
func RawIndexKey(batchID string) string { return RawIndexPrefix + batchID + ".json" }

// DLQAlertKey marks a dead-lettered message of queue as alerted (written once).
func DLQAlertKey(queue, messageID string) string {
	return DLQAlertsPrefix + queue + "/" + messageID + ".json"
}

// RunPrefix is the run ledger's folder.
func RunPrefix(runID string) string { return RunsPrefix + runID + "/" }

// Names inside a run's ledger folder, for readers that walk it.
const (
	RunPlanName        = "plan.json"
	RunOutcomeDir      = "outcome/"
	RunBatchesDir      = "batches/"
	RunAnnouncedSuffix = ".announced"
)

// RunBatch is the ledger's batch id for run-level events (planning).
const RunBatch = "_run"

// RunEventKey is where a run's ledger keeps a batch's event of eventType (BatchLoaded, ...);
// run-level events use batch RunBatch.
func RunEventKey(runID, batchID, eventType string) string {
	if batchID == "" {
		batchID = RunBatch
	}
	return RunPrefix(runID) + RunBatchesDir + batchID + "/" + eventType + ".json"
}

// RunPlanKey holds the run's ExtractionPlanned.
func RunPlanKey(runID string) string { return RunPrefix(runID) + RunPlanName }

// RunOutcomeKey is the claim of a run's outcome of eventType: a run is announced failed at
// most once and completed at most once (a redriven, loaded batch can still complete it).
func RunOutcomeKey(runID, eventType string) string {
	return RunPrefix(runID) + RunOutcomeDir + eventType + ".json"
}

// RunAnnouncedKey marks the outcome of eventType as published.
func RunAnnouncedKey(runID, eventType string) string {
	return RunPrefix(runID) + RunOutcomeDir + eventType + RunAnnouncedSuffix + ".json"
}

// RunAlertKey marks a batch's failure event as alerted, so a redelivery does not alert again.
func RunAlertKey(runID, batchID, eventType string) string {
	return RunPrefix(runID) + "alerts/" + batchID + "/" + eventType + ".json"
}

// RunDriftKey records an unknown API field a run met (written once per run and field).
func RunDriftKey(runID, field string) string {
	return RunPrefix(runID) + "schema-drift/" + url.PathEscape(field)
}

// RunQualityKey is the production Soda job's scan result for a run (soda/lambda/handler.py
// writes it; keep the two in step).
func RunQualityKey(runID string) string { return RunPrefix(runID) + "quality/soda.json" }
