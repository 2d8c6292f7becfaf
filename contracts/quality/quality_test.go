package quality_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/gfnpipeline/contracts/quality"
	"github.com/gfnpipeline/contracts/quality/qualitytest"
)

const maxYear = 2026

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rulesOf lists the rules each rejected row broke, by row index.
func rulesOf(res quality.Result) map[int][]string {
	out := map[int][]string{}
	for _, rj := range res.Rejects {
		for _, v := range rj.Violations {
			out[rj.Index] = append(out[rj.Index], v.Rule)
		}
	}
	return out
}

func TestFixtureOneRejectPerBrokenRow(t *testing.T) {
	f := qualitytest.Build()
	for name, body := range map[string][]byte{"plain": f.Body, "gzip": gz(t, f.Body)} {
		t.Run(name, func(t *testing.T) {
			res, err := quality.ValidateBatch(body, quality.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rejects) != len(f.Rejects) {
				t.Errorf("%d rejects, want %d: %v", len(res.Rejects), len(f.Rejects), rulesOf(res))
			}
			for idx, rules := range rulesOf(res) {
				if want, ok := f.Rejects[idx]; !ok || len(rules) != 1 || rules[0] != want {
					t.Errorf("row %d broke %v, want only %q", idx, rules, want)
				}
			}
			if len(res.Rows) != f.Valid || res.RowsIn != f.Valid+len(f.Rejects) {
				t.Errorf("valid %d of %d, want %d of %d", len(res.Rows), res.RowsIn, f.Valid, f.Valid+len(f.Rejects))
			}
			if len(res.Warnings) != len(f.Warnings) {
				t.Errorf("warnings %+v, want %v", res.Warnings, f.Warnings)
			}
			for _, w := range res.Warnings {
				if f.Warnings[w.Index] != w.Rule {
					t.Errorf("warning %+v not expected", w)
				}
			}
			if got := res.UnknownFieldNames(); !slices.Equal(got, f.UnknownFields) {
				t.Errorf("unknown fields %v, want %v", got, f.UnknownFields)
			}
			// Every rule is exercised, so the fixture keeps covering the whole contract.
			for rule, n := range res.CountByRule() {
				if n != 1 {
					t.Errorf("rule %s counted %d times, want 1", rule, n)
				}
			}
		})
	}
}

func TestRejectCarriesRowAndValue(t *testing.T) {
	row := qualitytest.Base().With("year", "1950")
	res, err := quality.ValidateBatch(qualitytest.Batch(qualitytest.Base(), row), quality.Options{MaxYear: maxYear})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects) != 1 {
		t.Fatalf("rejects %+v", res.Rejects)
	}
	rj := res.Rejects[0]
	v := rj.Violations[0]
	if rj.Index != 1 || v.Rule != quality.RuleYearRange || v.Field != "year" || string(v.Value) != "1950" || v.Message == "" {
		t.Errorf("reject %+v", rj)
	}
	if !bytes.Equal(rj.Row, row.JSON()) {
		t.Errorf("row %s, want %s", rj.Row, row.JSON())
	}
}

// Each case is a batch; want maps row index to the rules that row breaks (nil: all valid).
func TestRules(t *testing.T) {
	b := qualitytest.Base()
	nc := qualitytest.NoComponents(b)
	tests := []struct {
		name string
		rows []qualitytest.Row
		want map[int][]string
	}{
		{"valid base", rows(b), nil},
		{"required missing year", rows(b.Without("year")), one(quality.RuleRequired)},
		{"required null countryName", rows(b.With("countryName", "null")), one(quality.RuleRequired)},
		{"required missing shortName", rows(b.Without("shortName")), one(quality.RuleRequired)},
		{"required missing record", rows(b.Without("record")), one(quality.RuleRequired)},
		{"required null value", rows(nc.With("value", "null")), one(quality.RuleRequired)},
		{"nullable fields may be missing", rows(nc.Without("isoa2").Without("score").Without("carbon")), nil},
		{"type year string", rows(b.With("year", `"2020"`)), one(quality.RuleType)},
		{"type year float", rows(b.With("year", "2020.0")), one(quality.RuleType)},
		{"type year exponent", rows(b.With("year", "2e3")), one(quality.RuleType)},
		{"type countryCode string", rows(b.With("countryCode", `"1"`)), one(quality.RuleType)},
		{"type countryCode huge", rows(b.With("countryCode", "99999999999999999999")), one(quality.RuleType)},
		{"type countryName number", rows(b.With("countryName", "5")), one(quality.RuleType)},
		{"type isoa2 number", rows(b.With("isoa2", "5")), one(quality.RuleType)},
		{"type record bool", rows(b.With("record", "true")), one(quality.RuleType)},
		{"type component string", rows(b.With("cropLand", `"0.5"`)), one(quality.RuleType)},
		{"type value object", rows(nc.With("value", `{"v":1}`)), one(quality.RuleType)},
		{"type score number", rows(b.With("score", "3")), one(quality.RuleType)},
		{"type row not an object", nil, nil}, // built below: [42]
		{"year_range below", rows(b.With("year", "1960")), one(quality.RuleYearRange)},
		{"year_range first year", rows(b.With("year", "1961")), nil},
		{"year_range max year", rows(b.With("year", "2026")), nil},
		{"year_range above max", rows(b.With("year", "2027")), one(quality.RuleYearRange)},
		{"country_code zero", rows(b.With("countryCode", "0")), one(quality.RuleCountryCode)},
		{"country_code negative", rows(b.With("countryCode", "-5")), one(quality.RuleCountryCode)},
		{"country_code aggregate", rows(b.With("countryCode", "5001").With("isoa2", "null")), nil},
		{"country_code largest 32-bit", rows(b.With("countryCode", "2147483647")), nil},
		{"country_code above 32 bits", rows(b.With("countryCode", "2147483648")), one(quality.RuleCountryCode)},
		{"country_code far above 32 bits", rows(b.With("countryCode", "4294967297")), one(quality.RuleCountryCode)},
		{"isoa2 Namibia NA", rows(b.With("isoa2", `"NA"`)), nil},
		{"isoa2 empty", rows(b.With("isoa2", `""`)), nil},
		{"isoa2 null", rows(b.With("isoa2", "null")), nil},
		{"isoa2 lower case", rows(b.With("isoa2", `"am"`)), one(quality.RuleISOA2)},
		{"isoa2 three letters", rows(b.With("isoa2", `"SUN"`)), one(quality.RuleISOA2)},
		{"isoa2 digit", rows(b.With("isoa2", `"A1"`)), one(quality.RuleISOA2)},
		{"record_type unknown is a warning", rows(b.With("record", `"EFNew"`)), nil},
		{"non_negative component", rows(b.With("cropLand", "-0.5").With("carbon", "2.03125")), one(quality.RuleNonNegative)},
		{"non_negative value", rows(nc.With("value", "-1")), one(quality.RuleNonNegative)},
		{"non_negative zero", rows(nc.With("value", "0").With("carbon", "-0.0")), nil},
		{"components_sum off", rows(b.With("value", "2.001")), one(quality.RuleComponentsSum)},
		{"components_sum within 1e-6", rows(b.With("value", "2.0000005")), nil},
		{"components_sum relative at 1.8e10", rows(b.With("carbon", "18031318370.75").With("value", "18031318372.75008")), nil},
		{"components_sum off at 1.8e10", rows(b.With("carbon", "18031318370.75").With("value", "18031418372.75")), one(quality.RuleComponentsSum)},
		{"components_sum skipped when one is null", rows(b.With("carbon", "null").With("value", "99")), nil},
		{"duplicate_key second rejected", rows(b, b.With("value", "2.0").With("score", `"2A"`)), map[int][]string{1: {quality.RuleDuplicateKey}}},
		{"duplicate_key other record", rows(b, b.With("record", `"EFProdPerCap"`)), nil},
		{"duplicate_key other year", rows(b, b.With("year", "2019")), nil},
		{"score known", rows(b.With("score", `"1B"`)), nil},
		{"score empty", rows(b.With("score", `""`)), nil},
		{"score null", rows(b.With("score", "null")), nil},
		{"score lower case", rows(b.With("score", `"3a"`)), one(quality.RuleScore)},
		{"score unknown", rows(b.With("score", `"4Z"`)), one(quality.RuleScore)},
		{"two rules in one row", rows(b.With("year", "1900").With("score", `"X"`)), map[int][]string{0: {quality.RuleYearRange, quality.RuleScore}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := qualitytest.Batch(tc.rows...)
			if tc.rows == nil {
				body, tc.want = []byte(`[42]`), one(quality.RuleType)
			}
			res, err := quality.ValidateBatch(body, quality.Options{MaxYear: maxYear})
			if err != nil {
				t.Fatal(err)
			}
			got := rulesOf(res)
			if !maps.EqualFunc(got, tc.want, slices.Equal) {
				t.Fatalf("rules broken %v, want %v", got, tc.want)
			}
			if len(res.Rows)+len(res.Rejects) != res.RowsIn {
				t.Fatalf("%d valid + %d rejects != %d in", len(res.Rows), len(res.Rejects), res.RowsIn)
			}
		})
	}
}

func rows(r ...qualitytest.Row) []qualitytest.Row { return r }
func one(rule string) map[int][]string            { return map[int][]string{0: {rule}} }

func TestUnknownRecordTypeWarns(t *testing.T) {
	b := qualitytest.Base()
	res, err := quality.ValidateBatch(qualitytest.Batch(b.With("record", `"EFNew"`), b.With("record", `"EFNew"`).With("year", "2019")), quality.Options{MaxYear: maxYear})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || len(res.Warnings) != 2 || res.UnknownRecordTypes["EFNew"] != 2 {
		t.Fatalf("rows %d warnings %+v unknown %v", len(res.Rows), res.Warnings, res.UnknownRecordTypes)
	}
}

func TestDecodedValues(t *testing.T) {
	b := qualitytest.NoComponents(qualitytest.Base()).With("countryName", `"C\u00f4te d'Ivoire"`).
		With("isoa2", "null").With("score", `""`).With("cropLand", "1e-3").With("extraField", `[1, {"a": null}]`)
	res, err := quality.ValidateBatch(qualitytest.Batch(b), quality.Options{MaxYear: maxYear})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 {
		t.Fatalf("rejects %+v", res.Rejects)
	}
	r := res.Rows[0]
	if r.Year != 2020 || r.CountryCode != 1 || r.CountryName != "Côte d'Ivoire" || r.ISOA2 != nil ||
		r.Score == nil || *r.Score != "" || r.CropLand == nil || *r.CropLand != 1e-3 || r.GrazingLand != nil ||
		r.Value == nil || *r.Value != 2 || string(r.Extra["extraField"]) != `[1, {"a": null}]` {
		t.Fatalf("row %+v extra %s", r, r.Extra)
	}
}

func TestMalformedBody(t *testing.T) {
	for _, body := range []string{
		``, `{}`, `"x"`, `[`, `[1,`, `[1 2]`, `[{"a":1}] x`, `[{"a":}]`, `[{"a":tru}]`, `[{"a":"\q"}]`,
		`[{"a":01}]`, `[{"a":1.}]`, `[{"a":"x` + "\n" + `"}]`, "\x1f\x8bnot gzip",
	} {
		_, err := quality.ValidateBatch([]byte(body), quality.Options{})
		if !errors.Is(err, quality.ErrMalformedBody) {
			t.Errorf("ValidateBatch(%q) error = %v, want ErrMalformedBody", body, err)
		}
	}
	res, err := quality.ValidateBatch([]byte(" [ ] "), quality.Options{})
	if err != nil || res.RowsIn != 0 || res.RejectRatio() != 0 {
		t.Errorf("empty array: %+v %v", res, err)
	}
}

func TestStagedRoundTrip(t *testing.T) {
	f := qualitytest.Build()
	res, err := quality.ValidateBatch(f.Body, quality.Options{})
	if err != nil {
		t.Fatal(err)
	}
	staged, err := quality.EncodeStaged(res.Rows)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(staged, []byte("\n")); n != len(res.Rows) {
		t.Fatalf("%d lines for %d rows", n, len(res.Rows))
	}
	back, err := quality.DecodeStaged(staged)
	if err != nil {
		t.Fatal(err)
	}
	again, err := quality.EncodeStaged(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(staged, again) {
		t.Fatalf("staged rows changed on a round trip:\n%s\n%s", staged, again)
	}
	// A staged file is itself a valid batch once wrapped as an array.
	lines := bytes.Split(bytes.TrimSpace(staged), []byte("\n"))
	arr := append(append([]byte("["), bytes.Join(lines, []byte(","))...), ']')
	res2, err := quality.ValidateBatch(arr, quality.Options{})
	if err != nil || len(res2.Rejects) != 0 || len(res2.Rows) != len(res.Rows) {
		t.Fatalf("staged rows revalidate: %v %+v", err, res2.Rejects)
	}
}

func TestDecodeStagedErrors(t *testing.T) {
	for _, data := range []string{`[1]`, `{"year":2020`, `{"year":"2020","countryCode":1}`, `{"countryCode":1}`} {
		if _, err := quality.DecodeStaged([]byte(data)); !errors.Is(err, quality.ErrBadStaged) {
			t.Errorf("DecodeStaged(%q) error = %v, want ErrBadStaged", data, err)
		}
	}
}
