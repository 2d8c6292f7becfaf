package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/shared/warehouse/whtest"
	"github.com/gfnpipeline/tools/e2e/stack"
)

// A corpus with one quarantined year among healthy ones, as deployed: the run waits for every
// batch, loads every healthy year and fails naming one batch; an incremental run afterwards
// plans that year again (it never loaded), loads no file twice and leaves no year behind.
func TestQuarantinedYearStrandsNoHealthyYear(t *testing.T) {
	t.Parallel()
	simData := t.TempDir()
	years := []int{2017, 2018, 2019, 2020, 2021, 2022}
	const bad = 2018
	healthy := whtest.WriteCorpusWithBadYear(t, simData, years, bad)
	s := start(t, stack.Options{SimDataDir: simData})

	full, err := runPipeline(t, s)
	if err == nil || full.status != "failed" || full.failedBatches != 1 || full.batches != len(years) || full.rowsLoaded != healthy {
		t.Fatalf("full run %+v (%v): want failed with failed_batches=1 and every healthy year's %d rows", full, err, healthy)
	}
	inc, err := runPipeline(t, s, "--mode", "incremental")
	// The never-loaded year plus the newest three; the bad year is quarantined again.
	if err == nil || inc.status != "failed" || inc.failedBatches != 1 || inc.batches != 4 || inc.rowsLoaded != healthy {
		t.Fatalf("incremental run %+v (%v)", inc, err)
	}
	assertDLQsEmpty(t, s)
	s.Stop()
	wh, err := warehouse.OpenDuckDB(s.DuckDBPath())
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	var rows, rawRows, distinctYears, maxLoads int64
	db := wh.DB()
	for q, into := range map[string]*int64{
		"SELECT count(*) FROM " + warehouse.TransformedTable:             &rows,
		"SELECT count(*) FROM " + warehouse.RawTable:                     &rawRows,
		"SELECT count(DISTINCT year) FROM " + warehouse.TransformedTable: &distinctYears,
		"SELECT max(loads) FROM " + warehouse.LoadHistoryTable:           &maxLoads,
	} {
		if err := db.QueryRow(q).Scan(into); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if rows != int64(healthy) || rawRows != int64(healthy) || distinctYears != int64(len(years)-1) || maxLoads != 1 {
		t.Fatalf("warehouse: %d rows, %d in RAW, %d years, max loads %d; want %d, %d, %d, 1",
			rows, rawRows, distinctYears, maxLoads, healthy, healthy, len(years)-1)
	}
}

// Two runs over the same unchanged year at once (the schedule and a manual run, or a replay):
// both rewrite the same transformed file before the loader reads either notification (it is
// held back with SIGSTOP), and both complete; the file is loaded once.
func TestOverlappingRunsOverTheSameYearBothComplete(t *testing.T) {
	t.Parallel()
	simData := t.TempDir()
	if err := os.WriteFile(filepath.Join(simData, "data_all_2020.json"), whtest.RawYear(t, 2020), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, stack.Options{SimDataDir: simData})
	first, err := runPipeline(t, s)
	if err != nil || first.status != "completed" {
		t.Fatalf("first run %+v: %v", first, err)
	}
	if err := s.Signal("loader", syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			s.Signal("loader", syscall.SIGCONT)
		}
	}
	defer resume()
	var wg sync.WaitGroup
	results := make([]result, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runPipeline(t, s, "--timeout", "3m")
		}()
	}
	// Both runs have rewritten the file once the ledger holds three BatchTransformed for it.
	store := lake.NewS3(s3.NewFromConfig(s.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true }), s.Topology().Bucket)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		objs, err := store.List(context.Background(), lake.RunsPrefix)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, o := range objs {
			if strings.HasSuffix(o.Key, "/ef-2020/BatchTransformed.json") {
				n++
			}
		}
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs transformed the year", n)
		}
	}
	resume()
	wg.Wait()
	for i, r := range results {
		if errs[i] != nil || r.status != "completed" || r.rowsLoaded != first.rowsLoaded {
			t.Errorf("overlapping run %d: %+v (%v)", i, r, errs[i])
		}
	}
	assertDLQsEmpty(t, s)
	if st := loaderStatus(t, s); st.FilesLoaded != 1 || st.TableRows != int64(first.rowsLoaded) {
		t.Fatalf("loader: %+v, want one file loaded once", st)
	}
}
