package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/tools/gfnctl/progress"
	"github.com/gfnpipeline/tools/gfnctl/replay"
	"github.com/gfnpipeline/tools/gfnctl/runs"
)

type replayFlags struct {
	from, to, runID string
	dryRun, wait    bool
	timeout         time.Duration
}

func newReplayCmd() *cobra.Command {
	var o replayFlags
	cmd := &cobra.Command{
		Use:   "replay --from DATE [--to DATE] [--run-id ID] [--dry-run] [--wait]",
		Short: "re-emit RawBatchLanded for raw objects extracted in a date range (no API call)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReplay(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.from, "from", "", "first extraction date, YYYY-MM-DD (UTC)")
	fs.StringVar(&o.to, "to", "", "last extraction date, YYYY-MM-DD (default: --from)")
	fs.StringVar(&o.runID, "run-id", "", "id of the new run (default: a fresh one)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "list the batches that would be replayed; send nothing")
	fs.BoolVar(&o.wait, "wait", false, "wait for the outcome and print the summary line")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "how long to wait for the outcome")
	return cmd
}

func runReplay(ctx context.Context, o replayFlags, stdout, stderr io.Writer) error {
	if o.from == "" {
		return errors.New("usage: gfnctl replay --from YYYY-MM-DD [--to YYYY-MM-DD] [--run-id ID] [--dry-run] [--wait]")
	}
	if o.to == "" {
		o.to = o.from
	}
	fromDay, err := time.Parse(time.DateOnly, o.from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	toDay, err := time.Parse(time.DateOnly, o.to)
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
	if o.runID == "" {
		o.runID = runs.NewRunID(now)
	}
	if o.dryRun {
		enc := json.NewEncoder(stdout)
		for _, b := range batches {
			b.RunID = o.runID
			if err := enc.Encode(b); err != nil {
				return err
			}
		}
		fmt.Fprintf(stderr, "dry run: would replay %d batches as run %s\n", len(batches), o.runID)
		return nil
	}
	pub, err := messaging.NewAWSPublisher(cfg, top, "gfnctl", platform.Logger("gfnctl", os.Getenv))
	if err != nil {
		return err
	}
	defer pub.Close() //nolint:errcheck // publishes are synchronous: Close has nothing left to send
	if err := replay.Emit(ctx, pub, o.runID, batches, now); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "replaying %d batches extracted %s..%s as run %s\n", len(batches), o.from, o.to, o.runID)
	if !o.wait {
		fmt.Fprintln(stdout, o.runID)
		return nil
	}
	waitCtx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	display := progress.NewPlain(stderr)
	if f, ok := stderr.(*os.File); ok {
		display = progress.New(f)
	}
	outcome, err := runs.Wait(waitCtx, store, o.runID, time.Second, runs.OnProgress(display.Update))
	display.Done()
	if outcome != nil {
		fmt.Fprintln(stdout, runs.SummaryLine(outcome))
	}
	if f, ok := outcome.(*contracts.RunFailed); ok && err == nil {
		err = fmt.Errorf("replay: %w", runs.FailedError(f))
	}
	return err
}
