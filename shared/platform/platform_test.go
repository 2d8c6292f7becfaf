package platform_test

import (
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/platform"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestIntEnv(t *testing.T) {
	tests := []struct {
		value   string
		want    int
		wantErr bool
	}{
		{"", 7, false},
		{"3", 3, false},
		{"0", 0, true},
		{"-2", 0, true},
		{"three", 0, true},
	}
	for _, tc := range tests {
		got, err := platform.IntEnv(env(map[string]string{"N": tc.value}), "N", 7)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("IntEnv(%q) = %d, %v", tc.value, got, err)
		}
	}
}

func TestDurationEnv(t *testing.T) {
	tests := []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", 25 * time.Second, false},
		{"5s", 5 * time.Second, false},
		{"1m30s", 90 * time.Second, false},
		{"0s", 0, true},
		{"25", 0, true},
		{"-1s", 0, true},
	}
	for _, tc := range tests {
		got, err := platform.DurationEnv(env(map[string]string{"D": tc.value}), "D", 25*time.Second)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("DurationEnv(%q) = %v, %v", tc.value, got, err)
		}
	}
}

func TestTopologyFromEnv(t *testing.T) {
	top := platform.Topology(env(map[string]string{platform.EnvBucket: "lake", platform.EnvNamePrefix: "stg-"}))
	if top.Bucket != "stg-lake" || top.Name(contracts.QueueValidator) != "stg-gfn-validator" {
		t.Fatalf("bucket %s, validator %s", top.Bucket, top.Name(contracts.QueueValidator))
	}
	if def := platform.Topology(env(nil)); def.Bucket != contracts.DefaultBucket || def.Prefix != "" {
		t.Fatalf("default topology %+v", def)
	}
}
