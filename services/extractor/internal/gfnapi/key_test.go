package gfnapi_test

import (
	"testing"

	"github.com/gfnpipeline/services/extractor/internal/gfnapi"
)

func TestKeyFromSecret(t *testing.T) {
	tests := []struct{ name, secret, want string }{
		{"plain", "plain-secret-key\n", "plain-secret-key"},
		{"json", `{"api_key":"json-secret-key"}`, "json-secret-key"},
		{"json env name", `{"GFN_API_KEY":"env-named-key"}`, "env-named-key"},
		{"empty json", `{"other":"x"}`, ""},
		{"not strings", `{"api_key":3}`, ""},
		{"blank", " \n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gfnapi.KeyFromSecret(tc.secret)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("want an error for secret %q, got a key", tc.secret)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("KeyFromSecret = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
