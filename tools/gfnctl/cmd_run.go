package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/shared/telemetry"
	"github.com/gfnpipeline/tools/gfnapi-sim/sim"
	"github.com/gfnpipeline/tools/gfnctl/dlq"
	"github.com/gfnpipeline/tools/gfnctl/embedded"
	"github.com/gfnpipeline/tools/gfnctl/progress"
	"github.com/gfnpipeline/tools/gfnctl/runs"
)

type runFlags struct {
	embedded, wait, untilCompleted  bool
	dataDir, mode, years, countries string
	types                           string
	recheck                         int
	timeout, pickup                 time.Duration
}

func newRunCmd() *cobra.Command {
	var o runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "start a pipeline run (embedded with --embedded, else via the extractor queue)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPipeline(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.embedded, "embedded", false, "run every service in this process (in-memory bus, ./data lake, DuckDB)")
	fs.StringVar(&o.dataDir, "data-dir", embedded.DefaultDataDir(), "embedded: where the lake and gfn.duckdb live")
	fs.StringVar(&o.mode, "mode", contracts.ModeFull, "full or incremental")
	fs.StringVar(&o.years, "years", "", "year range A-B (default: every year the API reports)")
	fs.StringVar(&o.countries, "countries", "", "comma-separated GFN country codes (default: all)")
	fs.StringVar(&o.types, "types", "", "comma-separated record types (default: all)")
	fs.IntVar(&o.recheck, "recheck", 0, "incremental: newest years to extract again (default 3)")
	fs.BoolVar(&o.wait, "wait", false, "wait for the outcome and print the summary line (always on with --embedded)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "how long to wait for the outcome")
	fs.BoolVar(&o.untilCompleted, "until-completed", false, "with --wait: wait past a RunFailed for a later RunCompleted (after a DLQ redrive)")
	fs.DurationVar(&o.pickup, "pickup-timeout", 15*time.Second, "with --wait: fail when nothing receives the request from the extractor queue within this")
	return cmd
}

func runPipeline(ctx context.Context, o runFlags) error {
	req := contracts.ExtractionRequested{Mode: o.mode, RecheckLast: o.recheck, RequestedBy: "gfnctl"}
	var err error
	if req.FromYear, req.ToYear, err = parseYears(o.years); err != nil {
		return err
	}
	if req.Countries, err = parseInts(o.countries); err != nil {
		return fmt.Errorf("--countries: %w", err)
	}
	if o.types != "" {
		req.RecordTypes = strings.Split(o.types, ",")
	}
	if o.embedded {
		return runEmbedded(ctx, o.dataDir, req, o.timeout)
	}
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	top := platform.Topology(os.Getenv)
	pub, err := messaging.NewAWSPublisher(cfg, top, "gfnctl", platform.Logger("gfnctl", os.Getenv))
	if err != nil {
		return err
	}
	defer pub.Close() //nolint:errcheck // publishes are synchronous: Close has nothing left to send
	req, err = runs.Request(ctx, pub, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "requested run %s (%s)\n", req.RunID, req.Mode)
	if !o.wait {
		fmt.Println(req.RunID)
		return nil
	}
	waitCtx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var opts []runs.WaitOption
	if o.untilCompleted {
		opts = append(opts, runs.UntilCompleted())
	}
	// A ledger read is one small GET: poll often, so the wait adds little to the run.
	store := lake.NewS3(awsconfig.S3(cfg), top.Bucket)
	tool := &dlq.Tool{SQS: sqs.NewFromConfig(cfg), Topology: top}
	queue := top.Name(contracts.QueueExtractor)
	depth := func(ctx context.Context) (int64, int64, error) {
		d, err := tool.Depth(ctx, queue)
		return d.Visible, d.InFlight, err
	}
	if err := runs.AwaitPickup(waitCtx, store, req.RunID, queue, depth, o.pickup, 500*time.Millisecond); err != nil {
		return finish(req, nil, err)
	}
	display := progress.New(os.Stderr)
	outcome, err := runs.Wait(waitCtx, store, req.RunID, 250*time.Millisecond, append(opts, runs.OnProgress(display.Update))...)
	display.Done()
	return finish(req, outcome, err)
}

func runEmbedded(ctx context.Context, dataDir string, req contracts.ExtractionRequested, timeout time.Duration) error {
	cfg, err := platform.ParseEnv[embedded.Config]()
	if err != nil {
		return err
	}
	log, closeLog, err := embeddedLogger(dataDir)
	if err != nil {
		return err
	}
	defer closeLog()
	display := progress.New(os.Stderr)
	res, err := embedded.Run(ctx, embedded.Options{
		DataDir:    dataDir,
		SimDataDir: os.Getenv("GFN_DATA_DIR"),
		SimYears:   os.Getenv(sim.EnvServeYears),
		Config:     cfg,
		Request:    req,
		Timeout:    timeout,
		Logger:     log,
		Progress:   display.Update,
	})
	display.Done()
	for _, d := range res.DeadLetters {
		fmt.Fprintf(os.Stderr, "dead letter in %s: %s\n", d.Queue, d.Reason)
	}
	return finish(req, res.Outcome, err)
}

// embeddedLogger keeps the embedded run's log out of the way of its progress and summary:
// every line goes to a file under the run directory and warnings and errors to stderr too.
// LOG_LEVEL set means the person asked for the log: it goes to stderr at that level.
func embeddedLogger(dataDir string) (*slog.Logger, func(), error) {
	if os.Getenv("LOG_LEVEL") != "" {
		return platform.Logger("gfnctl", os.Getenv), func() {}, nil
	}
	dir := filepath.Join(dataDir, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("log directory: %w", err)
	}
	path := filepath.Join(dir, "run-"+time.Now().UTC().Format("20060102T150405Z")+".log")
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	fmt.Fprintf(os.Stderr, "log: %s (LOG_LEVEL=info shows it here)\n", path)
	toFile := telemetry.NewLogger(f, "gfnctl", "info").Handler()
	toStderr := telemetry.NewLogger(os.Stderr, "gfnctl", "warn").Handler()
	return slog.New(slog.NewMultiHandler(toFile, toStderr)), func() { _ = f.Close() }, nil
}

// finish prints the summary line; a failed or unfinished run is an error (exit 1).
func finish(req contracts.ExtractionRequested, outcome contracts.Message, err error) error {
	if outcome == nil {
		if req.RunID != "" {
			fmt.Printf("run=%s status=failed batches=0 rows_in=0 rows_loaded=0 rejected=0 seconds=%.1f failed_batches=0\n", req.RunID, time.Since(req.RequestedAt).Seconds())
		}
		if err == nil {
			err = errors.New("run ended without an outcome")
		}
		return err
	}
	fmt.Println(runs.SummaryLine(outcome))
	if f, ok := outcome.(*contracts.RunFailed); ok {
		return runs.FailedError(f)
	}
	return err
}

func parseYears(s string) (from, to int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		b = a
	}
	if from, err = strconv.Atoi(a); err == nil {
		to, err = strconv.Atoi(b)
	}
	if err != nil || from > to {
		return 0, 0, fmt.Errorf("--years %q: want A-B with A <= B", s)
	}
	return from, to, nil
}

func parseInts(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		out = append(out, n)
	}
	return out, nil
}
