package warehouse_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/telemetry"
	"github.com/gfnpipeline/shared/warehouse"
)

// A load into DuckDB as the loader does it: a Parquet file appends to RAW once per file name
// (Snowpipe's load history) and is merged into TRANSFORMED, one row per natural key (country,
// year, record type), the latest extraction winning.
func ExampleDuckDB_LoadFile() {
	ctx := telemetry.WithLogger(context.Background(), slog.New(slog.DiscardHandler))
	dir, err := os.MkdirTemp("", "warehouse-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// Three rows of one batch; the two for Brazil 2020 share a natural key.
	first, later := time.Date(2026, 3, 4, 6, 0, 0, 0, time.UTC), time.Date(2026, 3, 5, 6, 0, 0, 0, time.UTC)
	raw := lake.RawKey(later, "ef-2020")
	key, err := lake.TransformedKey(raw)
	if err != nil {
		fmt.Println(err)
		return
	}
	row := func(code int32, name string, value float64, at time.Time) contracts.Row {
		return contracts.Row{Year: 2020, CountryCode: code, CountryName: name, ShortName: name, RecordType: "EFConsTotGHA",
			Value: value, RunID: "run-1", BatchID: "ef-2020", SourceKey: raw, ExtractedAt: at}
	}
	file := filepath.Join(dir, filepath.Base(key))
	rows := []contracts.Row{row(21, "Brazil", 1.0, first), row(21, "Brazil", 1.5, later), row(79, "Germany", 2.5, later)}
	if err := parquet.WriteFile(file, rows); err != nil {
		fmt.Println(err)
		return
	}

	wh, err := warehouse.OpenDuckDB(filepath.Join(dir, "gfn.duckdb"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wh.Close()
	if err := wh.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for range 2 {
		res, err := wh.LoadFile(ctx, warehouse.FileLoad{LocalPath: file, FileName: key, RunID: "run-1", BatchID: "ef-2020"})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("rows loaded %d, already loaded %t, transformed rows %d\n", res.RowsLoaded, res.AlreadyLoaded, res.TableRows)
	}
	var rawRows int
	var brazil float64
	if err := wh.DB().QueryRowContext(ctx, "SELECT count(*) FROM "+warehouse.RawTable).Scan(&rawRows); err != nil {
		fmt.Println(err)
		return
	}
	if err := wh.DB().QueryRowContext(ctx, "SELECT value FROM "+warehouse.TransformedTable+" WHERE country_code = 21").Scan(&brazil); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("raw rows %d, Brazil 2020 value %.1f (the later extraction)\n", rawRows, brazil)
	// Output:
	// rows loaded 3, already loaded false, transformed rows 2
	// rows loaded 0, already loaded true, transformed rows 2
	// raw rows 3, Brazil 2020 value 1.5 (the later extraction)
}
