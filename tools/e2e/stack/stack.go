// Package stack runs the pipeline as it is deployed, on one machine: moto's server (unless
// AWS_ENDPOINT_URL names an emulator), the GFN API simulator, and every service as its own
// process, each with its own logs. `make e2e` and the end-to-end tests drive it with gfnctl.
package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/telemetry/telemetrytest"
)

// Services are the pipeline's deployable services, in start order.
var Services = []string{"extractor", "validator", "transformer", "loader", "notifier"}

// Binaries built for a stack: the services, the simulator and the operator CLI.
var Binaries = map[string]string{
	"extractor":   "./services/extractor/cmd/extractor",
	"validator":   "./services/validator/cmd/validator",
	"transformer": "./services/transformer/cmd/transformer",
	"loader":      "./services/loader/cmd/loader",
	"notifier":    "./services/notifier/cmd/notifier",
	"gfnapi-sim":  "./tools/gfnapi-sim/cmd/gfnapi-sim",
	"gfnctl":      "./tools/gfnctl",
}

// Options for a stack.
type Options struct {
	// Root is the repository root (where go.work is).
	Root string
	// Dir holds binaries, logs and the loader's DuckDB file.
	Dir string
	// SimDataDir is the recording the simulator serves; empty serves generated data.
	SimDataDir string
	// SimFaults is GFNAPI_SIM_FAULTS for the simulator.
	SimFaults string
	// Prefix names this stack's queues, topics and bucket, so stacks can share an emulator.
	Prefix string
	// Env adds settings to every service (e.g. GFN_API_MAX_ATTEMPTS).
	Env []string
	// ServiceAPIKey is the key the extractor sends; default the simulator's own.
	ServiceAPIKey string
}

// simKey is the only key the stack's simulator accepts.
const simKey = "e2e-key"

// Stack is a running pipeline.
type Stack struct {
	opts      Options
	Endpoint  string
	SimURL    string
	StatusURL string
	// MetricsURLs are the services' Prometheus endpoints, by service.
	MetricsURLs map[string]string
	bin         string
	stopMoto    func()

	mu    sync.Mutex
	procs map[string]*proc
}

type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// RepoRoot finds the repository root from the working directory (the folder with go.work).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.work not found above the working directory")
		}
		dir = parent
	}
}

// Build compiles every binary into dir/bin.
func Build(ctx context.Context, root, dir string) error {
	bin := filepath.Join(dir, "bin")
	for name, pkg := range Binaries {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, name), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w\n%s", name, err, out)
		}
	}
	return nil
}

// Start builds nothing: call Build first. It starts the emulator if needed, the simulator,
// applies the topology with gfnctl, and starts every service.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	s := &Stack{opts: opts, bin: filepath.Join(opts.Dir, "bin"), procs: map[string]*proc{}, MetricsURLs: map[string]string{}}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	s.Endpoint = os.Getenv("AWS_ENDPOINT_URL")
	if s.Endpoint == "" {
		url, stop, err := awstest.StartMoto()
		if err != nil {
			return nil, err
		}
		s.Endpoint, s.stopMoto = url, stop
	}
	simAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s.SimURL = "http://" + simAddr
	simEnv := []string{"GFNAPI_SIM_ADDR=" + simAddr, "GFN_API_KEY=" + simKey, "GFNAPI_SIM_FAULTS=" + opts.SimFaults}
	if opts.SimDataDir != "" {
		simEnv = append(simEnv, "GFN_DATA_DIR="+opts.SimDataDir)
	}
	if err := s.start("gfnapi-sim", simEnv); err != nil {
		s.Stop()
		return nil, err
	}
	if err := waitHTTP(ctx, s.SimURL+"/_sim/stats"); err != nil {
		s.Stop()
		return nil, fmt.Errorf("simulator: %w (see %s)", err, s.LogPath("gfnapi-sim"))
	}
	if out, err := s.Gfnctl(ctx, "infra", "apply"); err != nil {
		s.Stop()
		return nil, fmt.Errorf("infra apply: %w\n%s", err, out)
	}
	statusAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s.StatusURL = "http://" + statusAddr + "/status"
	key := opts.ServiceAPIKey
	if key == "" {
		key = simKey
	}
	for _, svc := range Services {
		metricsAddr, err := freeAddr()
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.MetricsURLs[svc] = "http://" + metricsAddr + "/metrics"
		env := append([]string{"GFN_API_URL=" + s.SimURL + "/v1", "GFN_API_KEY=" + key,
			"DUCKDB_PATH=" + filepath.Join(opts.Dir, "gfn.duckdb"), "GFN_STATUS_ADDR=" + statusAddr, "GFN_METRICS_ADDR=" + metricsAddr}, opts.Env...)
		if err := s.start(svc, env); err != nil {
			s.Stop()
			return nil, err
		}
	}
	if err := waitHTTP(ctx, s.StatusURL); err != nil {
		s.Stop()
		return nil, fmt.Errorf("loader: %w (see %s)", err, s.LogPath("loader"))
	}
	return s, nil
}

// ExportEnv is what a shell needs for gfnctl to reach the stack: its emulator, names and
// the emulator's credentials and region when the environment has none.
func (s *Stack) ExportEnv() []string {
	env := []string{"AWS_ENDPOINT_URL=" + s.Endpoint, "GFN_NAME_PREFIX=" + s.opts.Prefix}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		env = append(env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	}
	if os.Getenv("AWS_REGION") == "" {
		env = append(env, "AWS_REGION=us-east-1")
	}
	return env
}

// Env is the environment every process of the stack gets.
func (s *Stack) Env() []string {
	return append(append(os.Environ(), s.ExportEnv()...), "SQS_WAIT_SECONDS=2")
}

// LogPath is where a process's output goes.
func (s *Stack) LogPath(name string) string { return filepath.Join(s.opts.Dir, "logs", name+".log") }

func (s *Stack) start(name string, env []string) error {
	f, err := os.OpenFile(s.LogPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.bin, name))
	cmd.Env = append(s.Env(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.exited) }()
	s.mu.Lock()
	s.procs[name] = p
	s.mu.Unlock()
	return nil
}

// Gfnctl runs the operator CLI against the stack and returns its standard output.
func (s *Stack) Gfnctl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, "gfnctl"), args...)
	cmd.Env = s.Env()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("gfnctl %s: %w\n%s", strings.Join(args, " "), err, tail(errOut.String(), 4000))
	}
	return out.String(), nil
}

func (s *Stack) stopProc(name string) {
	s.mu.Lock()
	p := s.procs[name]
	delete(s.procs, name)
	s.mu.Unlock()
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// Stop ends every process the stack started (services first, emulator last).
func (s *Stack) Stop() {
	var wg sync.WaitGroup
	for _, name := range append(append([]string{}, Services...), "gfnapi-sim") {
		wg.Add(1)
		go func() { defer wg.Done(); s.stopProc(name) }()
	}
	wg.Wait()
	if s.stopMoto != nil {
		s.stopMoto()
		s.stopMoto = nil
	}
}

// Logs returns the end of every process's log, for a failure report.
func (s *Stack) Logs(n int) string {
	var b strings.Builder
	for _, name := range append(append([]string{}, Services...), "gfnapi-sim") {
		data, _ := os.ReadFile(s.LogPath(name))
		fmt.Fprintf(&b, "==> %s <==\n%s\n", name, tail(string(data), n))
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitHTTP(ctx context.Context, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer", url)
}

// AWSConfig talks to the stack's emulator, whatever this process's environment points at.
func (s *Stack) AWSConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
}

// Topology is the stack's topology (names with its prefix).
func (s *Stack) Topology() contracts.Topology {
	return contracts.DefaultTopology("").WithPrefix(s.opts.Prefix)
}

// DuckDBPath is the loader's warehouse file (readable once the stack is stopped).
func (s *Stack) DuckDBPath() string { return filepath.Join(s.opts.Dir, "gfn.duckdb") }

// SimStats reads the simulator's request counters.
func (s *Stack) SimStats(ctx context.Context) (map[string]any, error) {
	var out map[string]any
	return out, getJSON(ctx, s.SimURL+"/_sim/stats", &out)
}

// LoaderStatus decodes the loader's GET /status into into (a load.Status: the stack does not
// import the loader, which would link DuckDB into `make e2e`'s driver).
func (s *Stack) LoaderStatus(ctx context.Context, into any) error {
	return getJSON(ctx, s.StatusURL, into)
}

func getJSON(ctx context.Context, url string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(into)
}

// DLQDepths counts the messages in every dead-letter queue of the stack.
func (s *Stack) DLQDepths(ctx context.Context) (map[string]int, error) {
	client := sqs.NewFromConfig(s.AWSConfig())
	top := s.Topology()
	urls, err := messaging.QueueURLs(ctx, client, top.DLQs()...)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for name, url := range urls {
		a, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			return nil, fmt.Errorf("depth of %s: %w", name, err)
		}
		n, _ := strconv.Atoi(a.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
		m, _ := strconv.Atoi(a.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
		out[name] = n + m
	}
	return out, nil
}

// EMF returns the Embedded Metric Format lines in service's log, each validated.
func (s *Stack) EMF(service string) ([]*telemetrytest.EMF, error) {
	f, err := os.Open(s.LogPath(service))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return telemetrytest.ScanEMF(f)
}

// Recording is the shared GFN API recording beside the repository, or "" when absent.
func Recording(root string) string {
	dir := filepath.Join(root, "..", "shared", "data", "gfn-api-recording")
	if _, err := os.Stat(filepath.Join(dir, "data_all_2022.json.gz")); err != nil {
		return ""
	}
	return dir
}
