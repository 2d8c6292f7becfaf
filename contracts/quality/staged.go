package quality

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	var buf bytes.Buffer
	buf.Grow(len(rows) * 400)
	for i := range rows {
		line, err := json.Marshal(&rows[i].APIRecord)
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
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
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
