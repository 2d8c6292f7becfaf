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

// pipelineServices is what the deployment must run: each service, its queue and the
// settings its code reads: its Config's env tags.
func pipelineServices(t *testing.T) []Service {
	t.Helper()
	return []Service{
		service[extractor.Config]("extractor", contracts.QueueExtractor),
		service[validator.Config]("validator", contracts.QueueValidator),
		service[transformer.Config]("transformer", contracts.QueueTransformer),
		service[loader.Config]("loader", contracts.QueueLoader),
		service[notifier.Config]("notifier", contracts.QueueNotifier),
	}
}

// service is the deployed service whose settings are C's. Production credentials (a
// Secrets Manager secret's ARN, Snowflake's settings) are optional: the local stack has the
// simulator's key and DuckDB.
func service[C any](name, queue string) Service {
	s := Service{Name: name, Queue: queue}
	snowflake := settingNames[warehouse.SnowflakeConfig]()
	for _, n := range settingNames[C]() {
		if strings.HasSuffix(n, "_SECRET_ARN") || slices.Contains(snowflake, n) {
			s.Optional = append(s.Optional, n)
		} else {
			s.Env = append(s.Env, n)
		}
	}
	return s
}

// settingNames are the variables settings struct T reads.
func settingNames[T any]() []string {
	var out []string
	for _, s := range platform.Settings[T]() {
		out = append(out, s.Name)
	}
	return out
}

func TestSettingNamesReadConfig(t *testing.T) {
	got := strings.Join(settingNames[loader.Config](), ",")
	for _, want := range []string{"DUCKDB_PATH", "GFN_STATUS_ADDR", "SNOWFLAKE_SECRET_ARN"} {
		if !strings.Contains(got, want) {
			t.Errorf("loader settings %v lack %s", got, want)
		}
	}
}
