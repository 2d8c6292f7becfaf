package deploytest

import (
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

// serviceConfigs is each service, its queue and the settings it reads besides the
// platform's: its Config's env tags.
var serviceConfigs = []struct {
	name, queue string
	settings    []platform.Setting
}{
	{"extractor", contracts.QueueExtractor, platform.Settings[extractor.Config]()},
	{"validator", contracts.QueueValidator, platform.Settings[validator.Config]()},
	{"transformer", contracts.QueueTransformer, platform.Settings[transformer.Config]()},
	{"loader", contracts.QueueLoader, platform.Settings[loader.Config]()},
	{"notifier", contracts.QueueNotifier, platform.Settings[notifier.Config]()},
}

// pipelineServices is what the deployment must run: each service, its queue and the
// settings its code reads. Production credentials (a Secrets Manager secret's ARN,
// Snowflake's settings) are optional: the local stack has the simulator's key and DuckDB.
func pipelineServices(t *testing.T) []Service {
	t.Helper()
	snowflake := settingNames(platform.Settings[warehouse.SnowflakeConfig]())
	var out []Service
	for _, c := range serviceConfigs {
		s := Service{Name: c.name, Queue: c.queue}
		for _, n := range settingNames(c.settings) {
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
