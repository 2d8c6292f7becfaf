package gfnapi

import (
	"encoding/json"
	"errors"
	"strings"
)

// KeyFromSecret returns the API key a Secrets Manager secret holds: the bare key, or a JSON
// object with an "api_key" or "GFN_API_KEY" field. The key is never logged.
func KeyFromSecret(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		var fields map[string]string
		if err := json.Unmarshal([]byte(s), &fields); err != nil {
			return "", errors.New("secret is a JSON object but not one of strings")
		}
		s = strings.TrimSpace(fields["api_key"])
		if s == "" {
			s = strings.TrimSpace(fields["GFN_API_KEY"])
		}
	}
	if s == "" {
		return "", errors.New("secret holds no key")
	}
	return s, nil
}
