package lake_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
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
	// The two failed/ reports never share a key or a prefix.
	if k := lake.FailedResponseKey(at, "ef-2020"); k != "failed/responses/ecological_footprint/2026/03/04/error_20260304_050001_ef-2020.json" ||
		strings.HasPrefix(k, lake.FailedPrefix) || strings.HasPrefix(lake.FailedKey(at, "ef-2020"), lake.FailedResponsesPrefix) {
		t.Fatalf("failed response key %s", k)
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

// metadata/ as the package doc maps it.
func TestMetadataKeys(t *testing.T) {
	for got, want := range map[string]string{
		lake.SchemaKey:                                   "metadata/schemas/ecological_footprint_v1.json",
		lake.RawIndexKey("ef-2020"):                      "metadata/raw-index/ef-2020.json",
		lake.DLQAlertKey("gfn-loader-dlq", "m-1"):        "metadata/dlq-alerts/gfn-loader-dlq/m-1.json",
		lake.RunPlanKey("r1"):                            "metadata/runs/r1/plan.json",
		lake.RunEventKey("r1", "ef-2020", "BatchLoaded"): "metadata/runs/r1/batches/ef-2020/BatchLoaded.json",
		lake.RunEventKey("r1", "", "ExtractionPlanned"):  "metadata/runs/r1/batches/_run/ExtractionPlanned.json",
		lake.RunOutcomeKey("r1", "RunFailed"):            "metadata/runs/r1/outcome/RunFailed.json",
		lake.RunAnnouncedKey("r1", "RunFailed"):          "metadata/runs/r1/outcome/RunFailed.announced.json",
		lake.RunAlertKey("r1", "ef-2020", "BatchFailed"): "metadata/runs/r1/alerts/ef-2020/BatchFailed.json",
		lake.RunDriftKey("r1", "new field/x"):            "metadata/runs/r1/schema-drift/new%20field%2Fx",
		lake.RunQualityKey("r1"):                         "metadata/runs/r1/quality/soda.json",
	} {
		if got != want {
			t.Errorf("key %s, want %s", got, want)
		}
	}
}

// The two writers of the layout outside this package stay in step with it: contracts'
// bucket notification (it cannot import shared) and the Soda Lambda (Python).
func TestLayoutOutsideGo(t *testing.T) {
	for _, n := range contracts.DefaultTopology("b").Notifications {
		if n.Prefix != lake.TransformedRoot {
			t.Errorf("notification prefix %q, want lake.TransformedRoot %q", n.Prefix, lake.TransformedRoot)
		}
	}
	handler, err := os.ReadFile("../../soda/lambda/handler.py")
	if err != nil {
		t.Fatal(err)
	}
	if want := `f"` + lake.RunQualityKey("{run_id}") + `"`; !strings.Contains(string(handler), want) {
		t.Errorf("soda/lambda/handler.py does not write %s", want)
	}
}

// The topology's bucket notification (contracts cannot import this package) names the
// transformed files this package keys.
func TestTopologyNotifiesTransformedFiles(t *testing.T) {
	key, err := lake.TransformedKey(lake.RawKey(time.Now(), "b1"))
	if err != nil {
		t.Fatal(err)
	}
	n := contracts.DefaultTopology("").Notifications
	if len(n) != 1 || n[0].Prefix != lake.TransformedRoot || !strings.HasPrefix(key, n[0].Prefix) || !strings.HasSuffix(key, n[0].Suffix) {
		t.Errorf("topology notifications %+v do not match transformed key %s", n, key)
	}
}
