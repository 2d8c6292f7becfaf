package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/tools/gfnctl/dlq"
	"github.com/gfnpipeline/tools/gfnctl/status"
)

func cmdStatus(ctx context.Context, args []string) error {
	return runStatus(ctx, args, os.Stdout)
}

func runStatus(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	lakeDir := fs.String("lake-dir", "", "read an embedded run's lake directory (e.g. data/lake) instead of S3; no queues there")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return errors.New("usage: gfnctl status [RUN_ID] [--json] [--lake-dir DIR]")
	}
	var (
		store lake.Store
		tool  *dlq.Tool
	)
	if *lakeDir != "" {
		if store, err = lake.NewDir(*lakeDir); err != nil {
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
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteTable(stdout)
}
