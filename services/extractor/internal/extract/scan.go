package extract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gfnpipeline/contracts"
)

// errBadResponse marks a body the extractor refuses to land (not JSON, truncated, not an
// array of records). Retrying returns the same bytes, so it is permanent.
var errBadResponse = errors.New("bad GFN API response")

var knownFields = func() map[string]bool {
	m := make(map[string]bool, len(contracts.APIFields))
	for _, f := range contracts.APIFields {
		m[f] = true
	}
	return m
}()

// scanResult is what one pass over a response body finds.
type scanResult struct {
	records int
	// drift maps each field the contract does not know to how many records carry it.
	drift map[string]int
}

func (s scanResult) driftFields() []string {
	out := make([]string, 0, len(s.drift))
	for f := range s.drift {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// scanRecords checks that body is a JSON array of objects and counts them, noting record keys
// the contract does not know. A byte scan after json.Valid is several times faster than
// decoding, and decoding is the validator's job anyway.
func scanRecords(body []byte) (scanResult, error) {
	res := scanResult{}
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset >= int64(len(bytes.TrimRight(body, " \t\r\n"))) {
			return res, fmt.Errorf("%w: truncated JSON (%d bytes): %w", errBadResponse, len(body), err)
		}
		return res, fmt.Errorf("%w: not JSON: %w", errBadResponse, err)
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if trimmed[0] != '[' {
		return res, fmt.Errorf("%w: a JSON %s, not an array of records", errBadResponse, jsonKind(trimmed[0]))
	}
	depth := 0
	expectKey := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch c {
		case '"':
			end := i + 1
			for body[end] != '"' {
				if body[end] == '\\' {
					end++
				}
				end++
			}
			if depth == 2 && expectKey {
				expectKey = false
				if key := body[i+1 : end]; !knownFields[string(key)] {
					if res.drift == nil {
						res.drift = map[string]int{}
					}
					res.drift[string(key)]++
				}
			} else if depth == 1 {
				return res, fmt.Errorf("%w: element %d is a string, not a record", errBadResponse, res.records)
			}
			i = end
		case '{', '[':
			if depth == 1 {
				if c != '{' {
					return res, fmt.Errorf("%w: element %d is an array, not a record", errBadResponse, res.records)
				}
				res.records++
				expectKey = true
			}
			depth++
		case '}', ']':
			depth--
		case ',':
			if depth == 2 {
				expectKey = true
			}
		case ' ', '\t', '\r', '\n', ':':
		default:
			if depth == 1 {
				return res, fmt.Errorf("%w: element %d is a %s, not a record", errBadResponse, res.records, jsonKind(c))
			}
		}
	}
	return res, nil
}

func jsonKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// filterRecords keeps the records of the given countries and record types (empty = all),
// laid out as the API lays out a response (indent 2).
func filterRecords(body []byte, countries []int, recordTypes []string) ([]byte, int, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errBadResponse, err)
	}
	out := []byte("[")
	kept := 0
	for i, e := range elems {
		var r struct {
			CountryCode int    `json:"countryCode"`
			Record      string `json:"record"`
		}
		if err := json.Unmarshal(e, &r); err != nil {
			return nil, 0, fmt.Errorf("%w: record %d: %w", errBadResponse, i, err)
		}
		if (len(countries) > 0 && !slices.Contains(countries, r.CountryCode)) ||
			(len(recordTypes) > 0 && !slices.Contains(recordTypes, r.Record)) {
			continue
		}
		if kept > 0 {
			out = append(out, ',')
		}
		out = append(out, "\n  "...)
		out = append(out, e...)
		kept++
	}
	if kept == 0 {
		return []byte("[]"), 0, nil
	}
	return append(out, "\n]"...), kept, nil
}
