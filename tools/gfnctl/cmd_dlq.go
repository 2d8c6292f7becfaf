package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/term"

	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/tools/gfnctl/dlq"
)

// errNotConfirmed: a destructive command was run without --yes.
var errNotConfirmed = errors.New("refusing without --yes")

const dlqUsage = `usage:
  gfnctl dlq list [--json] [--sample N]
  gfnctl dlq peek <queue> [-n N] [--filter EXPR]
  gfnctl dlq export <queue> FILE.jsonl [--filter EXPR]     (FILE "-" is standard output)
  gfnctl dlq redrive <dlq> [--to source|<queue>] [--filter EXPR] [--max N] [--rate N] [--dry-run]
                          [--method auto|native|copy] [--hold D]
  gfnctl dlq redrive <dlq> --cancel
  gfnctl dlq purge <dlq> --yes
Queues are base names (gfn-validator-dlq); GFN_NAME_PREFIX is put in front.
--filter: TERM[,TERM...], all must hold; TERM is FIELD OP VALUE with FIELD attr.NAME, error,
body or id and OP = (equals), != , ~ (contains), !~; e.g. attr.event_type=RawBatchLanded,
body~ef-2005, error~timeout. "\," is a comma inside a value.`

func cmdDLQ(ctx context.Context, args []string) error {
	return runDLQ(ctx, args, os.Stdout, os.Stderr)
}

func runDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(dlqUsage) //nolint:staticcheck // ST1005: the usage text is the message
	}
	sub, args := args[0], args[1:]
	cmds := map[string]func(context.Context, *dlq.Tool, []string, io.Writer, io.Writer) error{
		"list": dlqList, "peek": dlqPeek, "export": dlqExport, "redrive": dlqRedrive, "purge": dlqPurge,
	}
	fn, ok := cmds[sub]
	if !ok {
		return fmt.Errorf("dlq %q: unknown subcommand\n%s", sub, dlqUsage)
	}
	tool, err := newDLQTool(ctx)
	if err != nil {
		return err
	}
	return fn(ctx, tool, args, stdout, stderr)
}

func newDLQTool(ctx context.Context) (*dlq.Tool, error) {
	cfg, err := loadAWS(ctx)
	if err != nil {
		return nil, err
	}
	return &dlq.Tool{SQS: sqs.NewFromConfig(cfg), Topology: platform.Topology(os.Getenv)}, nil
}

// parseInterspersed parses flags that may come before or after positional arguments
// (`dlq peek gfn-validator-dlq -n 5`), which the flag package alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func dlqList(ctx context.Context, tool *dlq.Tool, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("dlq list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per DLQ")
	sample := fs.Int("sample", 100, "messages read (then handed back) per DLQ to find the oldest; 0 reads none")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	list, err := tool.List(ctx, *sample, time.Now())
	if err != nil {
		return err
	}
	if *asJSON || !isTerminal(stdout) {
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

func dlqPeek(ctx context.Context, tool *dlq.Tool, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("dlq peek", flag.ContinueOnError)
	n := fs.Int("n", 10, "messages to show (0: all)")
	filter := fs.String("filter", "", "show only messages matching EXPR")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: gfnctl dlq peek <queue> [-n N] [--filter EXPR]")
	}
	f, err := dlq.ParseFilter(*filter)
	if err != nil {
		return err
	}
	msgs, err := tool.Peek(ctx, pos[0], *n, f)
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

func dlqExport(ctx context.Context, tool *dlq.Tool, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("dlq export", flag.ContinueOnError)
	filter := fs.String("filter", "", "export only messages matching EXPR")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return errors.New("usage: gfnctl dlq export <queue> FILE.jsonl [--filter EXPR]")
	}
	f, err := dlq.ParseFilter(*filter)
	if err != nil {
		return err
	}
	w := stdout
	if pos[1] != "-" {
		file, err := os.Create(pos[1])
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer func() { err = errors.Join(err, file.Close()) }()
		w = file
	}
	n, err := tool.Export(ctx, pos[0], f, w)
	fmt.Fprintf(stderr, "exported %d messages of %s to %s\n", n, tool.Name(pos[0]), pos[1])
	return err
}

func dlqPurge(ctx context.Context, tool *dlq.Tool, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("dlq purge", flag.ContinueOnError)
	yes := fs.Bool("yes", false, "really delete every message")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: gfnctl dlq purge <dlq> --yes")
	}
	name := tool.Name(pos[0])
	if _, err := dlq.SourceOf(name); err != nil {
		return err
	}
	d, err := tool.Depth(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s holds %d messages (%d visible, %d in flight)\n", name, d.Total(), d.Visible, d.InFlight)
	if !*yes {
		return fmt.Errorf("dlq purge %s: %w (export them first: gfnctl dlq export %s FILE.jsonl)", name, errNotConfirmed, pos[0])
	}
	n, err := tool.Purge(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "purged %s (%d messages)\n", name, n)
	return nil
}

func dlqRedrive(ctx context.Context, tool *dlq.Tool, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dlq redrive", flag.ContinueOnError)
	to := fs.String("to", "source", `"source" (the DLQ's own queue) or another queue`)
	filter := fs.String("filter", "", "move only messages matching EXPR; others stay in the DLQ")
	maxN := fs.Int("max", 0, "move at most N messages (0: all)")
	rate := fs.Float64("rate", 0, "move at most N messages a second (0: unlimited)")
	dryRun := fs.Bool("dry-run", false, "list what would move; change nothing")
	cancel := fs.Bool("cancel", false, "cancel the DLQ's running native move task")
	method := fs.String("method", dlq.MethodAuto, "auto (native StartMessageMoveTask when possible, else copy), native or copy")
	hold := fs.Duration("hold", 2*time.Minute, "how long messages read but not moved stay hidden if gfnctl dies before handing them back")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: gfnctl dlq redrive <dlq> [--to source|<queue>] [--filter EXPR] [--max N] [--rate N] [--dry-run] | --cancel")
	}
	if *cancel {
		handle, err := tool.Cancel(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cancelled move task %s on %s\n", handle, tool.Name(pos[0]))
		return nil
	}
	f, err := dlq.ParseFilter(*filter)
	if err != nil {
		return err
	}
	tool.HoldFor = *hold
	out := newRedriveOutput(stdout, stderr)
	res, err := tool.Redrive(ctx, pos[0], dlq.RedriveOptions{
		To: *to, Filter: f, Max: *maxN, Rate: *rate, DryRun: *dryRun, Method: *method, Progress: out.progress,
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
	if r.InFlightLeft > 0 {
		fmt.Fprintf(o.stderr, "%d messages are in flight in %s (held by another reader); run redrive again once they are visible\n", r.InFlightLeft, r.DLQ)
	}
}
