package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/shared/telemetry"
	"github.com/gfnpipeline/tools/gfnctl/progress"
	"github.com/gfnpipeline/tools/gfnctl/replay"
	"github.com/gfnpipeline/tools/gfnctl/runs"
)

func cmdReplay(ctx context.Context, args []string) error {
	return runReplay(ctx, args, os.Stdout, os.Stderr)
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	from := fs.String("from", "", "first extraction date, YYYY-MM-DD (UTC)")
	to := fs.String("to", "", "last extraction date, YYYY-MM-DD (default: --from)")
	runID := fs.String("run-id", "", "id of the new run (default: a fresh one)")
	dryRun := fs.Bool("dry-run", false, "list the batches that would be replayed; send nothing")
	wait := fs.Bool("wait", false, "wait for the outcome and print the summary line")
	timeout := fs.Duration("timeout", 30*time.Minute, "how long to wait for the outcome")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *from == "" {
		return errors.New("usage: gfnctl replay --from YYYY-MM-DD [--to YYYY-MM-DD] [--run-id ID] [--dry-run] [--wait]")
	}
	if *to == "" {
		to = from
	}
	fromDay, err := time.Parse(time.DateOnly, *from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	toDay, err := time.Parse(time.DateOnly, *to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	top := platform.Topology(os.Getenv)
	store := lake.NewS3(awsconfig.S3(cfg), top.Bucket)
	batches, err := replay.Plan(ctx, store, fromDay, toDay)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if *runID == "" {
		*runID = runs.NewRunID(now)
	}
	if *dryRun {
		enc := json.NewEncoder(stdout)
		for _, b := range batches {
			b.RunID = *runID
			if err := enc.Encode(b); err != nil {
				return err
			}
		}
		fmt.Fprintf(stderr, "dry run: would replay %d batches as run %s\n", len(batches), *runID)
		return nil
	}
	pub, err := messaging.NewAWSPublisher(cfg, top, "gfnctl", telemetry.Default("gfnctl"))
	if err != nil {
		return err
	}
	defer pub.Close() //nolint:errcheck // publishes are synchronous: Close has nothing left to send
	if err := replay.Emit(ctx, pub, *runID, batches, now); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "replaying %d batches extracted %s..%s as run %s\n", len(batches), *from, *to, *runID)
	if !*wait {
		fmt.Fprintln(stdout, *runID)
		return nil
	}
	waitCtx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	display := progress.NewPlain(stderr)
	if f, ok := stderr.(*os.File); ok {
		display = progress.New(f)
	}
	outcome, err := runs.Wait(waitCtx, store, *runID, time.Second, runs.OnProgress(display.Update))
	display.Done()
	if outcome != nil {
		fmt.Fprintln(stdout, runs.SummaryLine(outcome))
	}
	if f, ok := outcome.(*contracts.RunFailed); ok && err == nil {
		err = fmt.Errorf("replay %s failed at batch %s: %s", f.RunID, f.FailedBatch, f.Reason)
	}
	return err
}
