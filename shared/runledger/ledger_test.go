package runledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/runledger"
)

// A run's events read back as its plan and each batch's stages; its outcome is claimed once
// and is the run's outcome only once announced.
func TestLedgerRoundTrip(t *testing.T) {
	ctx := context.Background()
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := runledger.New(store)
	plan := &contracts.ExtractionPlanned{Header: contracts.Header{RunID: "run-1"},
		Batches: []contracts.PlannedBatch{{BatchID: "ef-2020", Year: 2020}, {BatchID: "ef-2021", Year: 2021}}}
	landed := &contracts.RawBatchLanded{Header: contracts.Header{RunID: "run-1", BatchID: "ef-2020"}, Records: 5}
	loaded := &contracts.BatchLoaded{Header: contracts.Header{RunID: "run-1", BatchID: "ef-2020"}, RowsLoaded: 5}
	for _, m := range []contracts.Message{plan, landed, loaded, loaded} {
		if err := l.Record(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	run, err := l.Load(ctx, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if run.Plan == nil || len(run.Plan.Batches) != 2 {
		t.Fatalf("plan: %+v", run.Plan)
	}
	got := run.SortedBatches()
	if len(got) != 2 || got[0].BatchID != "ef-2020" || got[0].Year != 2020 || got[1].Year != 2021 {
		t.Fatalf("batches: %+v", got)
	}
	if !got[0].Has(landed.EventType()) || !got[0].Has(loaded.EventType()) || len(got[0].Stages) != 2 || len(got[1].Stages) != 0 {
		t.Fatalf("stages: %+v / %+v", got[0].Stages, got[1].Stages)
	}

	outcome := &contracts.RunCompleted{Header: contracts.Header{RunID: "run-1"}}
	by := runledger.EventKey(loaded)
	for i, want := range []bool{true, false} {
		claimed, err := l.ClaimOutcome(ctx, outcome, by, time.Now())
		if err != nil || claimed != want {
			t.Fatalf("claim %d: %v, %v (want %v)", i, claimed, err, want)
		}
	}
	if run, err = l.Load(ctx, "run-1"); err != nil {
		t.Fatal(err)
	}
	if o := run.Outcomes[outcome.EventType()]; o == nil || o.Announced || o.ClaimedBy != by {
		t.Fatalf("claimed outcome: %+v", o)
	}
	if m, err := run.OutcomeMessage(); m != nil || err != nil {
		t.Fatalf("outcome before it is announced: %v, %v", m, err)
	}
	if err := l.MarkAnnounced(ctx, outcome); err != nil {
		t.Fatal(err)
	}
	if run, err = l.Load(ctx, "run-1"); err != nil {
		t.Fatal(err)
	}
	if m, err := run.OutcomeMessage(); err != nil || m == nil || m.EventType() != outcome.EventType() || m.Run() != "run-1" {
		t.Fatalf("announced outcome: %v, %v", m, err)
	}
}

// A batch's failure is alerted once however often it is delivered.
func TestClaimAlertOnce(t *testing.T) {
	ctx := context.Background()
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := runledger.New(store)
	m := &contracts.BatchQuarantined{Header: contracts.Header{RunID: "run-1", BatchID: "ef-2020"}}
	for i, want := range []bool{true, false} {
		if first, err := l.ClaimAlert(ctx, m); err != nil || first != want {
			t.Fatalf("claim %d: %v, %v (want %v)", i, first, err, want)
		}
	}
}
