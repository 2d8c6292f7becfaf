package sim

import (
	"fmt"
	"strconv"
	"strings"
)

// FaultKind names a failure the simulator can inject into a data request.
type FaultKind string

// Fault kinds accepted in GFNAPI_SIM_FAULTS.
const (
	Fault500      FaultKind = "500"      // HTTP 500 with a JSON error body
	Fault429      FaultKind = "429"      // HTTP 429 with Retry-After: 1
	FaultReset    FaultKind = "reset"    // connection closed without a response
	FaultSlow     FaultKind = "slow"     // normal response after Config.SlowDelay
	FaultTruncate FaultKind = "truncate" // full Content-Length, half the body, then close
)

var faultKinds = []FaultKind{Fault500, Fault429, FaultReset, FaultSlow, FaultTruncate}

// Fault is one kind injected with a probability per data request, on every year's requests
// or (Year set) only on /data/{country}/{Year}.
type Fault struct {
	Kind        FaultKind
	Probability float64
	Year        int
}

// ParseFaults reads "500:0.2,429:0.1,reset:0.05,slow:0.1,truncate:0.02". A "@YEAR" suffix
// scopes a fault to one year's data requests: "500:1@2005" fails every 2005 request and no
// other. At most one fault hits a request, so the probabilities that can apply to one request
// (the unscoped ones plus one year's) must sum to at most 1; a kind appears once per scope.
func ParseFaults(s string) ([]Fault, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []Fault
	type scoped struct {
		kind FaultKind
		year int
	}
	seen := map[scoped]bool{}
	totals := map[int]float64{} // by year; 0 is unscoped
	for _, part := range strings.Split(s, ",") {
		spec, yearStr, hasYear := strings.Cut(strings.TrimSpace(part), "@")
		year := 0
		if hasYear {
			y, err := strconv.Atoi(strings.TrimSpace(yearStr))
			if err != nil || y <= 0 {
				return nil, fmt.Errorf("fault %q: want kind:probability@YEAR", part)
			}
			year = y
		}
		name, prob, ok := strings.Cut(spec, ":")
		if !ok {
			return nil, fmt.Errorf("fault %q: want kind:probability", part)
		}
		kind := FaultKind(strings.ToLower(strings.TrimSpace(name)))
		known := false
		for _, k := range faultKinds {
			known = known || k == kind
		}
		if !known {
			return nil, fmt.Errorf("fault %q: unknown kind (want one of %v)", part, faultKinds)
		}
		if seen[scoped{kind, year}] {
			return nil, fmt.Errorf("fault %q: kind given twice", part)
		}
		seen[scoped{kind, year}] = true
		p, err := strconv.ParseFloat(strings.TrimSpace(prob), 64)
		if err != nil || p < 0 || p > 1 {
			return nil, fmt.Errorf("fault %q: probability must be a number in [0,1]", part)
		}
		totals[year] += p
		out = append(out, Fault{Kind: kind, Probability: p, Year: year})
	}
	for year, total := range totals {
		if year != 0 {
			total += totals[0]
		}
		if total > 1+1e-9 {
			return nil, fmt.Errorf("faults %q: probabilities sum to %.3f > 1", s, total)
		}
	}
	return out, nil
}
