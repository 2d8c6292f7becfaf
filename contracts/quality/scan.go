package quality

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"

	"github.com/gfnpipeline/contracts"
)

// The scanner below is a strict single-pass JSON reader specialised for the API's records:
// encoding/json decodes this data at about 260k rows/s a core, too close to the contract's
// 250k rows/s, and cannot report which key of a row carried which raw value. It validates
// JSON syntax as it goes, so a body it accepts is a JSON array encoding/json also accepts.

// Indices of the API's fields, in contracts.APIFields order.
const (
	fYear = iota
	fCountryCode
	fCountryName
	fShortName
	fISOA2
	fRecord
	fCropLand
	fGrazingLand
	fForestLand
	fFishingGround
	fBuiltupLand
	fCarbon
	fValue
	fScore
	numFields
)

// fieldIndex maps an API key to its index, -1 for keys the contract does not know. Keys
// match exactly (encoding/json would also match "Year"; the API never sends that).
func fieldIndex(key []byte) int {
	switch string(key) {
	case "year":
		return fYear
	case "countryCode":
		return fCountryCode
	case "countryName":
		return fCountryName
	case "shortName":
		return fShortName
	case "isoa2":
		return fISOA2
	case "record":
		return fRecord
	case "cropLand":
		return fCropLand
	case "grazingLand":
		return fGrazingLand
	case "forestLand":
		return fForestLand
	case "fishingGround":
		return fFishingGround
	case "builtupLand":
		return fBuiltupLand
	case "carbon":
		return fCarbon
	case "value":
		return fValue
	case "score":
		return fScore
	}
	return -1
}

// JSON value kinds; kAbsent is a key the row does not have.
const (
	kAbsent byte = iota
	kString
	kNumber
	kBool
	kNull
	kObject
	kArray
)

// token is one field's raw JSON value as it appears in the body.
type token struct {
	kind byte
	raw  []byte
}

// maxDepth bounds nesting inside a row (unknown fields may hold objects) so a hostile body
// cannot exhaust the stack.
const maxDepth = 256

var (
	knownRecords = setOf(contracts.RecordTypes)
	knownScores  = setOf(contracts.Scores)
)

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// interned is a string value seen in the batch, keyed by its raw JSON token, with what the
// rules need to know about it worked out once rather than per row.
type interned struct {
	s           string
	knownRecord bool
	knownScore  bool
}

type rowKey struct {
	year, code int
	record     string
}

// validator holds one batch's scan state. Strings are interned (names, record types and
// scores repeat on every row of a country) and floats come from a slab, which keeps the
// allocations per row near one.
type validator struct {
	maxYear int
	res     Result

	data []byte
	pos  int

	strs map[string]*interned
	slab []float64
	seen map[rowKey]struct{}

	// Per-row scratch.
	fields [numFields]token
	extra  map[string]json.RawMessage
	viols  []Violation
}

func newValidator(opts Options) *validator {
	return &validator{
		maxYear: opts.maxYear(),
		strs:    make(map[string]*interned, 512),
		seen:    make(map[rowKey]struct{}, 4096),
	}
}

func maybeGunzip(body []byte) ([]byte, error) {
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrMalformedBody, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrMalformedBody, err)
	}
	return out, nil
}

func (v *validator) malformed(what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrMalformedBody, what, v.pos)
}

// scanArray walks the top-level array and checks each element as a row.
func (v *validator) scanArray(data []byte) error {
	v.data, v.pos = data, 0
	v.skipWS()
	if !v.consume('[') {
		return v.malformed("expected '['")
	}
	v.skipWS()
	if v.consume(']') {
		return v.end()
	}
	for idx := 0; ; idx++ {
		v.skipWS()
		start := v.pos
		if v.pos < len(v.data) && v.data[v.pos] == '{' {
			if err := v.scanObject(); err != nil {
				return err
			}
			v.checkRow(idx, v.data[start:v.pos])
		} else {
			if _, err := v.skipValue(0); err != nil {
				return err
			}
			v.res.Rejects = append(v.res.Rejects, Reject{
				Index:      idx,
				Violations: []Violation{{Rule: RuleType, Message: "row is not a JSON object"}},
				Row:        clone(v.data[start:v.pos]),
			})
		}
		v.res.RowsIn++
		v.skipWS()
		if v.consume(',') {
			continue
		}
		if v.consume(']') {
			return v.end()
		}
		return v.malformed("expected ',' or ']'")
	}
}

func (v *validator) end() error {
	v.skipWS()
	if v.pos != len(v.data) {
		return v.malformed("data after the array")
	}
	return nil
}

// Byte classes for the scanner's two hottest loops (indentation and string bodies).
var (
	isSpace       [256]bool
	stringSpecial [256]bool // ends or escapes a string, or may not appear in one
)

func init() {
	for _, c := range " \n\t\r" {
		isSpace[c] = true
	}
	for c := range 0x20 {
		stringSpecial[c] = true
	}
	stringSpecial['"'], stringSpecial['\\'] = true, true
}

func (v *validator) skipWS() {
	for v.pos < len(v.data) && isSpace[v.data[v.pos]] {
		v.pos++
	}
}

func (v *validator) consume(c byte) bool {
	if v.pos < len(v.data) && v.data[v.pos] == c {
		v.pos++
		return true
	}
	return false
}

// scanObject reads one row object into v.fields and v.extra.
func (v *validator) scanObject() error {
	v.fields = [numFields]token{}
	v.extra = nil
	v.pos++ // '{'
	v.skipWS()
	if v.consume('}') {
		return nil
	}
	for {
		v.skipWS()
		keyStart := v.pos
		if v.pos >= len(v.data) || v.data[v.pos] != '"' {
			return v.malformed("expected a key")
		}
		key, escaped, err := v.scanString()
		if err != nil {
			return err
		}
		if escaped {
			var s string
			if err := json.Unmarshal(v.data[keyStart:v.pos], &s); err != nil {
				return v.malformed("bad key")
			}
			key = []byte(s)
		}
		v.skipWS()
		if !v.consume(':') {
			return v.malformed("expected ':'")
		}
		v.skipWS()
		valStart := v.pos
		kind, err := v.skipValue(1)
		if err != nil {
			return err
		}
		raw := v.data[valStart:v.pos]
		if i := fieldIndex(key); i >= 0 {
			v.fields[i] = token{kind: kind, raw: raw}
		} else {
			if v.extra == nil {
				v.extra = make(map[string]json.RawMessage, 2)
			}
			v.extra[string(key)] = clone(raw)
		}
		v.skipWS()
		if v.consume(',') {
			continue
		}
		if v.consume('}') {
			return nil
		}
		return v.malformed("expected ',' or '}'")
	}
}

// skipValue reads any JSON value and reports its kind.
func (v *validator) skipValue(depth int) (byte, error) {
	if v.pos >= len(v.data) {
		return 0, v.malformed("unexpected end")
	}
	switch c := v.data[v.pos]; {
	case c == '"':
		_, _, err := v.scanString()
		return kString, err
	case c == '-' || (c >= '0' && c <= '9'):
		return kNumber, v.scanNumber()
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return 0, v.malformed("nesting too deep")
		}
		if c == '{' {
			return kObject, v.skipContainer('}', depth, true)
		}
		return kArray, v.skipContainer(']', depth, false)
	case c == 't':
		return kBool, v.literal("true")
	case c == 'f':
		return kBool, v.literal("false")
	case c == 'n':
		return kNull, v.literal("null")
	}
	return 0, v.malformed("unexpected character")
}

func (v *validator) literal(lit string) error {
	if !bytes.HasPrefix(v.data[v.pos:], []byte(lit)) {
		return v.malformed("bad literal")
	}
	v.pos += len(lit)
	return nil
}

// skipContainer validates a nested object or array (only unknown fields carry these).
func (v *validator) skipContainer(closer byte, depth int, object bool) error {
	v.pos++
	v.skipWS()
	if v.consume(closer) {
		return nil
	}
	for {
		v.skipWS()
		if object {
			if v.pos >= len(v.data) || v.data[v.pos] != '"' {
				return v.malformed("expected a key")
			}
			if _, _, err := v.scanString(); err != nil {
				return err
			}
			v.skipWS()
			if !v.consume(':') {
				return v.malformed("expected ':'")
			}
			v.skipWS()
		}
		if _, err := v.skipValue(depth + 1); err != nil {
			return err
		}
		v.skipWS()
		if v.consume(',') {
			continue
		}
		if v.consume(closer) {
			return nil
		}
		return v.malformed("expected ',' or a closing bracket")
	}
}

// scanString reads a string starting at its opening quote; it returns the bytes between the
// quotes and whether they hold escapes (then the caller decodes them).
func (v *validator) scanString() ([]byte, bool, error) {
	start := v.pos + 1
	escaped := false
	for i := start; i < len(v.data); i++ {
		if !stringSpecial[v.data[i]] {
			continue
		}
		switch c := v.data[i]; {
		case c == '"':
			v.pos = i + 1
			return v.data[start:i], escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(v.data) {
				v.pos = i
				return nil, false, v.malformed("bad escape")
			}
			switch v.data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 >= len(v.data) || !isHex(v.data[i+2]) || !isHex(v.data[i+3]) || !isHex(v.data[i+4]) || !isHex(v.data[i+5]) {
					v.pos = i
					return nil, false, v.malformed("bad \\u escape")
				}
				i += 5
			default:
				v.pos = i
				return nil, false, v.malformed("bad escape")
			}
		case c < 0x20:
			v.pos = i
			return nil, false, v.malformed("control character in string")
		}
	}
	v.pos = len(v.data)
	return nil, false, v.malformed("unterminated string")
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber reads a number per the JSON grammar.
func (v *validator) scanNumber() error {
	d, i := v.data, v.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		v.pos = i
		return v.malformed("bad number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			v.pos = i
			return v.malformed("bad number")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			v.pos = i
			return v.malformed("bad number")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	v.pos = i
	return nil
}

func clone(b []byte) json.RawMessage {
	return append(json.RawMessage(nil), b...)
}
