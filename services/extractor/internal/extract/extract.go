// Package extract is the extractor's domain logic: it plans a run into one batch per year and
// lands each year's API response in the lake's raw zone, immutably, announcing it with
// RawBatchLanded.
package extract

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/services/extractor/internal/gfnapi"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/telemetry"
)

// DefaultRecheckLast is how many of the newest years an incremental run extracts again even
// when they have landed before (GFN revises recent years).
const DefaultRecheckLast = 3

// Config configures an Extractor.
type Config struct {
	// Gzip compresses landed objects; downstream detects gzip by the magic bytes 0x1f 0x8b.
	Gzip bool
	// RecheckLast applies when a request leaves it 0 [DefaultRecheckLast].
	RecheckLast int
	// Now stamps ExtractionPlanned.PlannedAt [time.Now].
	Now func() time.Time
}

// Extractor handles ExtractionRequested commands.
type Extractor struct {
	cfg    Config
	client *gfnapi.Client
	store  lake.Store
	pub    messaging.Publisher
}

// New returns an Extractor.
func New(cfg Config, client *gfnapi.Client, store lake.Store, pub messaging.Publisher) *Extractor {
	if cfg.RecheckLast <= 0 {
		cfg.RecheckLast = DefaultRecheckLast
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Extractor{cfg: cfg, client: client, store: store, pub: pub}
}

// Handle plans a run (BatchID empty) or extracts one batch (BatchID set).
func (e *Extractor) Handle(ctx context.Context, req *contracts.ExtractionRequested) error {
	if req.RequestedAt.IsZero() {
		return messaging.Permanent(errors.New("extraction request has no requested_at"))
	}
	if req.BatchID == "" {
		return e.plan(ctx, req)
	}
	return e.extractBatch(ctx, req)
}

// plan resolves the run's years and fans them out as one command each, so several extractor
// instances share a backfill. The API's /years bounds the range: a year it does not list has
// nothing to fetch.
func (e *Extractor) plan(ctx context.Context, req *contracts.ExtractionRequested) error {
	mode := req.Mode
	if mode == "" {
		mode = contracts.ModeFull
	}
	if mode != contracts.ModeFull && mode != contracts.ModeIncremental {
		return messaging.Permanent(fmt.Errorf("plan run %s: unknown mode %q", req.RunID, req.Mode))
	}
	apiYears, err := e.client.Years(ctx)
	if errors.Is(err, gfnapi.ErrForbidden) {
		return messaging.Permanent(fmt.Errorf("plan run %s: %w", req.RunID, err))
	}
	if err != nil {
		return fmt.Errorf("plan run %s: %w", req.RunID, err)
	}
	if len(apiYears) == 0 {
		return fmt.Errorf("plan run %s: the API lists no years", req.RunID)
	}
	slices.Sort(apiYears)
	apiYears = slices.Compact(apiYears)
	from, to := req.FromYear, req.ToYear
	if from == 0 {
		from = apiYears[0]
	}
	if to == 0 {
		to = apiYears[len(apiYears)-1]
	}
	if from > to {
		return messaging.Permanent(fmt.Errorf("plan run %s: from_year %d is after to_year %d", req.RunID, from, to))
	}
	var years []int
	for _, y := range apiYears {
		if y >= from && y <= to {
			years = append(years, y)
		}
	}
	var fromRaw map[int]bool
	if mode == contracts.ModeIncremental {
		if years, fromRaw, err = e.incrementalYears(ctx, req, years); err != nil {
			return fmt.Errorf("plan run %s: %w", req.RunID, err)
		}
	}
	if len(years) == 0 {
		return messaging.Permanent(fmt.Errorf("plan run %s: the API has no years in %d..%d", req.RunID, from, to))
	}

	planned := &contracts.ExtractionPlanned{
		Header:    contracts.Header{RunID: req.RunID},
		Mode:      mode,
		PlannedAt: e.cfg.Now().UTC(),
		StartedAt: req.RequestedAt,
	}
	msgs := []contracts.Message{planned}
	for _, y := range years {
		id := contracts.BatchID(y, req.Countries, req.RecordTypes)
		planned.Batches = append(planned.Batches, contracts.PlannedBatch{BatchID: id, Year: y})
		msgs = append(msgs, &contracts.ExtractionRequested{
			Header:      contracts.Header{RunID: req.RunID, BatchID: id},
			Mode:        mode,
			FromYear:    y,
			ToYear:      y,
			Countries:   req.Countries,
			RecordTypes: req.RecordTypes,
			RecheckLast: req.RecheckLast,
			RequestedAt: req.RequestedAt,
			RequestedBy: req.RequestedBy,
			FromRaw:     fromRaw[y],
		})
	}
	if err := e.pub.Publish(ctx, msgs...); err != nil {
		return fmt.Errorf("plan run %s: publish: %w", req.RunID, err)
	}
	telemetry.Logger(ctx).Info("extraction planned", "mode", mode, "batches", len(years),
		"from_year", years[0], "to_year", years[len(years)-1], "from_raw", len(fromRaw))
	return nil
}

// incrementalYears keeps every year not loaded yet plus the newest RecheckLast. A year is
// loaded when the run that last landed its raw object recorded BatchLoaded for it in the run
// ledger. A year whose raw landed but never loaded is re-announced from raw (fromRaw), without
// the API; the rechecked years are fetched again, since GFN revises recent years.
func (e *Extractor) incrementalYears(ctx context.Context, req *contracts.ExtractionRequested, years []int) (out []int, fromRaw map[int]bool, err error) {
	recheck := req.RecheckLast
	if recheck <= 0 {
		recheck = e.cfg.RecheckLast
	}
	fromRaw = map[int]bool{}
	for i, y := range years {
		if i >= len(years)-recheck {
			out = append(out, y)
			continue
		}
		id := contracts.BatchID(y, req.Countries, req.RecordTypes)
		idx, err := e.loadIndex(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if idx == nil {
			out = append(out, y)
			continue
		}
		loaded, err := e.loaded(ctx, idx)
		if err != nil {
			return nil, nil, err
		}
		if !loaded {
			out = append(out, y)
			fromRaw[y] = true
		}
	}
	return out, fromRaw, nil
}

// loaded reports whether the run that last landed the batch's raw object loaded it.
func (e *Extractor) loaded(ctx context.Context, idx *lake.RawIndex) (bool, error) {
	key := lake.RunEventKey(idx.Last.RunID, idx.BatchID, (contracts.BatchLoaded{}).EventType())
	_, err := e.store.Head(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, lake.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("batch %s: read run ledger: %w", idx.BatchID, err)
}

// extractBatch fetches one year and lands it.
//
// A year the API answers 404 for lands nothing; the batch still completes with a
// RawBatchLanded of Records 0 and an empty Key (and SHA256), which downstream treats as an
// empty batch, so the run's planned batch count is still met.
func (e *Extractor) extractBatch(ctx context.Context, req *contracts.ExtractionRequested) error {
	year := req.FromYear
	if year == 0 || req.ToYear != year {
		return messaging.Permanent(fmt.Errorf("batch %s: want one year, got %d..%d", req.BatchID, req.FromYear, req.ToYear))
	}
	if want := contracts.BatchID(year, req.Countries, req.RecordTypes); req.BatchID != want {
		return messaging.Permanent(fmt.Errorf("batch %s: id does not match its year and filters (want %s)", req.BatchID, want))
	}
	log := telemetry.Logger(ctx).With("year", year)

	idx, err := e.loadIndex(ctx, req.BatchID)
	if err != nil {
		return err
	}
	if idx != nil && idx.Last.RunID == req.RunID && idx.Last.ExtractedAt.Equal(req.RequestedAt) {
		// This very request was handled before (a redelivery): say the same thing again.
		log.Info("batch already extracted for this request; re-publishing its event", "key", idx.Last.Key)
		return e.publish(ctx, &idx.Last)
	}

	if req.FromRaw && idx != nil {
		if done, err := e.reannounce(ctx, req, idx); done || err != nil {
			return err
		}
		log.Warn("raw object to reprocess is gone or changed; fetching from the API", "key", idx.Key)
	}

	body, err := e.client.DataAllYear(ctx, year)
	switch {
	case errors.Is(err, gfnapi.ErrNoData):
		log.Info("the API has no data for the year; batch is empty")
		return e.publish(ctx, &contracts.RawBatchLanded{
			Header: req.Header, Year: year, Bucket: e.store.Bucket(), ExtractedAt: req.RequestedAt,
		})
	case errors.Is(err, gfnapi.ErrForbidden):
		return messaging.Permanent(fmt.Errorf("batch %s: %w", req.BatchID, err))
	case errors.Is(err, gfnapi.ErrTooLarge):
		return e.reject(ctx, req, "response exceeds the size limit", err, nil)
	case err != nil:
		return fmt.Errorf("batch %s: %w", req.BatchID, err)
	}

	scan, err := scanRecords(body)
	if err != nil {
		return e.reject(ctx, req, "response is not a JSON array of records", err, body)
	}
	if len(scan.drift) > 0 {
		// Unknown fields are kept (raw is the API's bytes); the validator reports the drift, once
		// per run, and carries them in the extra column.
		log.Info("unknown API fields kept in raw", "fields", scan.driftFields(), "counts", scan.drift, "records", scan.records)
	}
	records := scan.records
	if len(req.Countries) > 0 || len(req.RecordTypes) > 0 {
		filtered, n, err := filterRecords(body, req.Countries, req.RecordTypes)
		if err != nil {
			return e.reject(ctx, req, "response records do not decode", err, body)
		}
		body, records = filtered, n
	}
	return e.land(ctx, req, year, body, records, idx)
}

// land writes content unless the batch's latest object already holds the same bytes. Raw
// objects are never overwritten: a taken key with other bytes gets a numbered suffix.
func (e *Extractor) land(ctx context.Context, req *contracts.ExtractionRequested, year int, content []byte, records int, idx *lake.RawIndex) error {
	log := telemetry.Logger(ctx).With("year", year)
	sum := sha256.Sum256(content)
	sha := hex.EncodeToString(sum[:])
	ev := contracts.RawBatchLanded{
		Header: req.Header, Year: year, Bucket: e.store.Bucket(), SHA256: sha, Records: records,
		ExtractedAt: req.RequestedAt,
	}
	if idx != nil && idx.SHA256 == sha {
		_, err := e.store.Head(ctx, idx.Key)
		switch {
		case err == nil:
			ev.Key, ev.Bytes, ev.Unchanged = idx.Key, idx.Bytes, true
			if err := e.saveIndex(ctx, idx.Key, ev); err != nil {
				return err
			}
			log.Info("raw batch unchanged", "key", ev.Key, "sha256", sha, "records", records)
			return e.publish(ctx, &ev)
		case errors.Is(err, lake.ErrNotFound):
			log.Warn("raw index names a missing object; landing again", "key", idx.Key)
		default:
			return fmt.Errorf("batch %s: %w", req.BatchID, err)
		}
	}

	obj := content
	if e.cfg.Gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(content); err != nil {
			return fmt.Errorf("batch %s: gzip: %w", req.BatchID, err)
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("batch %s: gzip: %w", req.BatchID, err)
		}
		obj = buf.Bytes()
	}
	meta := map[string]string{
		lake.MetaRunID:       req.RunID,
		lake.MetaBatchID:     req.BatchID,
		lake.MetaSHA256:      sha,
		lake.MetaRecords:     strconv.Itoa(records),
		lake.MetaExtractedAt: req.RequestedAt.UTC().Format(time.RFC3339Nano),
	}
	key, err := e.putNew(ctx, lake.RawKey(req.RequestedAt, req.BatchID), obj, sha, meta)
	if err != nil {
		return fmt.Errorf("batch %s: %w", req.BatchID, err)
	}
	ev.Key, ev.Bytes = key, int64(len(obj))
	ev.Revision = idx != nil && idx.SHA256 != sha
	if err := e.saveIndex(ctx, key, ev); err != nil {
		return err
	}
	log.Info("raw batch landed", "key", key, "sha256", sha, "records", records, "bytes", len(obj), "revision", ev.Revision)
	return e.publish(ctx, &ev)
}

// reannounce announces the batch's landed raw object for this run (a year that landed but
// never loaded), without calling the API. It reports false when the object is not intact.
func (e *Extractor) reannounce(ctx context.Context, req *contracts.ExtractionRequested, idx *lake.RawIndex) (bool, error) {
	o, err := e.store.Head(ctx, idx.Key)
	if errors.Is(err, lake.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("batch %s: %w", req.BatchID, err)
	}
	if o.Metadata[lake.MetaSHA256] != idx.SHA256 {
		return false, nil
	}
	ev := contracts.RawBatchLanded{
		Header: req.Header, Year: req.FromYear, Bucket: e.store.Bucket(), Key: idx.Key, SHA256: idx.SHA256,
		Records: idx.Records, Bytes: idx.Bytes, Unchanged: true, ExtractedAt: req.RequestedAt,
	}
	if err := e.saveIndex(ctx, idx.Key, ev); err != nil {
		return false, err
	}
	telemetry.Logger(ctx).Info("raw batch landed before but never loaded; announced again from raw", "year", req.FromYear, "key", idx.Key)
	return true, e.publish(ctx, &ev)
}

// maxKeySuffix bounds the search for a free key; more same-second versions mean a bug.
const maxKeySuffix = 100

// putNew writes obj at key, or at key-2.json, key-3.json... when key holds other bytes. A key
// already holding these bytes is ours from an attempt that stopped before saving the index.
func (e *Extractor) putNew(ctx context.Context, key string, obj []byte, sha string, meta map[string]string) (string, error) {
	base := strings.TrimSuffix(key, ".json")
	for n := 1; n <= maxKeySuffix; n++ {
		k := key
		if n > 1 {
			k = fmt.Sprintf("%s-%d.json", base, n)
		}
		err := e.store.PutIfAbsent(ctx, k, obj, meta)
		if err == nil {
			return k, nil
		}
		if !errors.Is(err, lake.ErrExists) {
			return "", fmt.Errorf("put %s: %w", k, err)
		}
		o, err := e.store.Head(ctx, k)
		if err != nil {
			return "", fmt.Errorf("head %s: %w", k, err)
		}
		if o.Metadata[lake.MetaSHA256] == sha {
			return k, nil
		}
	}
	return "", fmt.Errorf("put %s: %d versions already exist", key, maxKeySuffix)
}

func (e *Extractor) loadIndex(ctx context.Context, batchID string) (*lake.RawIndex, error) {
	b, _, err := e.store.Get(ctx, lake.RawIndexKey(batchID))
	if errors.Is(err, lake.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("batch %s: read raw index: %w", batchID, err)
	}
	var idx lake.RawIndex
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("batch %s: decode raw index: %w", batchID, err)
	}
	return &idx, nil
}

func (e *Extractor) saveIndex(ctx context.Context, key string, ev contracts.RawBatchLanded) error {
	b, err := json.Marshal(lake.RawIndex{BatchID: ev.BatchID, Key: key, SHA256: ev.SHA256, Records: ev.Records, Bytes: ev.Bytes, Last: ev})
	if err != nil {
		return fmt.Errorf("batch %s: encode raw index: %w", ev.BatchID, err)
	}
	if err := e.store.Put(ctx, lake.RawIndexKey(ev.BatchID), b, nil); err != nil {
		return fmt.Errorf("batch %s: write raw index: %w", ev.BatchID, err)
	}
	return nil
}

func (e *Extractor) publish(ctx context.Context, ev *contracts.RawBatchLanded) error {
	if err := e.pub.Publish(ctx, ev); err != nil {
		return fmt.Errorf("batch %s: publish RawBatchLanded: %w", ev.BatchID, err)
	}
	return nil
}

// bodyPrefixBytes is how much of a rejected body the failed/ object keeps for diagnosis.
const bodyPrefixBytes = 1024

// reject records why a response cannot be landed under failed/ and fails the message for good.
func (e *Extractor) reject(ctx context.Context, req *contracts.ExtractionRequested, reason string, cause error, body []byte) error {
	key := lake.FailedResponseKey(req.RequestedAt, req.BatchID)
	doc := lake.FailedResponse{
		Stage: contracts.ServiceExtractor, RunID: req.RunID, BatchID: req.BatchID, Year: req.FromYear,
		Reason: reason, Error: cause.Error(), ResponseBytes: len(body),
		ResponseStart: string(body[:min(len(body), bodyPrefixBytes)]), RequestedAt: req.RequestedAt,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("batch %s: encode failure record: %w", req.BatchID, err)
	}
	meta := map[string]string{
		lake.MetaRunID: req.RunID, lake.MetaBatchID: req.BatchID,
		lake.MetaExtractedAt: req.RequestedAt.UTC().Format(time.RFC3339Nano),
	}
	if err := e.store.Put(ctx, key, b, meta); err != nil {
		// Without the record the failure would be silent: let the message be retried.
		return fmt.Errorf("batch %s: %s (%w); write %s: %w", req.BatchID, reason, cause, key, err)
	}
	telemetry.Logger(ctx).Error("raw batch rejected", "year", req.FromYear, "reason", reason, "error", cause.Error(), "failed_key", key)
	return messaging.Permanent(fmt.Errorf("batch %s: %s (see %s): %w", req.BatchID, reason, key, cause))
}
