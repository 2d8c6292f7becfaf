// Package replay re-emits RawBatchLanded for raw objects already in the lake, under a new run,
// so validation, transformation and loading run again without calling the GFN API. Consumers
// are idempotent (deterministic keys, load-once files), so a replay never loads a row twice.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
)

// ModeReplay is the ExtractionPlanned mode of a replayed run.
const ModeReplay = "replay"

var (
	// ErrNoObjects: nothing was extracted in the date range.
	ErrNoObjects = errors.New("no raw objects in the date range")
	// ErrNoMetadata: a raw object lacks the metadata a RawBatchLanded needs.
	ErrNoMetadata = errors.New("raw object has no pipeline metadata")
)

// batchYearRE reads the year out of a batch id (contracts.BatchID: ef-<year>[-<filters>]).
var batchYearRE = regexp.MustCompile(`^ef-(\d{4})(?:-|$)`)

// Plan lists the raw objects extracted on the days from..to (inclusive, UTC) and describes
// each as the RawBatchLanded that announced it, without a run id. A batch extracted more than
// once in the range is replayed once, from its newest extraction.
func Plan(ctx context.Context, store lake.Store, from, to time.Time) ([]contracts.RawBatchLanded, error) {
	from, to = day(from), day(to)
	if to.Before(from) {
		return nil, fmt.Errorf("replay: --to %s is before --from %s", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	newest := map[string]contracts.RawBatchLanded{}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		// The partition folder of a raw key extracted that day (lake.RawKey's layout).
		prefix := path.Dir(lake.RawKey(d, "x")) + "/"
		objs, err := store.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		for _, o := range objs {
			ev, err := landed(ctx, store, o.Key)
			if err != nil {
				return nil, err
			}
			cur, seen := newest[ev.BatchID]
			if !seen || ev.ExtractedAt.After(cur.ExtractedAt) || ev.ExtractedAt.Equal(cur.ExtractedAt) && ev.Key > cur.Key {
				newest[ev.BatchID] = ev
			}
		}
	}
	if len(newest) == 0 {
		return nil, fmt.Errorf("%w: %s..%s", ErrNoObjects, from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	out := make([]contracts.RawBatchLanded, 0, len(newest))
	for _, ev := range newest {
		out = append(out, ev)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BatchID < out[j].BatchID })
	return out, nil
}

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// landed rebuilds an object's RawBatchLanded from its metadata (Head), as the extractor wrote it.
func landed(ctx context.Context, store lake.Store, key string) (contracts.RawBatchLanded, error) {
	o, err := store.Head(ctx, key)
	if err != nil {
		return contracts.RawBatchLanded{}, fmt.Errorf("replay: %w", err)
	}
	m := o.Metadata
	ev := contracts.RawBatchLanded{
		Header: contracts.Header{BatchID: m[lake.MetaBatchID]},
		Bucket: store.Bucket(), Key: key, SHA256: m[lake.MetaSHA256], Bytes: o.Size,
	}
	records, rerr := strconv.Atoi(m[lake.MetaRecords])
	at, terr := time.Parse(time.RFC3339Nano, m[lake.MetaExtractedAt])
	if ev.BatchID == "" || ev.SHA256 == "" || rerr != nil || terr != nil {
		return ev, fmt.Errorf("%w: s3://%s/%s (metadata %v)", ErrNoMetadata, store.Bucket(), key, m)
	}
	ev.Records, ev.ExtractedAt = records, at
	if ev.Year, err = year(ctx, store, ev.BatchID); err != nil {
		return ev, err
	}
	return ev, nil
}

// year comes from the batch id, else from the batch's raw index.
func year(ctx context.Context, store lake.Store, batchID string) (int, error) {
	if m := batchYearRE.FindStringSubmatch(batchID); m != nil {
		return strconv.Atoi(m[1])
	}
	b, _, err := store.Get(ctx, lake.RawIndexKey(batchID))
	if err != nil {
		return 0, fmt.Errorf("replay: year of batch %s: %w", batchID, err)
	}
	var idx lake.RawIndex
	if err := json.Unmarshal(b, &idx); err != nil || idx.Last.Year == 0 {
		return 0, fmt.Errorf("replay: year of batch %s: raw index has none (%w)", batchID, err)
	}
	return idx.Last.Year, nil
}

// Emit announces the replayed run: ExtractionPlanned first, so the notifier knows the
// batches and can complete the run, then one RawBatchLanded per batch.
func Emit(ctx context.Context, pub messaging.Publisher, runID string, batches []contracts.RawBatchLanded, now time.Time) error {
	plan := &contracts.ExtractionPlanned{Header: contracts.Header{RunID: runID}, Mode: ModeReplay, PlannedAt: now.UTC(), StartedAt: now.UTC()}
	for _, b := range batches {
		plan.Batches = append(plan.Batches, contracts.PlannedBatch{BatchID: b.BatchID, Year: b.Year})
	}
	if err := pub.Publish(ctx, plan); err != nil {
		return fmt.Errorf("replay %s: %w", runID, err)
	}
	for _, b := range batches {
		b.RunID = runID
		if err := pub.Publish(ctx, &b); err != nil {
			return fmt.Errorf("replay %s: %w", runID, err)
		}
	}
	return nil
}
