// Command gfnctl is the pipeline's operator CLI: start runs (embedded or on AWS), create the
// infrastructure, inspect and redrive dead-letter queues, replay, report.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gfnpipeline/shared/platform"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Every command logs JSON (LOG_LEVEL), as the services do.
	slog.SetDefault(platform.Logger("gfnctl", os.Getenv))
	code := exitCode(execute(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr)
	stop()
	if code != 0 {
		os.Exit(code)
	}
}

// newRoot is the command tree; every command writes to the root's out and err writers.
func newRoot() *cobra.Command {
	root := group(&cobra.Command{
		Use:   "gfnctl",
		Short: "operator CLI of the GFN pipeline: runs, status, DLQs, replay, infrastructure, warehouse",
	}, exitUsage)
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newRunCmd(), newInfraCmd(), newReportCmd(), newLoadCmd(), newDLQCmd(), newStatusCmd(), newReplayCmd())
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (%s --help shows the flags)", err, cmd.CommandPath())
	})
	return root
}

// execute runs gfnctl with args (without the program name).
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// Exit codes, as before cobra: a missing or unknown command at the top level is a usage error
// (2); any other failure, a bad flag included, is 1.
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError carries the exit code of a command line that names no command gfnctl has.
type usageError struct {
	msg  string
	code int
}

func (e *usageError) Error() string { return e.msg }

// group makes cmd a command that only holds subcommands: run bare or with an unknown
// subcommand it says which, shows its usage and fails with code.
func group(cmd *cobra.Command, code int) *cobra.Command {
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return &usageError{msg: fmt.Sprintf("unknown command %q for %q\n\n%s", args[0], c.CommandPath(), c.UsageString()), code: code}
		}
		return nil
	}
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		return &usageError{msg: fmt.Sprintf("%s needs a command\n\n%s", c.CommandPath(), c.UsageString()), code: code}
	}
	return cmd
}

// exitCode is 0 for success (help included), else the error goes to stderr and the code is
// the usage error's or 1.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "gfnctl:", err)
	if ue := (*usageError)(nil); errors.As(err, &ue) {
		return ue.code
	}
	return exitFailure
}
