// Package runledger reads and writes the run ledger, the lake's record of how far each run got
// (metadata/runs/<run_id>/, keys from package lake). Every event is its own object, so any
// notifier instance can pick a run up and concurrent instances never overwrite each other; an
// outcome is claimed once (create-if-absent). The notifier writes it; gfnctl status, run
// --wait and the embedded run's progress read it.
package runledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
)

// Ledger reads and writes the run ledger.
type Ledger struct {
	store lake.Store
	cache *bodyCache
}

// New returns the ledger in store.
func New(store lake.Store) Ledger {
	return Ledger{store: store, cache: &bodyCache{m: map[string][]byte{}}}
}

// bodyCache keeps ledger objects already read: an event object's content never changes (a
// redelivery rewrites the same event), so each is fetched once, not once per event.
type bodyCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

// maxCached bounds the cache; past it, it starts over.
const maxCached = 100_000

func (c *bodyCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[key]
	return b, ok
}

func (c *bodyCache) put(key string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCached {
		c.m = map[string][]byte{}
	}
	c.m[key] = b
}

// EventKey is where the ledger keeps m; it also names the event that claimed an outcome.
func EventKey(m contracts.Message) string { return lake.RunEventKey(m.Run(), m.Batch(), m.EventType()) }

// Record stores an event in its run's ledger (a redelivery rewrites the same object).
func (l Ledger) Record(ctx context.Context, m contracts.Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	key := EventKey(m)
	if p, ok := m.(*contracts.ExtractionPlanned); ok {
		key = lake.RunPlanKey(p.RunID)
	}
	if err := l.store.Put(ctx, key, body, nil); err != nil {
		return fmt.Errorf("record %s for run %s: %w", m.EventType(), m.Run(), err)
	}
	return nil
}

// Reached reports whether m's batch has an event of one of the types in the ledger (a HEAD
// each, not a Load).
func (l Ledger) Reached(ctx context.Context, m contracts.Message, eventTypes ...string) (bool, error) {
	for _, t := range eventTypes {
		_, err := l.store.Head(ctx, lake.RunEventKey(m.Run(), m.Batch(), t))
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, lake.ErrNotFound):
			return false, fmt.Errorf("ledger of run %s: %w", m.Run(), err)
		}
	}
	return false, nil
}

// BatchState is what the ledger knows of one batch.
type BatchState struct {
	BatchID string `json:"batch_id"`
	Year    int    `json:"year"`
	// Stages maps an event type (RawBatchLanded, BatchValidated, ...) to its recorded event.
	Stages map[string]json.RawMessage `json:"stages"`
}

// Has reports whether the batch reached the stage.
func (b BatchState) Has(eventType string) bool { _, ok := b.Stages[eventType]; return ok }

// Run is a run's ledger.
type Run struct {
	RunID   string                       `json:"run_id"`
	Plan    *contracts.ExtractionPlanned `json:"plan,omitempty"`
	Batches map[string]*BatchState       `json:"batches"`
	// Outcomes maps RunCompleted / RunFailed to its claim.
	Outcomes map[string]*Outcome `json:"outcomes,omitempty"`
}

// Outcome is a claimed run outcome.
type Outcome struct {
	Type    string          `json:"type"`
	Message json.RawMessage `json:"message"`
	// ClaimedBy is the ledger key of the event that decided the outcome; its retry announces
	// a claim that was not announced.
	ClaimedBy string    `json:"claimed_by,omitempty"`
	ClaimedAt time.Time `json:"claimed_at,omitempty"`
	// Announced: the outcome was published.
	Announced bool `json:"-"`
}

// Decode returns the claimed message.
func (o *Outcome) Decode() (contracts.Message, error) { return contracts.Decode(o.Type, o.Message) }

// Load reads a run's ledger: the plan, which stage each batch reached, and the outcome.
func (l Ledger) Load(ctx context.Context, runID string) (Run, error) {
	r := Run{RunID: runID, Batches: map[string]*BatchState{}, Outcomes: map[string]*Outcome{}}
	announced := map[string]bool{}
	objs, err := l.store.List(ctx, lake.RunPrefix(runID))
	if err != nil {
		return r, fmt.Errorf("load run %s: %w", runID, err)
	}
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, lake.RunPrefix(runID))
		body, ok := l.cache.get(o.Key)
		if !ok {
			if body, _, err = l.store.Get(ctx, o.Key); err != nil {
				return r, fmt.Errorf("load run %s: %w", runID, err)
			}
			// An outcome is marked announced later; events cannot change.
			if !strings.HasPrefix(rest, lake.RunOutcomeDir) {
				l.cache.put(o.Key, body)
			}
		}
		switch {
		case rest == lake.RunPlanName:
			var p contracts.ExtractionPlanned
			if err := json.Unmarshal(body, &p); err != nil {
				return r, fmt.Errorf("run %s plan: %w", runID, err)
			}
			r.Plan = &p
		case strings.HasPrefix(rest, lake.RunOutcomeDir):
			name := strings.TrimSuffix(strings.TrimPrefix(rest, lake.RunOutcomeDir), ".json")
			if t, ok := strings.CutSuffix(name, lake.RunAnnouncedSuffix); ok {
				announced[t] = true
				continue
			}
			var o Outcome
			if err := json.Unmarshal(body, &o); err != nil {
				return r, fmt.Errorf("run %s outcome %s: %w", runID, name, err)
			}
			// A claim written before claims named their event was written after its publish.
			o.Announced = o.ClaimedBy == ""
			r.Outcomes[name] = &o
		case strings.HasPrefix(rest, lake.RunBatchesDir):
			parts := strings.Split(strings.TrimPrefix(rest, lake.RunBatchesDir), "/")
			if len(parts) != 2 {
				continue
			}
			b := r.batch(parts[0])
			b.Stages[strings.TrimSuffix(parts[1], ".json")] = body
		}
	}
	for t := range announced {
		if o, ok := r.Outcomes[t]; ok {
			o.Announced = true
		}
	}
	if r.Plan != nil {
		for _, pb := range r.Plan.Batches {
			r.batch(pb.BatchID).Year = pb.Year
		}
	}
	return r, nil
}

func (r *Run) batch(id string) *BatchState {
	b, ok := r.Batches[id]
	if !ok {
		b = &BatchState{BatchID: id, Stages: map[string]json.RawMessage{}}
		r.Batches[id] = b
	}
	return b
}

// SortedBatches lists the batches by id.
func (r Run) SortedBatches() []*BatchState {
	out := make([]*BatchState, 0, len(r.Batches))
	for _, b := range r.Batches {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BatchID < out[j].BatchID })
	return out
}

// ClaimOutcome writes the run's outcome once, naming the event that decided it (by, its
// EventKey); it reports false when another delivery already claimed it.
func (l Ledger) ClaimOutcome(ctx context.Context, m contracts.Message, by string, at time.Time) (bool, error) {
	body, err := json.Marshal(struct {
		Type      string            `json:"type"`
		Message   contracts.Message `json:"message"`
		ClaimedBy string            `json:"claimed_by"`
		ClaimedAt time.Time         `json:"claimed_at"`
	}{m.MessageType(), m, by, at.UTC()})
	if err != nil {
		return false, err
	}
	err = l.store.PutIfAbsent(ctx, lake.RunOutcomeKey(m.Run(), m.EventType()), body, nil)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, lake.ErrExists) {
		return false, nil
	}
	return false, fmt.Errorf("claim outcome of run %s: %w", m.Run(), err)
}

// MarkAnnounced records that the claimed outcome was published.
func (l Ledger) MarkAnnounced(ctx context.Context, m contracts.Message) error {
	if err := l.store.Put(ctx, lake.RunAnnouncedKey(m.Run(), m.EventType()), []byte("{}"), nil); err != nil {
		return fmt.Errorf("mark %s of run %s announced: %w", m.EventType(), m.Run(), err)
	}
	return nil
}

// ClaimAlert reports true the first time a batch's failure event is alerted.
func (l Ledger) ClaimAlert(ctx context.Context, m contracts.Message) (bool, error) {
	err := l.store.PutIfAbsent(ctx, lake.RunAlertKey(m.Run(), m.Batch(), m.EventType()), []byte("{}"), nil)
	if errors.Is(err, lake.ErrExists) {
		return false, nil
	}
	return err == nil, err
}

// OutcomeMessage is the run's announced outcome: RunCompleted when it completed (even after
// an earlier RunFailed), else RunFailed, else nil while it is running (or its outcome is
// claimed but not published yet).
func (r Run) OutcomeMessage() (contracts.Message, error) {
	for _, t := range []string{(contracts.RunCompleted{}).EventType(), (contracts.RunFailed{}).EventType()} {
		o, ok := r.Outcomes[t]
		if !ok || !o.Announced {
			continue
		}
		m, err := o.Decode()
		if err != nil {
			return nil, fmt.Errorf("run %s outcome: %w", r.RunID, err)
		}
		return m, nil
	}
	return nil, nil
}
