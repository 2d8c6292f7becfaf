package lake_test

import (
	"testing"
	"time"

	"github.com/gfnpipeline/shared/lake"
)

func TestKeysFollowTheLayout(t *testing.T) {
	at := time.Date(2026, 3, 4, 6, 0, 1, 0, time.FixedZone("CET", 3600))
	raw := lake.RawKey(at, "ef-2020")
	if raw != "raw/ecological_footprint/year=2026/month=03/day=04/data_20260304_050001_ef-2020.json" {
		t.Fatalf("raw key %s", raw)
	}
	tests := []struct{ raw, want string }{
		{raw, "transformed/ecological_footprint/year=2026/month=03/day=04/data_20260304_050001_ef-2020.parquet"},
		// A second version landed in the same second keeps its own file name.
		{"raw/ecological_footprint/year=2026/month=03/day=04/data_20260304_050001_ef-2020-2.json",
			"transformed/ecological_footprint/year=2026/month=03/day=04/data_20260304_050001_ef-2020-2.parquet"},
	}
	for _, tc := range tests {
		if got, err := lake.TransformedKey(tc.raw); err != nil || got != tc.want {
			t.Errorf("TransformedKey(%s) = %s, %v", tc.raw, got, err)
		}
	}
	for _, bad := range []string{"staged/x.json", "raw/ecological_footprint/x.parquet"} {
		if _, err := lake.TransformedKey(bad); err == nil {
			t.Errorf("TransformedKey(%s) accepted", bad)
		}
	}
	if k := lake.FailedKey(at, "ef-2020"); k != "failed/ecological_footprint/2026/03/04/error_20260304_050001_ef-2020.json" {
		t.Fatalf("failed key %s", k)
	}
	if k := lake.StagedKey("run-1", "ef-2020"); k != "staged/ecological_footprint/run=run-1/ef-2020.ndjson" {
		t.Fatalf("staged key %s", k)
	}
}

func TestBatchOfKey(t *testing.T) {
	at := time.Date(2026, 3, 4, 6, 0, 1, 0, time.UTC)
	raw := lake.RawKey(at, "ef-2020")
	transformed, _ := lake.TransformedKey(raw)
	tests := []struct{ key, want string }{
		{raw, "ef-2020"},
		{transformed, "ef-2020"},
		{lake.StagedKey("run-1", "ef-2020"), ""},
		{"transformed/ecological_footprint/data_2026.parquet", ""},
		{"data_20260304_050001_x", ""},
	}
	for _, tc := range tests {
		if got := lake.BatchOfKey(tc.key); got != tc.want {
			t.Errorf("BatchOfKey(%s) = %q, want %q", tc.key, got, tc.want)
		}
	}
}
