package quality

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/gfnpipeline/contracts"
)

// The staged format is what the validator writes to staged/ and the transformer reads:
// NDJSON, one valid row per line, each line a JSON object with
//   - the API's keys as the API spells them, in contracts.APIFields order, with the API's
//     types (null stays null: isoa2, score and the six components may be null), then
//   - the row's unknown keys, sorted by name, with their values exactly as the API sent them.
//
// So a staged line is an API record that passed tier 1, and DuckDB's read_json reads the file
// as it is.

// ErrBadStaged is returned for staged data that is not rows of this format.
var ErrBadStaged = errors.New("malformed staged data")

// EncodeStaged writes rows in the staged format.
func EncodeStaged(rows []Row) ([]byte, error) {
	out := make([]byte, 0, len(rows)*320)
	var line []byte
	for i := range rows {
		var err error
		line, err = appendRecord(line[:0], &rows[i].APIRecord)
		if err != nil {
			return nil, fmt.Errorf("encode staged row %d: %w", i, err)
		}
		if len(rows[i].Extra) > 0 {
			line = line[:len(line)-1] // reopen the object for the extra keys
			names := make([]string, 0, len(rows[i].Extra))
			for k := range rows[i].Extra {
				names = append(names, k)
			}
			slices.Sort(names)
			for _, k := range names {
				key, err := json.Marshal(k)
				if err != nil {
					return nil, fmt.Errorf("encode staged row %d key %q: %w", i, k, err)
				}
				line = append(line, ',')
				line = append(line, key...)
				line = append(line, ':')
				line = append(line, rows[i].Extra[k]...)
			}
			line = append(line, '}')
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	return out, nil
}

// appendRecord appends r as json.Marshal writes it, byte for byte (a test holds them equal over
// the recording), without reflection: it was most of the validator's time.
func appendRecord(b []byte, r *contracts.APIRecord) ([]byte, error) {
	b = append(b, `{"year":`...)
	b = strconv.AppendInt(b, int64(r.Year), 10)
	b = append(b, `,"countryCode":`...)
	b = strconv.AppendInt(b, int64(r.CountryCode), 10)
	b = append(b, `,"countryName":`...)
	b = appendString(b, r.CountryName)
	b = append(b, `,"shortName":`...)
	b = appendString(b, r.ShortName)
	b = append(b, `,"isoa2":`...)
	b = appendOptString(b, r.ISOA2)
	b = append(b, `,"record":`...)
	b = appendString(b, r.Record)
	var err error
	for _, f := range [...]struct {
		key string
		v   *float64
	}{{`,"cropLand":`, r.CropLand}, {`,"grazingLand":`, r.GrazingLand}, {`,"forestLand":`, r.ForestLand},
		{`,"fishingGround":`, r.FishingGround}, {`,"builtupLand":`, r.BuiltupLand}, {`,"carbon":`, r.Carbon}, {`,"value":`, r.Value}} {
		b = append(b, f.key...)
		if b, err = appendOptFloat(b, f.v); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"score":`...)
	b = appendOptString(b, r.Score)
	return append(b, '}'), nil
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

// appendString writes plain ASCII directly and leaves anything json.Marshal escapes (quotes,
// controls, <, >, &, non-ASCII) to it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendOptFloat formats as encoding/json does: shortest repr, 'f' unless the exponent is
// below -6 or from 21 on, and exponents without a leading zero.
func appendOptFloat(b []byte, f *float64) ([]byte, error) {
	if f == nil {
		return append(b, "null"...), nil
	}
	v := *f
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil, fmt.Errorf("json: unsupported value: %v", v)
	}
	format := byte('f')
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// DecodeStaged reads rows in the staged format. It checks syntax, required fields and types
// (what a typed row needs), not the other rules: the validator applied them when it staged.
func DecodeStaged(data []byte) ([]Row, error) {
	v := newValidator(Options{})
	v.data = data
	var rows []Row
	for n := 1; ; n++ {
		v.skipWS()
		if v.pos >= len(v.data) {
			return rows, nil
		}
		if v.data[v.pos] != '{' {
			return nil, fmt.Errorf("%w: row %d: not a JSON object", ErrBadStaged, n)
		}
		if err := v.scanObject(); err != nil {
			return nil, fmt.Errorf("%w: row %d: %w", ErrBadStaged, n, err)
		}
		v.viols = v.viols[:0]
		d := v.decodeFields()
		if len(v.viols) > 0 {
			return nil, fmt.Errorf("%w: row %d: %s: %s", ErrBadStaged, n, v.viols[0].Rule, v.viols[0].Message)
		}
		rows = append(rows, Row{APIRecord: d.rec, Extra: v.extra})
	}
}
