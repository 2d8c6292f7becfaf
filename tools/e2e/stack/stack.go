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
	"github.com/gfnpipeline/tools/e2e/fakesnow"
	"github.com/gfnpipeline/tools/e2e/lambdaesm"
)

// Services are the pipeline's deployable services, in start order.
var Services = contracts.ServiceNames()

// Binaries built for a stack: the services (services/<name>/cmd/<name>), the simulator and
// the operator CLI.
var Binaries = func() map[string]string {
	out := map[string]string{
		"gfnapi-sim": "./tools/gfnapi-sim/cmd/gfnapi-sim",
		"gfnctl":     "./tools/gfnctl",
	}
	for _, svc := range Services {
		out[svc] = "./services/" + svc + "/cmd/" + svc
	}
	return out
}()

// SnowflakeBinaries are built for a Snowflake-mode stack (BuildSnowflake): the loader in
// confirm mode with fakesnow's load records, and the Snowpipe stand-in.
var SnowflakeBinaries = map[string]string{
	"loader-fakesnow":  "./tools/e2e/cmd/loader-fakesnow",
	"snowpipe-standin": "./tools/e2e/cmd/snowpipe-standin",
}

// WarehouseSnowflake selects the Snowflake-mode stack (Options.Warehouse).
const WarehouseSnowflake = "snowflake"

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
	// Warehouse "snowflake" runs fakesnow's server as Snowflake, the Snowpipe stand-in, and
	// the loader as the load confirmer (BuildSnowflake first); default DuckDB.
	Warehouse string
	// Runtime is RuntimePoller (default: each service a process) or RuntimeLambda (each a
	// Lambda under the emulator RIE names, with the bootstraps BuildLambdas put in LambdaDir).
	Runtime   string
	RIE       string
	LambdaDir string
	// VisibilitySeconds, when set, replaces every service queue's base visibility before the
	// services start (they read it at start for their heartbeat): a killed service's
	// messages return that much sooner.
	VisibilitySeconds int
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
	// FakesnowPort is fakesnow's server in a Snowflake-mode stack.
	FakesnowPort int
	stopSnow     func()

	mu      sync.Mutex
	procs   map[string]*proc
	lambdas *lambdaesm.Runner
}

type proc struct {
	cmd    *exec.Cmd
	env    []string
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
func Build(ctx context.Context, root, dir string) error { return build(ctx, root, dir, Binaries) }

// BuildSnowflake compiles the Snowflake-mode binaries into dir/bin.
func BuildSnowflake(ctx context.Context, root, dir string) error {
	return build(ctx, root, dir, SnowflakeBinaries)
}

// SharedDir is where tests build the stack's binaries (SharedDir/bin): one place per
// checkout, so the test binaries of several packages, and later runs, share one build
// (make test's stack-bin builds there before the tests start).
func SharedDir(root string) string { return filepath.Join(root, ".cache", "stack") }

// build runs one go build for every binary (named for its package's directory, as the map
// keys are). Into a directory that already holds them, go build relinks only what changed;
// a lock on the directory keeps concurrent builds (test binaries of several packages) apart.
func build(ctx context.Context, root, dir string, binaries map[string]string) error {
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	// Symbols and DWARF are left out, as in the images: the links (DuckDB's above all) take
	// half the time, and stack traces do not need them.
	args := []string{"build", "-ldflags=-s -w", "-o", bin + string(filepath.Separator)}
	for name, pkg := range binaries {
		if filepath.Base(pkg) != name {
			return fmt.Errorf("build %s: binary names follow their package directory, not %s", name, pkg)
		}
		args = append(args, pkg)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
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
	if opts.VisibilitySeconds > 0 {
		if err := s.setVisibility(ctx, opts.VisibilitySeconds); err != nil {
			s.Stop()
			return nil, err
		}
	}
	var loaderEnv []string
	if opts.Warehouse == WarehouseSnowflake {
		if loaderEnv, err = s.startSnowflake(ctx); err != nil {
			s.Stop()
			return nil, err
		}
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
	env := append([]string{"GFN_API_URL=" + s.SimURL + "/v1", "GFN_API_KEY=" + key,
		"DUCKDB_PATH=" + filepath.Join(opts.Dir, "gfn.duckdb"), "GFN_STATUS_ADDR=" + statusAddr}, opts.Env...)
	if os.Getenv("GFN_API_RATE") == "" {
		// The simulator is local: no need to pace requests as the real API wants (as in the
		// embedded run). opts.Env or the environment may set a pace.
		env = append([]string{"GFN_API_RATE=1000", "GFN_API_BURST=1000"}, env...)
	}
	if opts.Runtime == RuntimeLambda {
		// A function starts on its first invocation: the loader's status comes up with it.
		if err := s.startLambdas(ctx, env); err != nil {
			s.Stop()
			return nil, err
		}
		return s, nil
	}
	for _, svc := range Services {
		metricsAddr, err := freeAddr()
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.MetricsURLs[svc] = "http://" + metricsAddr + "/metrics"
		env := append(append([]string{}, env...), "GFN_METRICS_ADDR="+metricsAddr)
		if svc == contracts.ServiceLoader {
			env = append(env, loaderEnv...)
		}
		if os.Getenv("GFN_CONCURRENCY") == "" {
			// As docker-compose deploys them (tools/deploytest checks it against the same
			// value); first, so opts.Env can still set it.
			env = append([]string{"GFN_CONCURRENCY=" + strconv.Itoa(contracts.LocalConcurrency(svc))}, env...)
		}
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

// startSnowflake starts fakesnow's server and the Snowpipe stand-in (which creates the
// tables and its own subscription of the lake events topic), and returns the loader's
// settings: confirm mode against fakesnow.
func (s *Stack) startSnowflake(ctx context.Context) ([]string, error) {
	py, err := fakesnow.Python(s.opts.Root)
	if err != nil {
		return nil, err
	}
	port, stop, err := fakesnow.Start(ctx, py, s.LogPath("fakesnow"))
	if err != nil {
		return nil, err
	}
	s.FakesnowPort, s.stopSnow = port, stop
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := s.start("snowpipe-standin", append(fakesnow.Env(port), "SNOWPIPE_STANDIN_ADDR="+addr)); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, "http://"+addr+"/status"); err != nil {
		return nil, fmt.Errorf("snowpipe stand-in: %w (see %s)", err, s.LogPath("snowpipe-standin"))
	}
	return append(fakesnow.Env(port), "WAREHOUSE="+WarehouseSnowflake), nil
}

// binary is the executable a process runs: the Snowflake-mode stack's loader is the
// confirmer with fakesnow's load records.
func (s *Stack) binary(name string) string {
	if name == contracts.ServiceLoader && s.opts.Warehouse == WarehouseSnowflake {
		return "loader-fakesnow"
	}
	return name
}

// processes are the stack's own processes, services first.
func (s *Stack) processes() []string {
	out := append(append([]string{}, Services...), "gfnapi-sim")
	if s.opts.Warehouse == WarehouseSnowflake {
		out = append(out, "snowpipe-standin", "fakesnow")
	}
	return out
}

// ExportEnv is what a shell needs for gfnctl to reach the stack: its emulator, names and
// the emulator's credentials and region when the environment has none.
func (s *Stack) ExportEnv() []string {
	env := []string{"AWS_ENDPOINT_URL=" + s.Endpoint, "GFN_NAME_PREFIX=" + s.opts.Prefix}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		env = append(env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	}
	// The region always, last: a new shell needs it, and it is no secret.
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	return append(env, "AWS_REGION="+region)
}

// Env is the environment every process of the stack gets.
func (s *Stack) Env() []string {
	return append(append(os.Environ(), s.ExportEnv()...), "SQS_WAIT_SECONDS=2")
}

// LogPath is where a process's output goes.
func (s *Stack) LogPath(name string) string { return filepath.Join(s.opts.Dir, "logs", name+".log") }

// Signal sends sig to a running process of the stack (SIGSTOP/SIGCONT hold one back).
func (s *Stack) Signal(name string, sig syscall.Signal) error {
	s.mu.Lock()
	p := s.procs[name]
	s.mu.Unlock()
	if p == nil {
		return fmt.Errorf("%s is not running", name)
	}
	return p.cmd.Process.Signal(sig)
}

func (s *Stack) start(name string, env []string) error {
	f, err := os.OpenFile(s.LogPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.bin, s.binary(name)))
	cmd.Env = append(s.Env(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{cmd: cmd, env: env, exited: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.exited) }()
	s.mu.Lock()
	s.procs[name] = p
	s.mu.Unlock()
	return nil
}

// Kill sends sig to a running service (SIGKILL: a crash; SIGTERM: a deploy) and waits up to
// a minute for it to exit.
func (s *Stack) Kill(name string, sig syscall.Signal) error {
	s.mu.Lock()
	p := s.procs[name]
	s.mu.Unlock()
	if p == nil {
		return fmt.Errorf("%s is not running", name)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", name, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(time.Minute):
		return fmt.Errorf("%s still running a minute after %v", name, sig)
	}
}

// Restart starts a service that exited again, with the settings it first had.
func (s *Stack) Restart(name string) error {
	s.mu.Lock()
	p := s.procs[name]
	s.mu.Unlock()
	if p == nil {
		return fmt.Errorf("%s was never started", name)
	}
	select {
	case <-p.exited:
	default:
		return fmt.Errorf("%s is still running", name)
	}
	return s.start(name, p.env)
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
	for _, name := range s.processes() {
		wg.Add(1)
		go func() { defer wg.Done(); s.stopProc(name) }()
	}
	wg.Wait()
	if s.stopSnow != nil {
		s.stopSnow()
		s.stopSnow = nil
	}
	if s.lambdas != nil {
		s.lambdas.Stop()
	}
	if s.stopMoto != nil {
		s.stopMoto()
		s.stopMoto = nil
	}
}

// Logs returns the end of every process's log, for a failure report.
func (s *Stack) Logs(n int) string {
	var b strings.Builder
	for _, name := range s.processes() {
		data, _ := os.ReadFile(s.LogPath(name))
		fmt.Fprintf(&b, "==> %s <==\n%s\n", name, tail(string(data), n))
	}
	b.WriteString(s.lambdaLogs(n))
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

// LoaderStatus decodes the loader's GET /status into into (the loader service's Status: the
// stack does not import the loader, which would link DuckDB into `make e2e`'s driver).
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

// setVisibility sets the base visibility of every service queue of the stack.
func (s *Stack) setVisibility(ctx context.Context, seconds int) error {
	client := sqs.NewFromConfig(s.AWSConfig())
	top := s.Topology()
	names := make([]string, 0, len(top.Queues))
	for _, q := range top.Queues {
		names = append(names, q.Name)
	}
	urls, err := messaging.QueueURLs(ctx, client, names...)
	if err != nil {
		return err
	}
	for name, url := range urls {
		if _, err := client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url),
			Attributes: map[string]string{string(sqstypes.QueueAttributeNameVisibilityTimeout): strconv.Itoa(seconds)}}); err != nil {
			return fmt.Errorf("visibility of %s: %w", name, err)
		}
	}
	return nil
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
	paths := []string{s.LogPath(service)}
	if s.opts.Runtime == RuntimeLambda {
		// Each emulator instance of a function logs to its own file (extractor-0.log, ...).
		var err error
		if paths, err = filepath.Glob(strings.TrimSuffix(s.LogPath(service), ".log") + "-[0-9]*.log"); err != nil {
			return nil, err
		}
	}
	var out []*telemetrytest.EMF
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		lines, err := telemetrytest.ScanEMF(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, lines...)
	}
	return out, nil
}

// Recording is the shared GFN API recording beside the repository, or "" when absent.
func Recording(root string) string {
	dir := filepath.Join(root, "..", "shared", "data", "gfn-api-recording")
	if _, err := os.Stat(filepath.Join(dir, "data_all_2022.json.gz")); err != nil {
		return ""
	}
	return dir
}
