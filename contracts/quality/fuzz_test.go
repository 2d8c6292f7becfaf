package quality_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gfnpipeline/contracts/quality"
	"github.com/gfnpipeline/contracts/quality/qualitytest"
)

// The fast scanner accepts exactly the bodies encoding/json accepts as a top-level array, and
// every element ends up valid or rejected.
func FuzzValidateBatchMatchesEncodingJSON(f *testing.F) {
	f.Add(qualitytest.Build().Body)
	for _, s := range []string{`[]`, `[1,"a",null,true,{}]`, `[{"year":2020}]`, `[{"a":{"b":[1,2,{"c":"\u00e9"}]}}]`,
		`[{"a":1e5,"b":-0.5E-3}]`, `{}`, `[`, `[1,]`, `[{"a":01}]`, `["\x01"]`, `[{"a":"\ud800"}]`, ` [ ] `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
			t.Skip("gzip bodies take another path")
		}
		var arr []json.RawMessage
		stdErr := json.Unmarshal(body, &arr)
		res, err := quality.ValidateBatch(body, quality.Options{MaxYear: 2026})
		if (stdErr == nil) != (err == nil) {
			t.Fatalf("encoding/json error %v, ValidateBatch error %v, body %q", stdErr, err, body)
		}
		if err != nil {
			if !errors.Is(err, quality.ErrMalformedBody) {
				t.Fatalf("error %v is not ErrMalformedBody", err)
			}
			return
		}
		if res.RowsIn != len(arr) || len(res.Rows)+len(res.Rejects) != res.RowsIn {
			t.Fatalf("%d elements: %d in, %d valid, %d rejected", len(arr), res.RowsIn, len(res.Rows), len(res.Rejects))
		}
		for _, rj := range res.Rejects {
			if !bytes.Equal(bytes.TrimSpace(arr[rj.Index]), rj.Row) {
				t.Fatalf("reject %d row %s, element %s", rj.Index, rj.Row, arr[rj.Index])
			}
		}
	})
}
