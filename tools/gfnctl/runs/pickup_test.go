package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/runledger"
	"github.com/gfnpipeline/tools/gfnctl/runs"
)

func TestAwaitPickup(t *testing.T) {
	ctx := context.Background()
	depth := func(visible, inFlight int64) runs.Depth {
		return func(context.Context) (int64, int64, error) { return visible, inFlight, nil }
	}
	tests := []struct {
		name    string
		depth   runs.Depth
		planned bool
		want    error
	}{
		{"request waits, nobody receives", depth(1, 0), false, runs.ErrNoConsumer},
		{"queue drained", depth(0, 0), false, nil},
		{"consumer busy", depth(3, 1), false, nil},
		{"run planned", depth(1, 0), true, nil},
	}
	for _, tc := range tests {
		store, err := lake.NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if tc.planned {
			if err := runledger.New(store).Record(ctx, &contracts.ExtractionPlanned{Header: contracts.Header{RunID: "run-1"}}); err != nil {
				t.Fatal(err)
			}
		}
		err = runs.AwaitPickup(ctx, store, "run-1", "gfn-extractor", tc.depth, 50*time.Millisecond, 10*time.Millisecond)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
