package quality_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/contracts/quality"
)

// EncodeStaged writes each record exactly as json.Marshal does (the staged format's
// definition), over the whole recording and the values where formatting changes.
func TestEncodeStagedMatchesJSONMarshal(t *testing.T) {
	var rows []quality.Row
	for _, body := range recording(t) {
		res, err := quality.ValidateBatch(body, quality.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, res.Rows...)
	}
	f := func(v float64) *float64 { return &v }
	s := func(v string) *string { return &v }
	for _, v := range []float64{0, math.Copysign(0, -1), 1e-6, 9.99e-7, 1e-7, 1.5e-300, 1e20, 1e21, 123456789e13, -2.5e-8, 0.1, 488000, 1.0 / 3} {
		rows = append(rows, quality.Row{APIRecord: contracts.APIRecord{Year: 2000, CountryCode: -1, CountryName: `Côte d'Ivoire "<&>"`,
			ShortName: "a\u2028b\x01", ISOA2: s("CI"), Record: "EFConsTotGHA", CropLand: f(v), Value: f(-v), Score: s("3A")}})
	}
	staged, err := quality.EncodeStaged(rows)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(staged, []byte("\n")), []byte("\n"))
	if len(lines) != len(rows) {
		t.Fatalf("%d lines for %d rows", len(lines), len(rows))
	}
	for i := range rows {
		want, err := json.Marshal(&rows[i].APIRecord)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows[i].Extra) == 0 && !bytes.Equal(lines[i], want) {
			t.Fatalf("row %d:\n got %s\nwant %s", i, lines[i], want)
		}
	}
	if _, err := quality.EncodeStaged([]quality.Row{{APIRecord: contracts.APIRecord{Value: f(math.NaN())}}}); err == nil {
		t.Fatal("NaN encoded")
	}
}
