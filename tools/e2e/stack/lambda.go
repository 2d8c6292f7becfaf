package stack

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/tools/e2e/lambdaesm"
)

// Runtimes a stack runs its services in (RUNTIME).
const (
	RuntimePoller = "poller"
	RuntimeLambda = "lambda"
)

// ServiceQueues is the queue each service consumes.
var ServiceQueues = func() map[string]string {
	out := map[string]string{}
	for _, s := range contracts.Services() {
		out[s.Name] = s.Queue
	}
	return out
}()

// BuildLambdas builds every service's bootstrap as `make package SERVICE=x` does (for this
// machine's architecture) into dir/<service>/bootstrap, and installs AWS's Lambda
// Runtime Interface Emulator with `make lambda-rie`. It returns the emulator's path.
func BuildLambdas(ctx context.Context, root, dir string) (rie string, err error) {
	if rie, err = RIE(ctx, root); err != nil {
		return "", err
	}
	dist := filepath.Join(dir, "dist")
	// One make for all: it checks (and, after a change, links) the bootstraps side by side.
	if _, err := makeTarget(ctx, root, "-j", "packages", "DIST="+dist, "LAMBDA_ARCH="+runtime.GOARCH); err != nil {
		return "", err
	}
	for _, svc := range Services {
		if err := unzipBootstrap(filepath.Join(dist, svc+"-lambda.zip"), filepath.Join(dir, svc)); err != nil {
			return "", err
		}
	}
	return rie, nil
}

// RIE installs AWS's Lambda Runtime Interface Emulator (`make lambda-rie`, once) and returns
// its path.
func RIE(ctx context.Context, root string) (string, error) {
	out, err := makeTarget(ctx, root, "lambda-rie")
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1], nil
}

func makeTarget(ctx context.Context, root string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "make", append([]string{"-s", "--no-print-directory", "-C", root}, args...)...)
	// Not a sub-make of whatever make runs this test: no inherited job server.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("make %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

func unzipBootstrap(zipPath, dir string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range zr.File {
		if f.Name != "bootstrap" {
			continue
		}
		r, err := f.Open()
		if err != nil {
			return err
		}
		defer r.Close()
		w, err := os.OpenFile(filepath.Join(dir, "bootstrap"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, r); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	}
	return fmt.Errorf("%s holds no bootstrap", zipPath)
}

// startLambdas runs every service as a Lambda function under the emulator, fed by event
// source pollers with terraform's settings. DuckDB locks its file, so the loader runs one
// instance at a time here (in AWS each instance has its own /tmp warehouse).
func (s *Stack) startLambdas(ctx context.Context, env []string) error {
	mappings, err := lambdaesm.ReadTerraform(filepath.Join(s.opts.Root, "terraform"))
	if err != nil {
		return err
	}
	byQueue := map[string]lambdaesm.Mapping{}
	for _, m := range mappings {
		byQueue[m.Queue] = m
	}
	top := s.Topology()
	var fns []lambdaesm.Function
	for _, svc := range Services {
		m, ok := byQueue[ServiceQueues[svc]]
		if !ok {
			return fmt.Errorf("terraform has no event source mapping for %s's queue %s", svc, ServiceQueues[svc])
		}
		if svc == contracts.ServiceLoader {
			m.MaximumConcurrency = 1
		}
		m.Function = s.opts.Prefix + m.Function
		fns = append(fns, lambdaesm.Function{Mapping: m, Name: svc, QueueName: top.Name(ServiceQueues[svc]),
			Bootstrap: filepath.Join(s.opts.LambdaDir, svc, "bootstrap"),
			Env:       append(append(s.Env(), "RUNTIME="+RuntimeLambda), env...)})
	}
	// The pollers wait as briefly as the stack's services do (SQS_WAIT_SECONDS in Env).
	s.lambdas, err = lambdaesm.Start(ctx, lambdaesm.Options{RIE: s.opts.RIE, LogDir: filepath.Join(s.opts.Dir, "logs"),
		SQS: sqs.NewFromConfig(s.AWSConfig()), Region: "us-east-1", Account: "123456789012", WaitTimeSeconds: 2}, fns...)
	return err
}

// Lambdas is the event source mappings and emulators of a RuntimeLambda stack (nil otherwise).
func (s *Stack) Lambdas() *lambdaesm.Runner { return s.lambdas }

// lambdaLogs is the end of every emulator instance's log (the bootstrap's output included).
func (s *Stack) lambdaLogs(n int) string {
	if s.lambdas == nil {
		return ""
	}
	paths, _ := filepath.Glob(filepath.Join(s.opts.Dir, "logs", "*-[0-9]*.log"))
	paths = append(paths, filepath.Join(s.opts.Dir, "logs", lambdaesm.PollerLog))
	var b strings.Builder
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		fmt.Fprintf(&b, "==> %s <==\n%s\n", filepath.Base(p), tail(string(data), n))
	}
	return b.String()
}
