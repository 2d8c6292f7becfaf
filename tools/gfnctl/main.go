// Command gfnctl is the pipeline's operator CLI: start runs (embedded or on AWS), create the
// infrastructure, inspect and redrive dead-letter queues, replay, report.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/gfnpipeline/shared/telemetry"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{
	"run":    {"start a pipeline run (embedded with --embedded, else via the extractor queue)", cmdRun},
	"infra":  {"infra apply: create queues, DLQs, topics, subscriptions, bucket and notifications", cmdInfra},
	"report": {"footprint against biocapacity and Earth Overshoot Day, from the DuckDB warehouse", cmdReport},
	"load":   {"load transformed Parquet into DuckDB by hand (--force reloads loaded files)", cmdLoad},
	"dlq":    {"dlq list|peek|export|redrive|purge: inspect and redrive dead-letter queues", cmdDLQ},
	"status": {"status [RUN_ID]: a run's batches, outcome, queue and DLQ depths, last error", cmdStatus},
	"replay": {"replay --from DATE [--to DATE]: re-emit RawBatchLanded for raw objects (no API call)", cmdReplay},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Every command logs JSON (LOG_LEVEL), as the services do.
	slog.SetDefault(telemetry.Default("gfnctl"))
	if len(os.Args) < 2 || commands[os.Args[1]].run == nil {
		usage()
		os.Exit(2)
	}
	if code := exitCode(commands[os.Args[1]].run(ctx, os.Args[2:]), os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// exitCode is 0 for success and for help asked for (the flag package has printed it), else 1
// with the error on stderr.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "gfnctl:", err)
	return 1
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gfnctl <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, commands[n].summary)
	}
}
