package lake_test

import (
	"fmt"
	"time"

	"github.com/gfnpipeline/shared/lake"
)

// The keys one batch leaves in the bucket, from extraction to the run ledger. They depend
// only on the batch, the run and the extraction time, so a redelivery rewrites them.
func Example_batch() {
	extractedAt := time.Date(2026, 3, 4, 6, 0, 1, 0, time.UTC)
	runID, batchID := "run-20260304T060000Z", "ef-2020"

	raw := lake.RawKey(extractedAt, batchID)
	transformed, err := lake.TransformedKey(raw)
	if err != nil {
		fmt.Println(err)
	}
	fmt.Println(raw)
	fmt.Println(lake.RawIndexKey(batchID))
	fmt.Println(lake.StagedKey(runID, batchID))
	fmt.Println(lake.FailedKey(extractedAt, batchID))
	fmt.Println(transformed)
	fmt.Println(lake.RunEventKey(runID, batchID, "BatchLoaded"))
	fmt.Println(lake.RunQualityKey(runID))
	fmt.Println("batch of the Parquet file:", lake.BatchOfKey(transformed))
	// Output:
	// raw/ecological_footprint/year=2026/month=03/day=04/data_20260304_060001_ef-2020.json
	// metadata/raw-index/ef-2020.json
	// staged/ecological_footprint/run=run-20260304T060000Z/ef-2020.ndjson
	// failed/ecological_footprint/2026/03/04/error_20260304_060001_ef-2020.json
	// transformed/ecological_footprint/year=2026/month=03/day=04/data_20260304_060001_ef-2020.parquet
	// metadata/runs/run-20260304T060000Z/batches/ef-2020/BatchLoaded.json
	// metadata/runs/run-20260304T060000Z/quality/soda.json
	// batch of the Parquet file: ef-2020
}
