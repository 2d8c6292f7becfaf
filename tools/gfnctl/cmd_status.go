package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/tools/gfnctl/dlq"
	"github.com/gfnpipeline/tools/gfnctl/status"
)

func newStatusCmd() *cobra.Command {
	var (
		asJSON  bool
		lakeDir string
	)
	cmd := &cobra.Command{
		Use:   "status [RUN_ID] [--json] [--lake-dir DIR]",
		Short: "a run's batches, outcome, queue and DLQ depths, last error (default: the newest run)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return errors.New("usage: gfnctl status [RUN_ID] [--json] [--lake-dir DIR]")
			}
			return runStatus(cmd.Context(), args, asJSON, lakeDir, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&lakeDir, "lake-dir", "", "read an embedded run's lake directory (e.g. data/lake) instead of S3; no queues there")
	return cmd
}

func runStatus(ctx context.Context, pos []string, asJSON bool, lakeDir string, stdout io.Writer) error {
	var err error
	var (
		store lake.Store
		tool  *dlq.Tool
	)
	if lakeDir != "" {
		if store, err = lake.NewDir(lakeDir); err != nil {
			return err
		}
	} else {
		cfg, err := loadAWS(ctx)
		if err != nil {
			return err
		}
		top := platform.Topology(os.Getenv)
		store = lake.NewS3(awsconfig.S3(cfg), top.Bucket)
		tool = &dlq.Tool{SQS: sqs.NewFromConfig(cfg), Topology: top}
	}
	runID := ""
	if len(pos) == 1 {
		runID = pos[0]
	} else if runID, err = status.Newest(ctx, store); err != nil && (tool == nil || !errors.Is(err, status.ErrNoRuns)) {
		return err
	}
	rep, err := status.Gather(ctx, store, tool, runID)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteTable(stdout)
}
