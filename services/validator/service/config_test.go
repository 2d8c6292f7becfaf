package service

import (
	"strings"
	"testing"

	"github.com/gfnpipeline/services/validator/internal/validate"
	"github.com/gfnpipeline/shared/platform"
)

func TestConfig(t *testing.T) {
	parse := func(v string) (Config, error) {
		return platform.Parse[Config](func(k string) string {
			if k == "GFN_REJECT_THRESHOLD" {
				return v
			}
			return ""
		})
	}
	if got, err := parse(""); err != nil || float64(got.RejectThreshold) != validate.DefaultRejectThreshold {
		t.Fatalf("default %+v, %v", got, err)
	}
	for _, ok := range []string{"0", "0.2", "1"} {
		if _, err := parse(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"-0.1", "1.5", "five"} {
		if _, err := parse(bad); err == nil || !strings.Contains(err.Error(), `GFN_REJECT_THRESHOLD="`+bad+`": want a ratio between 0 and 1`) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}
