// Package quality states the tier-1 staging contract for GFN API records: the rules a raw
// batch must meet before anything is staged. soda/staging_checks.yml states the same rules in
// SodaCL, check for check, under the same names.
//
// A batch is the API's JSON array (optionally gzip-compressed). Each element is checked on
// its own; rows that break a rule are rejected with every rule they break, the rest are
// valid. An unknown record type is drift, not bad data: the row passes with a warning. Keys
// the contract does not know are kept with the row (Row.Extra) and counted.
package quality

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gfnpipeline/contracts"
)

// Rule names. Rejects, warnings, the Soda checks and the docs all use these.
const (
	RuleRequired      = "required"
	RuleType          = "type"
	RuleYearRange     = "year_range"
	RuleCountryCode   = "country_code"
	RuleISOA2         = "isoa2_format"
	RuleRecordType    = "record_type"
	RuleNonNegative   = "non_negative"
	RuleComponentsSum = "components_sum"
	RuleDuplicateKey  = "duplicate_key"
	RuleScore         = "score"
)

// Severity of a rule: a reject removes the row from the batch, a warning only counts it.
const (
	SeverityReject = "reject"
	SeverityWarn   = "warn"
)

// RuleSpec documents one rule.
type RuleSpec struct {
	Name        string
	Severity    string
	Description string
}

// Rules is the contract, in the order a row is checked.
var Rules = []RuleSpec{
	{RuleRequired, SeverityReject, "year, countryCode, countryName, shortName, record and value are present and not null"},
	{RuleType, SeverityReject, "the row is an object; year and countryCode are integers; countryName, shortName, record are strings; isoa2 and score are strings or null; the six components and value are numbers (components may be null)"},
	{RuleYearRange, SeverityReject, fmt.Sprintf("year is within %d..(current year + 1)", MinYear)},
	{RuleCountryCode, SeverityReject, fmt.Sprintf("countryCode (GFN code, not ISO) is within 1..%d (the warehouse's 32-bit column)", MaxCountryCode)},
	{RuleISOA2, SeverityReject, `isoa2 is null, "" or two upper-case letters ("NA" is Namibia)`},
	{RuleRecordType, SeverityWarn, "record is one of contracts.RecordTypes; an unknown type passes with a warning (drift)"},
	{RuleNonNegative, SeverityReject, "value and the six components are >= 0"},
	{RuleComponentsSum, SeverityReject, "where all six components are present they sum to value within 1e-6 + 1e-6*|value|"},
	{RuleDuplicateKey, SeverityReject, "(countryCode, year, record) is unique in the batch; the first occurrence wins"},
	{RuleScore, SeverityReject, `score is null, "" or one of contracts.Scores`},
}

// MaxCountryCode is the largest code the warehouse's country_code column (32-bit) holds: a
// larger one is rejected here rather than wrapped by the transformer.
const MaxCountryCode = math.MaxInt32

// MinYear is the first year of the National Footprint and Biocapacity Accounts.
const MinYear = 1961

// The components-sum tolerance. The API rounds World per-capita rows through float32-sized
// steps (relative error up to 6e-7 in the recording) and its TotGHA values reach 2e10, so a
// purely absolute 1e-6 rejects real rows; the relative term admits them and still catches a
// component that is off by more than a part per million.
const (
	SumAbsTolerance = 1e-6
	SumRelTolerance = 1e-6
)

// ErrMalformedBody means the body is not a well-formed JSON array (or not valid gzip): the
// batch as a whole cannot be read, which no retry fixes.
var ErrMalformedBody = errors.New("body is not a well-formed JSON array")

// Options tune a validation run.
type Options struct {
	// MaxYear is the last acceptable year; 0 means the current UTC year + 1.
	MaxYear int
}

func (o Options) maxYear() int {
	if o.MaxYear != 0 {
		return o.MaxYear
	}
	return time.Now().UTC().Year() + 1
}

// Row is a valid API record plus the keys the contract does not know, kept verbatim.
// String and number pointers may be shared between rows of a batch: treat them as read-only.
type Row struct {
	contracts.APIRecord
	Extra map[string]json.RawMessage
}

// Violation is one broken rule. Value is the offending JSON value, nil when the field is
// missing.
type Violation struct {
	Rule    string          `json:"rule"`
	Field   string          `json:"field,omitempty"`
	Value   json.RawMessage `json:"value,omitempty"`
	Message string          `json:"message"`
}

// Reject is a row that broke at least one rule, with the row as the API sent it.
type Reject struct {
	Index      int             `json:"index"`
	Violations []Violation     `json:"violations"`
	Row        json.RawMessage `json:"row"`
}

// Warning is a rule a row broke without being rejected (record_type drift).
type Warning struct {
	Index int `json:"index"`
	Violation
}

// Result of validating a batch.
type Result struct {
	RowsIn   int
	Rows     []Row
	Rejects  []Reject
	Warnings []Warning
	// UnknownRecordTypes counts rows per record value outside contracts.RecordTypes.
	UnknownRecordTypes map[string]int
	// UnknownFields counts rows per key outside contracts.APIFields (schema drift).
	UnknownFields map[string]int
}

// RejectRatio is rejected rows over rows in (0 for an empty batch).
func (r Result) RejectRatio() float64 {
	if r.RowsIn == 0 {
		return 0
	}
	return float64(len(r.Rejects)) / float64(r.RowsIn)
}

// CountByRule counts rows per rule broken (rejects and warnings), every rule present.
func (r Result) CountByRule() map[string]int {
	out := make(map[string]int, len(Rules))
	for _, s := range Rules {
		out[s.Name] = 0
	}
	for _, rj := range r.Rejects {
		for _, v := range rj.Violations {
			out[v.Rule]++
		}
	}
	for _, w := range r.Warnings {
		out[w.Rule]++
	}
	return out
}

// UnknownFieldNames lists the unknown keys seen, sorted.
func (r Result) UnknownFieldNames() []string {
	names := make([]string, 0, len(r.UnknownFields))
	for k := range r.UnknownFields {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// ValidateBatch checks every element of body, the API's JSON array, possibly gzip-compressed.
// The error is only for a body that cannot be read as a JSON array (ErrMalformedBody); bad
// rows are reported in the Result.
func ValidateBatch(body []byte, opts Options) (Result, error) {
	body, err := maybeGunzip(body)
	if err != nil {
		return Result{}, err
	}
	v := newValidator(opts)
	// The API's indented rows take about 420 bytes each; sizing for 300 avoids regrowing.
	v.res.Rows = make([]Row, 0, len(body)/300+1)
	if err := v.scanArray(body); err != nil {
		return Result{}, err
	}
	return v.res, nil
}
