package platform_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/platform"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	got, err := platform.Parse[platform.Config](env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := platform.Config{
		Names:   platform.Names{Bucket: contracts.DefaultBucket},
		Log:     platform.Log{Level: "info"},
		Runtime: platform.RuntimePoller,
		Poller:  platform.Poller{Concurrency: 1, WaitSeconds: 20, DrainTimeout: messaging.DefaultDrainTimeout},
	}
	if got != want {
		t.Fatalf("defaults %+v, want %+v", got, want)
	}
}

// TestConfigErrors: every rejected value is an error naming the variable and the value.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GFN_CONCURRENCY": "x"}, `GFN_CONCURRENCY="x": want a positive whole number`},
		{map[string]string{"GFN_CONCURRENCY": "0"}, `GFN_CONCURRENCY="0": want a positive whole number`},
		{map[string]string{"SQS_WAIT_SECONDS": "-2"}, `SQS_WAIT_SECONDS="-2": want a positive whole number`},
		{map[string]string{"GFN_DRAIN_TIMEOUT": "25"}, `GFN_DRAIN_TIMEOUT="25": want a positive duration`},
		{map[string]string{"GFN_DRAIN_TIMEOUT": "0s"}, `GFN_DRAIN_TIMEOUT="0s": want a positive duration`},
		{map[string]string{"RUNTIME": "ecs"}, `RUNTIME="ecs": want poller or lambda`},
	}
	for _, tc := range tests {
		_, err := platform.Parse[platform.Config](env(tc.env))
		var se *platform.SettingError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &se) {
			t.Errorf("env %v: err = %v, want a SettingError with %q", tc.env, err, tc.want)
		}
	}
	// Every bad setting is reported, not only the first.
	_, err := platform.Parse[platform.Config](env(map[string]string{"GFN_CONCURRENCY": "x", "RUNTIME": "ecs"}))
	if err == nil || !strings.Contains(err.Error(), "GFN_CONCURRENCY") || !strings.Contains(err.Error(), "RUNTIME") {
		t.Errorf("two bad settings: err = %v", err)
	}
}

func TestConfigValues(t *testing.T) {
	got, err := platform.Parse[platform.Config](env(map[string]string{
		"RUNTIME": "lambda", "GFN_CONCURRENCY": "4", "GFN_DRAIN_TIMEOUT": "1m30s", "LOG_LEVEL": "debug", "GFN_METRICS_ADDR": "127.0.0.1:0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Runtime != platform.RuntimeLambda || got.Concurrency != 4 || got.DrainTimeout != 90*time.Second || got.Level != "debug" || got.MetricsAddr != "127.0.0.1:0" {
		t.Fatalf("config %+v", got)
	}
}

func TestSettings(t *testing.T) {
	var names []string
	for _, s := range platform.Settings[platform.Config]() {
		names = append(names, s.Name+"="+s.Default)
	}
	want := "GFN_BUCKET=gfn-data-lake GFN_NAME_PREFIX= LOG_LEVEL=info RUNTIME=poller GFN_CONCURRENCY=1 SQS_WAIT_SECONDS=20 GFN_DRAIN_TIMEOUT=25s GFN_METRICS_ADDR="
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("settings %s\nwant     %s", got, want)
	}
}

func TestTopologyFromEnv(t *testing.T) {
	top := platform.Topology(env(map[string]string{"GFN_BUCKET": "lake", "GFN_NAME_PREFIX": "stg-"}))
	if top.Bucket != "stg-lake" || top.Name(contracts.QueueValidator) != "stg-gfn-validator" {
		t.Fatalf("bucket %s, validator %s", top.Bucket, top.Name(contracts.QueueValidator))
	}
	if def := platform.Topology(env(nil)); def.Bucket != contracts.DefaultBucket || def.Prefix != "" {
		t.Fatalf("default topology %+v", def)
	}
}
