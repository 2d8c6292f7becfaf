package service

import (
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/shared/platform"
)

func TestConfig(t *testing.T) {
	parse := func(env map[string]string) (Config, error) {
		return platform.Parse[Config](func(k string) string { return env[k] })
	}
	if got, err := parse(nil); err != nil || got != (Config{DLQWatchInterval: time.Minute}) {
		t.Fatalf("defaults %+v, %v", got, err)
	}
	if _, err := parse(map[string]string{"GFN_DLQ_WATCH_INTERVAL": "0s"}); err == nil || !strings.Contains(err.Error(), `GFN_DLQ_WATCH_INTERVAL="0s": want a positive duration`) {
		t.Fatalf("err = %v", err)
	}
}
