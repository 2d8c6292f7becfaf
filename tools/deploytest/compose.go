package deploytest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/platform"
)

// Emulator profiles and the services every profile runs.
const (
	ProfileLocalStack = "localstack"
	ProfileMoto       = "moto"
	BootstrapService  = "bootstrap"
	SimulatorService  = "gfnapi-sim"

	// LabelQueue and LabelDLQ name the queue a service container consumes.
	LabelQueue = "gfn.queue"
	LabelDLQ   = "gfn.dlq"
)

// Service is one pipeline service as deployed: its binary, its queue and the settings it
// reads besides the platform's (its Config's): Env, which every deployment sets, and
// Optional, which only some do (production credentials).
type Service struct {
	Name     string
	Queue    string
	Env      []string
	Optional []string
	// Concurrency is the GFN_CONCURRENCY compose must give it (contracts' LocalConcurrency).
	Concurrency int
}

// LoadCompose loads a compose file as `docker compose` would, with both emulator profiles
// enabled and env as the only interpolation source (never the caller's environment).
func LoadCompose(ctx context.Context, file string, env map[string]string) (*types.Project, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs}},
		Environment: types.Mapping(env),
	}
	p, err := loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName("gfn-pipeline", true)
		o.Profiles = []string{ProfileLocalStack, ProfileMoto}
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", file, err)
	}
	return p, nil
}

// CheckCompose compares a loaded compose project with the code's configuration and the
// topology; it returns every problem found (none means the file agrees).
func CheckCompose(p *types.Project, top contracts.Topology, services []Service, tokenSentinel string) []string {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }

	endpoint := checkEmulators(p, tokenSentinel, bad)
	checkBootstrap(p, endpoint, bad)
	simPort := checkSimulator(p, bad)
	for _, s := range services {
		checkService(p, top, s, endpoint, simPort, bad)
	}
	checkLoader(p, bad)
	checkLoopback(p, bad)
	return probs
}

// checkEmulators: pinned images, health checks, one network alias and port both emulators
// share. It returns the endpoint the services reach them at.
func checkEmulators(p *types.Project, tokenSentinel string, bad func(string, ...any)) string {
	host, port := "", uint32(0)
	for _, name := range []string{ProfileLocalStack, ProfileMoto} {
		svc, ok := p.Services[name]
		if !ok {
			bad("service %s missing", name)
			continue
		}
		alias, target, ok := checkEmulator(name, svc, bad)
		if !ok {
			continue
		}
		if host == "" {
			host = alias
		} else if alias != host {
			bad("%s: alias %q differs from the other emulator's %q", name, alias, host)
		}
		if port == 0 {
			port = target
		} else if target != port {
			bad("%s: port %d differs from the other emulator's %d", name, target, port)
		}
	}
	if m, ok := p.Services[ProfileMoto]; ok && m.HealthCheck != nil && strings.Contains(strings.Join(m.HealthCheck.Test, " "), "data.json") {
		bad("moto: the healthcheck fetches data.json, which serialises everything moto holds; use /moto-api/config")
	}
	if _, ok := p.Services[ProfileMoto]; ok {
		if _, err := MotoCommand(p); err != nil {
			bad("moto: %v", err)
		}
	}
	if ls, ok := p.Services[ProfileLocalStack]; ok && envValue(ls, "LOCALSTACK_AUTH_TOKEN") != tokenSentinel {
		bad("localstack: LOCALSTACK_AUTH_TOKEN is not passed through from the environment")
	}
	return fmt.Sprintf("http://%s:%d", host, port)
}

// motoServerScript is moto's server with its SQS DeleteMessage race fixed, which the tests,
// CI and compose's moto all run.
const motoServerScript = "shared/awstest/motoserver.py"

// MotoCommand is the command compose's moto runs, with motoServerScript's path in the
// container mapped back to the checkout, so it can run here too. It fails unless the
// entrypoint runs that script, mounted from the checkout.
func MotoCommand(p *types.Project) ([]string, error) {
	m, ok := p.Services[ProfileMoto]
	if !ok {
		return nil, fmt.Errorf("service missing")
	}
	host := filepath.Join(p.WorkingDir, motoServerScript)
	var mounted string
	for _, v := range m.Volumes {
		if v.Type == types.VolumeTypeBind && filepath.Clean(v.Source) == host {
			mounted = v.Target
		}
	}
	i := slices.Index(m.Entrypoint, mounted)
	if mounted == "" || i < 0 {
		return nil, fmt.Errorf("the entrypoint does not run %s, mounted from the checkout: moto %s alone can lose an SQS message sent while another is deleted",
			motoServerScript, strings.TrimPrefix(m.Image, "motoserver/moto:"))
	}
	cmd := slices.Clone([]string(m.Entrypoint))
	cmd[i] = host
	return cmd, nil
}

// checkEmulator checks one emulator and returns its network alias and container port (ok
// false when it has no single alias).
func checkEmulator(name string, svc types.ServiceConfig, bad func(string, ...any)) (alias string, port uint32, ok bool) {
	if !slices.Contains(svc.Profiles, name) {
		bad("%s: not in profile %s (it would start with every `up`)", name, name)
	}
	if !pinned(svc.Image) {
		bad("%s: image %q is not pinned to a version tag", name, svc.Image)
	}
	if svc.HealthCheck == nil || len(svc.HealthCheck.Test) == 0 {
		bad("%s: no healthcheck (bootstrap waits for service_healthy)", name)
	}
	var aliases []string
	for _, n := range svc.Networks {
		if n != nil {
			aliases = append(aliases, n.Aliases...)
		}
	}
	if len(aliases) != 1 {
		bad("%s: want exactly one network alias for the emulator, have %v", name, aliases)
		return "", 0, false
	}
	for _, pc := range svc.Ports {
		port = pc.Target
	}
	if v := envValue(svc, "MOTO_PORT"); name == ProfileMoto && v != "" {
		if n, _ := strconv.Atoi(v); n != int(port) {
			bad("moto: MOTO_PORT %s but container port %d", v, port)
		}
	}
	return aliases[0], port, true
}

// checkBootstrap: the bootstrap applies the topology once the (active) emulator is healthy.
func checkBootstrap(p *types.Project, endpoint string, bad func(string, ...any)) {
	b, ok := p.Services[BootstrapService]
	if !ok {
		bad("service %s missing", BootstrapService)
		return
	}
	if strings.Join(b.Command, " ") != "infra apply" {
		bad("bootstrap: command %q, want \"infra apply\"", strings.Join(b.Command, " "))
	}
	if b.Build == nil || b.Build.Dockerfile != "tools/gfnctl/Dockerfile" {
		bad("bootstrap: not built from tools/gfnctl/Dockerfile")
	}
	if got := envValue(b, "AWS_ENDPOINT_URL"); got != endpoint {
		bad("bootstrap: AWS_ENDPOINT_URL %q, want %q", got, endpoint)
	}
	for _, em := range []string{ProfileLocalStack, ProfileMoto} {
		d, ok := b.DependsOn[em]
		if !ok || d.Condition != types.ServiceConditionHealthy || d.Required {
			bad("bootstrap: want depends_on %s {condition: service_healthy, required: false}", em)
		}
	}
}

// platformSettings are what every service may be given besides its own settings: the AWS
// SDK's and platform.Config's.
func platformSettings() map[string]bool {
	known := map[string]bool{"AWS_ENDPOINT_URL": true, "AWS_REGION": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true}
	for _, st := range platform.Settings[platform.Config]() {
		known[st.Name] = true
	}
	return known
}

// checkService: a pipeline service runs as a poller on the emulator with the settings its
// code reads (and no others), after the bootstrap, built from its own Dockerfile, labelled
// with its queue.
func checkService(p *types.Project, top contracts.Topology, s Service, endpoint, simPort string, bad func(string, ...any)) {
	svc, ok := p.Services[s.Name]
	if !ok {
		bad("service %s missing", s.Name)
		return
	}
	if got := envValue(svc, "RUNTIME"); got != string(platform.RuntimePoller) {
		bad("%s: RUNTIME=%q, want %q", s.Name, got, platform.RuntimePoller)
	}
	if got := envValue(svc, "AWS_ENDPOINT_URL"); got != endpoint {
		bad("%s: AWS_ENDPOINT_URL %q, want the emulator %q", s.Name, got, endpoint)
	}
	checkServiceEnv(s, svc, bad)
	if got := envValue(svc, "GFN_CONCURRENCY"); got != strconv.Itoa(s.Concurrency) {
		bad("%s: GFN_CONCURRENCY=%q, want %d (contracts' LocalConcurrency, as make e2e runs it)", s.Name, got, s.Concurrency)
	}
	if d, ok := svc.DependsOn[BootstrapService]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
		bad("%s: want depends_on bootstrap {condition: service_completed_successfully}", s.Name)
	}
	if svc.Build == nil || svc.Build.Dockerfile != "services/"+s.Name+"/Dockerfile" ||
		filepath.Clean(svc.Build.Context) != filepath.Clean(p.WorkingDir) {
		bad("%s: want build {context: repository root, dockerfile: services/%s/Dockerfile}", s.Name, s.Name)
	}
	if q, ok := top.Queue(s.Queue); !ok {
		bad("%s: queue %s is not in the topology", s.Name, s.Queue)
	} else {
		if got := svc.Labels[LabelQueue]; got != q.Name {
			bad("%s: label %s=%q, but the service consumes %s", s.Name, LabelQueue, got, q.Name)
		}
		if got := svc.Labels[LabelDLQ]; got != q.DLQ() {
			bad("%s: label %s=%q, want %s", s.Name, LabelDLQ, got, q.DLQ())
		}
	}
	if s.Name == contracts.ServiceExtractor {
		checkAPIURL(svc, simPort, bad)
	}
}

// checkServiceEnv: every setting the service reads is set, and nothing else but the
// platform's.
func checkServiceEnv(s Service, svc types.ServiceConfig, bad func(string, ...any)) {
	mustSet := []string{"AWS_REGION"}
	for _, st := range platform.Settings[platform.Names]() {
		mustSet = append(mustSet, st.Name)
	}
	for _, k := range mustSet {
		if _, ok := svc.Environment[k]; !ok {
			bad("%s: %s not set", s.Name, k)
		}
	}
	for _, k := range s.Env {
		if _, ok := svc.Environment[k]; !ok {
			bad("%s: %s (read by the service) not set", s.Name, k)
		}
	}
	known := platformSettings()
	for k := range svc.Environment {
		if !known[k] && !slices.Contains(s.Env, k) && !slices.Contains(s.Optional, k) {
			bad("%s: sets %s, which no code reads", s.Name, k)
		}
	}
}

// checkLoopback: emulators accept any credentials and the simulator any key, so nothing is
// published beyond this machine.
func checkLoopback(p *types.Project, bad func(string, ...any)) {
	for _, name := range p.ServiceNames() {
		for _, pc := range p.Services[name].Ports {
			if pc.HostIP != "127.0.0.1" {
				bad("%s: publishes port %d on %q, want 127.0.0.1", name, pc.Target, pc.HostIP)
			}
		}
	}
}

func checkSimulator(p *types.Project, bad func(string, ...any)) string {
	sim, ok := p.Services[SimulatorService]
	if !ok {
		bad("service %s missing", SimulatorService)
		return ""
	}
	_, port, err := net.SplitHostPort(envValue(sim, "GFNAPI_SIM_ADDR"))
	if err != nil {
		bad("gfnapi-sim: GFNAPI_SIM_ADDR: %v", err)
		return ""
	}
	host, _, _ := net.SplitHostPort(envValue(sim, "GFNAPI_SIM_ADDR"))
	if host != "0.0.0.0" && host != "" {
		bad("gfnapi-sim: GFNAPI_SIM_ADDR host %q is unreachable from other containers", host)
	}
	if !publishes(sim, port) {
		bad("gfnapi-sim: listens on %s but does not expose it", port)
	}
	return port
}

func checkAPIURL(svc types.ServiceConfig, simPort string, bad func(string, ...any)) {
	u, err := url.Parse(envValue(svc, "GFN_API_URL"))
	if err != nil || u.Hostname() != SimulatorService || u.Port() != simPort {
		bad("extractor: GFN_API_URL %q does not point at %s:%s by default", envValue(svc, "GFN_API_URL"), SimulatorService, simPort)
	}
	if d, ok := svc.DependsOn[SimulatorService]; !ok || d.Condition != types.ServiceConditionStarted {
		bad("extractor: want depends_on %s", SimulatorService)
	}
}

// checkLoader: DuckDB must outlive the container (a named volume) and the status endpoint
// must be reachable where it listens.
func checkLoader(p *types.Project, bad func(string, ...any)) {
	l, ok := p.Services[contracts.ServiceLoader]
	if !ok {
		return
	}
	dbPath := envValue(l, "DUCKDB_PATH")
	onVolume := false
	for _, v := range l.Volumes {
		if v.Type == types.VolumeTypeVolume && strings.HasPrefix(dbPath, strings.TrimSuffix(v.Target, "/")+"/") {
			if _, declared := p.Volumes[v.Source]; declared {
				onVolume = true
			}
		}
	}
	if !onVolume || path.Dir(dbPath) == "." {
		bad("loader: DUCKDB_PATH %q is not on a named volume", dbPath)
	}
	_, port, err := net.SplitHostPort(envValue(l, "GFN_STATUS_ADDR"))
	if err != nil {
		bad("loader: GFN_STATUS_ADDR: %v", err)
	} else if !publishes(l, port) {
		bad("loader: status listens on %s but the port is not published", port)
	}
}

func envValue(s types.ServiceConfig, k string) string {
	if v := s.Environment[k]; v != nil {
		return *v
	}
	return ""
}

func publishes(s types.ServiceConfig, port string) bool {
	for _, p := range s.Ports {
		if strconv.Itoa(int(p.Target)) == port && p.Published != "" {
			return true
		}
	}
	return false
}

var versionTag = regexp.MustCompile(`\d+\.\d+`)

// pinned reports whether an image reference names a digest or an exact version tag
// (1.27.3-bookworm, 12.15-slim); moving tags such as latest, nonroot or bookworm-slim are not.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return false
	}
	return versionTag.MatchString(image[i+1:])
}
