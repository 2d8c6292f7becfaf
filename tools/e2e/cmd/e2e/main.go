// Command e2e runs the pipeline end to end as deployed: moto (unless AWS_ENDPOINT_URL is set),
// the GFN API simulator serving ../shared/data/gfn-api-recording (generated data when absent),
// and every service as its own process (RUNTIME=lambda: as a Lambda function, the bootstrap
// `make package` builds under AWS's runtime emulator, fed by event-source pollers with
// terraform's settings); it requests a full backfill, waits for the outcome, prints the
// summary line and stops everything it started. WAREHOUSE=snowflake loads into fakesnow's
// server through a Snowpipe stand-in and confirms loads as production does.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/gfnpipeline/tools/e2e/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	root, err := stack.RepoRoot()
	if err != nil {
		return err
	}
	dir := flag.String("dir", filepath.Join(root, "data", "e2e"), "binaries, logs and the loader's DuckDB file")
	timeout := flag.String("timeout", "20m", "how long to wait for the run's outcome")
	flag.Parse()
	data := os.Getenv("GFN_DATA_DIR")
	if data == "" {
		data = stack.Recording(root)
	}
	fmt.Fprintf(os.Stderr, "e2e: building services into %s\n", *dir)
	if err := stack.Build(ctx, root, *dir); err != nil {
		return err
	}
	wh := os.Getenv("WAREHOUSE")
	if wh == stack.WarehouseSnowflake {
		if err := stack.BuildSnowflake(ctx, root, *dir); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "e2e: WAREHOUSE=snowflake: fakesnow's server as Snowflake, a Snowpipe stand-in, the loader confirming loads")
	}
	opts := stack.Options{Root: root, Dir: *dir, SimDataDir: data, SimFaults: os.Getenv("GFNAPI_SIM_FAULTS"), Prefix: os.Getenv("GFN_NAME_PREFIX"), Warehouse: wh}
	switch rt := os.Getenv("RUNTIME"); rt {
	case "", stack.RuntimePoller:
		opts.Runtime = stack.RuntimePoller
	case stack.RuntimeLambda:
		opts.Runtime, opts.LambdaDir = rt, filepath.Join(*dir, "lambda")
		fmt.Fprintf(os.Stderr, "e2e: packaging Lambda bootstraps into %s\n", opts.LambdaDir)
		if opts.RIE, err = stack.BuildLambdas(ctx, root, opts.LambdaDir); err != nil {
			return err
		}
	default:
		return fmt.Errorf("RUNTIME=%q: want %s or %s", rt, stack.RuntimePoller, stack.RuntimeLambda)
	}
	source := data
	if source == "" {
		source = "generated data"
	}
	fmt.Fprintf(os.Stderr, "e2e: starting the stack (simulator serves %s, faults %q, runtime %s)\n", source, opts.SimFaults, opts.Runtime)
	s, err := stack.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Stop()
	fmt.Fprintf(os.Stderr, "e2e: emulator %s, logs in %s\n", s.Endpoint, filepath.Join(*dir, "logs"))
	out, runErr := s.Gfnctl(ctx, "run", "--wait", "--timeout", *timeout)
	if depths, err := s.DLQDepths(ctx); err == nil {
		for q, n := range depths {
			if n > 0 {
				fmt.Fprintf(os.Stderr, "e2e: %s holds %d messages\n", q, n)
			}
		}
	}
	for _, svc := range stack.Services {
		lines, err := s.EMF(svc)
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s metrics: %v\n", svc, err)
			continue
		}
		fmt.Fprintf(os.Stderr, "e2e: %s emitted %d EMF metric lines\n", svc, len(lines))
	}
	if runErr != nil {
		fmt.Fprint(os.Stderr, s.Logs(3000))
	}
	// The summary line comes last: scripts read the final line.
	fmt.Print(out)
	return runErr
}
