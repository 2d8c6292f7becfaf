package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/tools/gfnctl/dlq"
)

// errNotConfirmed: a destructive command was run without --yes.
var errNotConfirmed = errors.New("refusing without --yes")

const dlqHelp = `Inspect and redrive dead-letter queues.
Queues are base names (gfn-validator-dlq); GFN_NAME_PREFIX is put in front.
--filter: TERM[,TERM...], all must hold; TERM is FIELD OP VALUE with FIELD attr.NAME, error,
body or id and OP = (equals), != , ~ (contains), !~; e.g. attr.event_type=RawBatchLanded,
body~ef-2005, error~timeout. "\," is a comma inside a value.`

// newDLQCmd is `gfnctl dlq`; an unknown or missing subcommand fails with 1, as before cobra.
func newDLQCmd() *cobra.Command {
	cmd := group(&cobra.Command{
		Use:   "dlq",
		Short: "dlq list|peek|export|redrive|purge: inspect and redrive dead-letter queues",
		Long:  dlqHelp,
	}, exitFailure)
	cmd.AddCommand(newDLQListCmd(), newDLQPeekCmd(), newDLQExportCmd(), newDLQRedriveCmd(), newDLQPurgeCmd())
	return cmd
}

func newDLQTool(ctx context.Context) (*dlq.Tool, error) {
	cfg, err := loadAWS(ctx)
	if err != nil {
		return nil, err
	}
	return &dlq.Tool{SQS: sqs.NewFromConfig(cfg), Topology: platform.Topology(os.Getenv)}, nil
}

// withDLQTool is a dlq subcommand's RunE: args must number nargs (else usage is the error),
// check validates flags before AWS is reached (nil: none), then run gets the DLQ tool.
func withDLQTool(nargs int, usage string, check func() error,
	run func(cmd *cobra.Command, tool *dlq.Tool, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != nargs {
			return errors.New("usage: gfnctl dlq " + usage)
		}
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		tool, err := newDLQTool(cmd.Context())
		if err != nil {
			return err
		}
		return run(cmd, tool, args)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newDLQListCmd() *cobra.Command {
	var (
		asJSON bool
		sample int
	)
	cmd := &cobra.Command{
		Use:   "list [--json] [--sample N]",
		Short: "every DLQ: depth and age of the oldest message",
		Args:  cobra.NoArgs,
		RunE: withDLQTool(0, "list [--json] [--sample N]", nil, func(cmd *cobra.Command, tool *dlq.Tool, _ []string) error {
			return dlqList(cmd.Context(), tool, asJSON, sample, cmd.OutOrStdout())
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per DLQ")
	cmd.Flags().IntVar(&sample, "sample", 100, "messages read (then handed back) per DLQ to find the oldest; 0 reads none")
	return cmd
}

func dlqList(ctx context.Context, tool *dlq.Tool, asJSON bool, sample int, stdout io.Writer) error {
	list, err := tool.List(ctx, sample, time.Now())
	if err != nil {
		return err
	}
	if asJSON || !isTerminal(stdout) {
		enc := json.NewEncoder(stdout)
		for _, q := range list {
			if err := enc.Encode(q); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DLQ\tMESSAGES\tVISIBLE\tIN FLIGHT\tOLDEST AGE")
	for _, q := range list {
		age := "-"
		if q.OldestSentAt != nil {
			age = (time.Duration(q.OldestAgeSeconds) * time.Second).String()
			if !q.AgeExact {
				age = ">= " + age + fmt.Sprintf(" (of %d read)", q.AgeSampled)
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", q.DLQ, q.Messages, q.Visible, q.InFlight, age)
	}
	return tw.Flush()
}

func newDLQPeekCmd() *cobra.Command {
	var (
		n      int
		filter string
		f      dlq.Filter
	)
	parse := func() (err error) { f, err = dlq.ParseFilter(filter); return err }
	cmd := &cobra.Command{
		Use:   "peek <queue> [-n N] [--filter EXPR]",
		Short: "bodies and attributes of messages, nothing consumed",
		RunE: withDLQTool(1, "peek <queue> [-n N] [--filter EXPR]", parse, func(cmd *cobra.Command, tool *dlq.Tool, args []string) error {
			return dlqPeek(cmd.Context(), tool, args[0], n, f, cmd.OutOrStdout())
		}),
	}
	cmd.Flags().IntVarP(&n, "n", "n", 10, "messages to show (0: all)")
	cmd.Flags().StringVar(&filter, "filter", "", "show only messages matching EXPR")
	return cmd
}

func dlqPeek(ctx context.Context, tool *dlq.Tool, queue string, n int, f dlq.Filter, stdout io.Writer) error {
	msgs, err := tool.Peek(ctx, queue, n, f)
	enc := json.NewEncoder(stdout)
	if isTerminal(stdout) {
		enc.SetIndent("", "  ")
	}
	for _, m := range msgs {
		if eerr := enc.Encode(m); eerr != nil {
			return eerr
		}
	}
	return err
}

func newDLQExportCmd() *cobra.Command {
	var (
		filter string
		f      dlq.Filter
	)
	parse := func() (err error) { f, err = dlq.ParseFilter(filter); return err }
	cmd := &cobra.Command{
		Use:   "export <queue> FILE.jsonl [--filter EXPR]",
		Short: `every message to a JSON lines file (FILE "-" is standard output), nothing consumed`,
		RunE: withDLQTool(2, "export <queue> FILE.jsonl [--filter EXPR]", parse, func(cmd *cobra.Command, tool *dlq.Tool, args []string) error {
			return dlqExport(cmd.Context(), tool, args[0], args[1], f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	cmd.Flags().StringVar(&filter, "filter", "", "export only messages matching EXPR")
	return cmd
}

func dlqExport(ctx context.Context, tool *dlq.Tool, queue, path string, f dlq.Filter, stdout, stderr io.Writer) error {
	if path == "-" {
		n, err := tool.Export(ctx, queue, f, stdout)
		fmt.Fprintf(stderr, "exported %d messages of %s to standard output\n", n, tool.Name(queue))
		return err
	}
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	w := bufio.NewWriter(file)
	n, err := tool.Export(ctx, queue, f, w)
	// A file that cannot be written to the end is a failed export: flush and close count.
	if ferr := errors.Join(w.Flush(), file.Close()); ferr != nil {
		err = errors.Join(err, fmt.Errorf("export: write %s: %w", path, ferr))
	}
	if err != nil {
		fmt.Fprintf(stderr, "export of %s to %s failed after %d messages\n", tool.Name(queue), path, n)
		return err
	}
	fmt.Fprintf(stderr, "exported %d messages of %s to %s\n", n, tool.Name(queue), path)
	return nil
}

func newDLQPurgeCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "purge <dlq> --yes",
		Short: "delete every message of a DLQ (export them first)",
		RunE: withDLQTool(1, "purge <dlq> --yes", nil, func(cmd *cobra.Command, tool *dlq.Tool, args []string) error {
			return dlqPurge(cmd.Context(), tool, args[0], yes, cmd.OutOrStdout())
		}),
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "really delete every message")
	return cmd
}

func dlqPurge(ctx context.Context, tool *dlq.Tool, queue string, yes bool, stdout io.Writer) error {
	name := tool.Name(queue)
	if _, err := dlq.SourceOf(name); err != nil {
		return err
	}
	d, err := tool.Depth(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s holds %d messages (%d visible, %d in flight)\n", name, d.Total(), d.Visible, d.InFlight)
	if !yes {
		return fmt.Errorf("dlq purge %s: %w (export them first: gfnctl dlq export %s FILE.jsonl)", name, errNotConfirmed, queue)
	}
	n, err := tool.Purge(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "purged %s (%d messages)\n", name, n)
	return nil
}

type redriveFlags struct {
	to, filter, method string
	maxN               int
	rate               float64
	dryRun, cancel     bool
	hold, watch        time.Duration
}

func newDLQRedriveCmd() *cobra.Command {
	var o redriveFlags
	cmd := &cobra.Command{
		Use:   "redrive <dlq> [--to source|<queue>] [--filter EXPR] [--max N] [--rate N] [--dry-run] [--method auto|native|copy] [--hold D] [--watch D] | --cancel",
		Short: "move messages back to their queue (native move task when available, else send-then-delete)",
		RunE: withDLQTool(1, "redrive <dlq> [--to source|<queue>] [--filter EXPR] [--max N] [--rate N] [--dry-run] | --cancel", nil,
			func(cmd *cobra.Command, tool *dlq.Tool, args []string) error {
				return dlqRedrive(cmd.Context(), tool, args[0], o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			}),
	}
	fs := cmd.Flags()
	fs.StringVar(&o.to, "to", "source", `"source" (the DLQ's own queue) or another queue`)
	fs.StringVar(&o.filter, "filter", "", "move only messages matching EXPR; others stay in the DLQ")
	fs.IntVar(&o.maxN, "max", 0, "move at most N messages (0: all)")
	fs.Float64Var(&o.rate, "rate", 0, "move at most N messages a second (0: unlimited)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "list what would move; change nothing")
	fs.BoolVar(&o.cancel, "cancel", false, "cancel the DLQ's running native move task")
	fs.StringVar(&o.method, "method", dlq.MethodAuto, "auto (native StartMessageMoveTask when possible, else copy), native or copy")
	fs.DurationVar(&o.hold, "hold", 2*time.Minute, "how long messages read but not moved stay hidden if gfnctl dies before handing them back")
	fs.DurationVar(&o.watch, "watch", 10*time.Second, "copy: after the last move, watch the DLQ this long and report moved messages that came back")
	return cmd
}

func dlqRedrive(ctx context.Context, tool *dlq.Tool, queue string, o redriveFlags, stdout, stderr io.Writer) error {
	if o.cancel {
		handle, err := tool.Cancel(ctx, queue)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cancelled move task %s on %s\n", handle, tool.Name(queue))
		return nil
	}
	f, err := dlq.ParseFilter(o.filter)
	if err != nil {
		return err
	}
	tool.HoldFor = o.hold
	out := newRedriveOutput(stdout, stderr)
	res, err := tool.Redrive(ctx, queue, dlq.RedriveOptions{
		To: o.to, Filter: f, Max: o.maxN, Rate: o.rate, DryRun: o.dryRun, Method: o.method, Progress: out.progress, Watch: o.watch,
	})
	out.summary(res, err)
	if err != nil {
		return err
	}
	if res.Failed > 0 {
		return fmt.Errorf("%d messages could not be redriven; they stay in %s", res.Failed, res.DLQ)
	}
	return nil
}

// redriveOutput shows a progress bar on a terminal (stderr), else JSON lines on stdout: one
// per batch or poll, one per message a dry run would move, and a final summary.
type redriveOutput struct {
	tty    bool
	stdout io.Writer
	stderr io.Writer
	enc    *json.Encoder
	start  time.Time
}

func newRedriveOutput(stdout, stderr io.Writer) *redriveOutput {
	return &redriveOutput{tty: isTerminal(stderr), stdout: stdout, stderr: stderr, enc: json.NewEncoder(stdout), start: time.Now()}
}

func (o *redriveOutput) progress(p dlq.Progress) {
	if !o.tty {
		o.enc.Encode(p) //nolint:errcheck // a progress line; the summary and exit code carry the result
		return
	}
	switch p.Event {
	case "fallback":
		fmt.Fprintf(o.stderr, "native move unavailable, copying instead (%s)\n", p.Note)
	case "would_move":
		m := p.Message
		fmt.Fprintf(o.stderr, "would move %s (original %s) %s run=%s error=%q\n", m.MessageID, m.OriginalID, m.EventType, m.RunID, m.Error)
	default:
		const width = 30
		filled := width
		if p.Total > 0 {
			filled = min(width, int(int64(p.Moved)*width/p.Total))
		}
		perSec := float64(p.Moved) / max(time.Since(o.start).Seconds(), 0.001)
		fmt.Fprintf(o.stderr, "\r[%s%s] %d/%d moved  %d skipped  %d failed  %.0f msg/s ",
			strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.Moved, p.Total, p.Skipped, p.Failed, perSec)
	}
}

func (o *redriveOutput) summary(r dlq.Result, err error) {
	if !o.tty {
		line := struct {
			Event string `json:"event"`
			dlq.Result
			Error string `json:"error,omitempty"`
		}{Event: "summary", Result: r}
		if err != nil {
			line.Error = err.Error()
		}
		o.enc.Encode(line) //nolint:errcheck // stdout gone: the exit code still carries the result
		return
	}
	verb := "moved"
	n := r.Moved
	if r.DryRun {
		verb, n = "would move", r.WouldMove
	}
	fmt.Fprintf(o.stderr, "\n%s -> %s (%s): %s %d, skipped %d, failed %d in %.1f s\n", r.DLQ, r.Destination, r.Method, verb, n, r.Skipped, r.Failed, r.Seconds)
	if r.DeleteFailed > 0 {
		fmt.Fprintf(o.stderr, "%d messages were sent but are still in the DLQ: a rerun sends them again (consumers are idempotent)\n", r.DeleteFailed)
	}
	if r.CameBack > 0 {
		fmt.Fprintf(o.stderr, "%d moved messages came back to %s (they fail again; not moved twice): gfnctl dlq peek %s\n", r.CameBack, r.DLQ, r.DLQ)
	}
	if r.Arrived > 0 {
		fmt.Fprintf(o.stderr, "%d other messages reached %s during the redrive and were left there\n", r.Arrived, r.DLQ)
	}
	if r.InFlightLeft > 0 {
		fmt.Fprintf(o.stderr, "%d messages are in flight in %s (held by another reader); run redrive again once they are visible\n", r.InFlightLeft, r.DLQ)
	}
}
