package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gfnpipeline/contracts"
	loader "github.com/gfnpipeline/services/loader/service"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/shared/warehouse"
)

// DuckDB locks its file per process: these commands run while the loader is stopped.
const duckdbHelp = "the DuckDB warehouse file (the loader must not be running: DuckDB locks its file)"

func newReportCmd() *cobra.Command {
	var (
		path string
		top  int
	)
	cmd := &cobra.Command{
		Use:   "report",
		Short: "footprint against biocapacity and Earth Overshoot Day, from the DuckDB warehouse",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReport(cmd.Context(), path, top, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&path, "duckdb", filepath.Join("data", "gfn.duckdb"), duckdbHelp)
	cmd.Flags().IntVar(&top, "top", 10, "countries listed with the largest deficits and reserves")
	return cmd
}

func runReport(ctx context.Context, path string, top int, stdout io.Writer) (err error) {
	wh, err := openWarehouse(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, wh.Close()) }() // Close checkpoints the file Soda reads
	r, err := warehouse.ReadReport(ctx, wh.DB(), top)
	if err != nil {
		return err
	}
	return r.WriteText(stdout)
}

func openWarehouse(path string) (*warehouse.DuckDB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("warehouse %s: %w (run `make run` first)", path, err)
	}
	return warehouse.OpenDuckDB(path)
}

// newLoadCmd loads transformed Parquet files into DuckDB by hand; --force reloads files the
// load history already has (Snowpipe would skip them).
func newLoadCmd() *cobra.Command {
	var (
		path, lakeDir string
		force         bool
	)
	cmd := &cobra.Command{
		Use:   "load [--force] [--lake-dir DIR] KEY|PREFIX...",
		Short: "load transformed Parquet into DuckDB by hand (--force reloads loaded files)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("usage: gfnctl load [--force] [--lake-dir DIR] KEY|PREFIX...") //nolint:staticcheck // ST1005: a usage line
			}
			return runLoad(cmd.Context(), path, lakeDir, force, args, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&path, "duckdb", filepath.Join("data", "gfn.duckdb"), duckdbHelp)
	cmd.Flags().StringVar(&lakeDir, "lake-dir", "", "the embedded run's lake directory (default: the S3 bucket)")
	cmd.Flags().BoolVar(&force, "force", false, "reload files that were loaded before")
	return cmd
}

func runLoad(ctx context.Context, path, lakeDir string, force bool, args []string, stdout io.Writer) (err error) {
	var store lake.Store
	if lakeDir != "" {
		d, err := lake.NewDir(lakeDir)
		if err != nil {
			return err
		}
		store = d
	} else {
		cfg, err := loadAWS(ctx)
		if err != nil {
			return err
		}
		store = lake.NewS3(awsconfig.S3(cfg), platform.Topology(os.Getenv).Bucket)
	}
	wh, err := openWarehouse(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, wh.Close()) }() // Close checkpoints the file Soda reads
	if err := wh.Migrate(ctx); err != nil {
		return err
	}
	pub := printPublisher{enc: json.NewEncoder(stdout)}
	for _, arg := range args {
		keys := []string{arg}
		if strings.HasSuffix(arg, "/") {
			objs, err := store.List(ctx, arg)
			if err != nil {
				return err
			}
			keys = keys[:0]
			for _, o := range objs {
				keys = append(keys, o.Key)
			}
		}
		if err := loader.LoadFiles(ctx, store, wh, pub, force, keys...); err != nil {
			return err
		}
	}
	return nil
}

// printPublisher prints what the loader would announce, one JSON line each: a load by hand
// reports to the operator, not to the run ledger.
type printPublisher struct{ enc *json.Encoder }

func (p printPublisher) Publish(_ context.Context, msgs ...contracts.Message) error {
	for _, m := range msgs {
		if err := p.enc.Encode(m); err != nil {
			return err
		}
	}
	return nil
}
