// Command stack runs what `make e2e` runs and keeps it up: moto (unless AWS_ENDPOINT_URL is
// set), the GFN API simulator and every service as its own process. It prints the
// environment that points gfnctl at it, and stops everything on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gfnpipeline/tools/e2e/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	root, err := stack.RepoRoot()
	if err != nil {
		return err
	}
	dir := flag.String("dir", filepath.Join(root, "data", "stack"), "binaries, logs and the loader's DuckDB file")
	build := flag.Bool("build", true, "build the binaries into DIR/bin first (false: use what is there)")
	buildOnly := flag.Bool("build-only", false, "build the binaries into DIR/bin and exit (make test's stack-bin)")
	flag.Parse()
	if *buildOnly {
		return stack.Build(ctx, root, *dir)
	}
	data := os.Getenv("GFN_DATA_DIR")
	if data == "" {
		data = stack.Recording(root)
	}
	if *build {
		fmt.Fprintf(os.Stderr, "stack: building services into %s\n", *dir)
		if err := stack.Build(ctx, root, *dir); err != nil {
			return err
		}
	}
	s, err := stack.Start(ctx, stack.Options{Root: root, Dir: *dir, SimDataDir: data, SimFaults: os.Getenv("GFNAPI_SIM_FAULTS"), Prefix: os.Getenv("GFN_NAME_PREFIX")})
	if err != nil {
		return err
	}
	defer s.Stop()
	fmt.Fprintf(os.Stderr, "stack: up; logs in %s, Prometheus metrics:\n", filepath.Join(*dir, "logs"))
	for _, svc := range stack.Services {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", svc, s.MetricsURLs[svc])
	}
	fmt.Fprintln(os.Stderr, "stack: in another shell, export this and use gfnctl (e.g. `go run ./tools/gfnctl run --wait`); Ctrl-C here stops the stack")
	for _, kv := range s.ExportEnv() {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Printf("export %s=%q\n", k, v)
	}
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "stack: stopping")
	return nil
}
