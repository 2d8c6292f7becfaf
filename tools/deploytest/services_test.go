package deploytest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gfnpipeline/contracts"
	extractor "github.com/gfnpipeline/services/extractor/service"
	loader "github.com/gfnpipeline/services/loader/service"
	notifier "github.com/gfnpipeline/services/notifier/service"
	transformer "github.com/gfnpipeline/services/transformer/service"
	validator "github.com/gfnpipeline/services/validator/service"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/shared/warehouse"
)

// repoRoot is the repository this module sits in (tools/deploytest).
const repoRoot = "../.."

// serviceSettings are the settings each of contracts.Services reads besides the platform's:
// its Config's env tags.
var serviceSettings = map[string][]platform.Setting{
	contracts.ServiceExtractor:   platform.Settings[extractor.Config](),
	contracts.ServiceValidator:   platform.Settings[validator.Config](),
	contracts.ServiceTransformer: platform.Settings[transformer.Config](),
	contracts.ServiceLoader:      platform.Settings[loader.Config](),
	contracts.ServiceNotifier:    platform.Settings[notifier.Config](),
}

// pipelineServices is what the deployment must run: each service, its queue and the
// settings its code reads. Production credentials (a Secrets Manager secret's ARN,
// Snowflake's settings) are optional: the local stack has the simulator's key and DuckDB.
func pipelineServices(t *testing.T) []Service {
	t.Helper()
	snowflake := settingNames(platform.Settings[warehouse.SnowflakeConfig]())
	var out []Service
	for _, c := range contracts.Services() {
		settings, ok := serviceSettings[c.Name]
		if !ok {
			t.Fatalf("deploytest: no Config for service %s (add it to serviceSettings)", c.Name)
		}
		s := Service{Name: c.Name, Queue: c.Queue, Concurrency: c.LocalConcurrency}
		for _, n := range settingNames(settings) {
			if strings.HasSuffix(n, "_SECRET_ARN") || slices.Contains(snowflake, n) {
				s.Optional = append(s.Optional, n)
			} else {
				s.Env = append(s.Env, n)
			}
		}
		out = append(out, s)
	}
	return out
}

func settingNames(settings []platform.Setting) []string {
	out := make([]string, len(settings))
	for i, s := range settings {
		out[i] = s.Name
	}
	return out
}

func TestSettingNamesReadConfig(t *testing.T) {
	got := strings.Join(settingNames(platform.Settings[loader.Config]()), ",")
	for _, want := range []string{"DUCKDB_PATH", "GFN_STATUS_ADDR", "SNOWFLAKE_SECRET_ARN"} {
		if !strings.Contains(got, want) {
			t.Errorf("loader settings %v lack %s", got, want)
		}
	}
}

// The services/ directories and go.work's modules are the services contracts lists (Make
// finds the services from services/*/go.mod).
func TestServiceModulesAreTheServices(t *testing.T) {
	mods, err := filepath.Glob(filepath.Join(repoRoot, "services", "*", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range mods {
		dirs = append(dirs, filepath.Base(filepath.Dir(m)))
	}
	want := contracts.ServiceNames()
	slices.Sort(dirs)
	slices.Sort(want)
	if !slices.Equal(dirs, want) {
		t.Errorf("services/*/go.mod modules %v, contracts.Services %v", dirs, want)
	}
	work, err := os.ReadFile(filepath.Join(repoRoot, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range want {
		if !strings.Contains(string(work), "./services/"+name+"\n") {
			t.Errorf("go.work does not use ./services/%s", name)
		}
	}
}
