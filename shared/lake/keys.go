// Package lake holds the data lake's layout (object keys) and its storage: S3 in AWS, a
// directory for the embedded run. Keys are deterministic per batch so a redelivered message
// rewrites the same object instead of adding a second one.
package lake

import (
	"fmt"
	"strings"
	"time"

	"github.com/gfnpipeline/contracts"
)

const dataset = contracts.RecordSchemaName

// Prefixes of the lake's zones.
const (
	RawPrefix         = "raw/" + dataset + "/"
	StagedPrefix      = "staged/" + dataset + "/"
	TransformedPrefix = "transformed/" + dataset + "/"
	FailedPrefix      = "failed/" + dataset + "/"
	RunsPrefix        = "metadata/runs/"
	SchemaKey         = "metadata/schemas/ecological_footprint_v1.json"
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

// FailedKey holds a batch's rejected rows with reasons (or a whole batch's error).
func FailedKey(at time.Time, batchID string) string {
	at = at.UTC()
	return fmt.Sprintf("%s%04d/%02d/%02d/error_%s_%s.json", FailedPrefix, at.Year(), at.Month(), at.Day(), stamp(at), batchID)
}

// RunPrefix is the run ledger's folder.
func RunPrefix(runID string) string { return RunsPrefix + runID + "/" }

// RunBatch is the ledger's batch id for run-level events (planning).
const RunBatch = "_run"

// RunEventKey is where a run's ledger keeps a batch's event of eventType (BatchLoaded, ...);
// run-level events use batch RunBatch.
func RunEventKey(runID, batchID, eventType string) string {
	if batchID == "" {
		batchID = RunBatch
	}
	return RunPrefix(runID) + "batches/" + batchID + "/" + eventType + ".json"
}
