package progress_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/runledger"
	"github.com/gfnpipeline/tools/gfnctl/progress"
)

func TestCountsAndPlainLines(t *testing.T) {
	ctx := context.Background()
	store, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ledger := runledger.New(store)
	h := func(batch string) contracts.Header { return contracts.Header{RunID: "run-p", BatchID: batch} }
	var out bytes.Buffer
	d := progress.NewPlain(&out)
	record := func(ms ...contracts.Message) runledger.Run {
		t.Helper()
		for _, m := range ms {
			if err := ledger.Record(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		run, err := ledger.Load(ctx, "run-p")
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	run := record(&contracts.ExtractionPlanned{Header: h(""), Batches: []contracts.PlannedBatch{{BatchID: "ef-1"}, {BatchID: "ef-2"}, {BatchID: "ef-3"}}})
	d.Update(run)
	run = record(
		&contracts.RawBatchLanded{Header: h("ef-1"), Records: 10}, &contracts.BatchValidated{Header: h("ef-1")},
		&contracts.BatchTransformed{Header: h("ef-1")}, &contracts.BatchLoaded{Header: h("ef-1"), RowsLoaded: 9},
		&contracts.RawBatchLanded{Header: h("ef-2"), Records: 5}, &contracts.BatchQuarantined{Header: h("ef-2")},
		&contracts.BatchFailed{Header: h("ef-3"), Stage: "gfn-extractor"},
	)
	want := progress.Counts{Planned: 3, Landed: 2, Validated: 1, Loaded: 1, Failed: 2, RowsIn: 15, RowsLoaded: 9}
	if got := progress.FromRun(run); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	d.Update(run) // within the throttle interval: not printed yet
	d.Done()      // the newest counts are printed before the summary line
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "planned 3, landed 0") ||
		lines[1] != "progress run-p: planned 3, landed 2, validated 1, loaded 1, failed 2; rows in 15, loaded 9" {
		t.Fatalf("plain output:\n%s", out.String())
	}
	if strings.Contains(out.String(), "\x1b") || strings.Contains(out.String(), "\r") {
		t.Fatal("plain output has terminal controls")
	}
}
