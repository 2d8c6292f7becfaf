// Package qualitytest builds tier-1 test batches: good rows shaped like the real API's, and
// one row broken per rule. The validator's tests, the Soda agreement test and the quality
// package's own tests share it so they all judge the same rows.
package qualitytest

import (
	"bytes"
	"slices"

	"github.com/gfnpipeline/contracts/quality"
)

// Field is one key of a row with its raw JSON value.
type Field struct {
	Key string
	Raw string
}

// Row is a fixture row as ordered key/value pairs, so a test can send exactly the JSON it
// means (a year as "2020", a missing key) rather than what a Go type would marshal.
type Row []Field

// With returns a copy of r with key set to raw (appended if absent).
func (r Row) With(key, raw string) Row {
	out := slices.Clone(r)
	for i := range out {
		if out[i].Key == key {
			out[i].Raw = raw
			return out
		}
	}
	return append(out, Field{key, raw})
}

// Without returns a copy of r without key.
func (r Row) Without(key string) Row {
	return slices.DeleteFunc(slices.Clone(r), func(f Field) bool { return f.Key == key })
}

// JSON renders the row as a JSON object.
func (r Row) JSON() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(f.Key)
		b.WriteString(`":`)
		b.WriteString(f.Raw)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// Base is a valid footprint row (Armenia, 2020, EFConsPerCap) with all six components.
func Base() Row {
	return Row{
		{"year", "2020"}, {"countryCode", "1"}, {"countryName", `"Armenia"`}, {"shortName", `"Armenia"`},
		{"isoa2", `"AM"`}, {"record", `"EFConsPerCap"`},
		{"cropLand", "0.5"}, {"grazingLand", "0.25"}, {"forestLand", "0.125"}, {"fishingGround", "0.0625"},
		{"builtupLand", "0.03125"}, {"carbon", "1.03125"}, {"value", "2.0"}, {"score", `"3A"`},
	}
}

// NoComponents is Base with the six components null, as on Population, GDP and HDI rows.
func NoComponents(r Row) Row {
	for _, k := range []string{"cropLand", "grazingLand", "forestLand", "fishingGround", "builtupLand", "carbon"} {
		r = r.With(k, "null")
	}
	return r
}

// Batch renders rows as the API's JSON array (indented like the API's responses).
func Batch(rows ...Row) []byte {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, r := range rows {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("  ")
		b.Write(r.JSON())
	}
	b.WriteString("\n]")
	return b.Bytes()
}

// Fixture is a batch with good rows and one row broken per rule.
type Fixture struct {
	Body []byte
	// Rejects maps a row index to the one rule that row breaks.
	Rejects map[int]string
	// Warnings maps a row index to the warning rule it raises (it is still valid).
	Warnings map[int]string
	// Valid is how many rows pass.
	Valid int
	// UnknownFields are the keys outside the contract that valid rows carry.
	UnknownFields []string
}

// Build makes the fixture. Every rule of quality.Rules is broken by exactly one row.
func Build() Fixture {
	base := Base()
	good := []Row{
		base,
		base.With("record", `"EFProdPerCap"`),
		// Namibia's code is the string "NA"; Sudan (former) has "".
		base.With("countryCode", "147").With("countryName", `"Namibia"`).With("shortName", `"Namibia"`).With("isoa2", `"NA"`),
		base.With("countryCode", "206").With("countryName", `"Sudan (former)"`).With("shortName", `"Sudan (former)"`).With("isoa2", `""`).With("year", "2010"),
		// Aggregates: isoa2 null, score "" and a "· " short name; a World TotGHA row whose
		// components miss value by 8e-5 (the real data's rounding at 1.8e10).
		NoComponents(base).With("countryCode", "2000").With("countryName", `"Africa"`).With("shortName", `"\u00b7 Africa"`).
			With("isoa2", "null").With("record", `"Population"`).With("value", "1340598000.0").With("score", "null"),
		base.With("countryCode", "5001").With("countryName", `"World"`).With("shortName", `"\u00b7 World"`).With("isoa2", "null").
			With("record", `"EFConsTotGHA"`).With("score", `""`).
			With("cropLand", "4000000000.0").With("grazingLand", "1500000000.0").With("forestLand", "1000000000.0").
			With("fishingGround", "500000000.0").With("builtupLand", "31318372.75").With("carbon", "11000000000.0050").
			With("value", "18031318372.75508392"),
		// Non-ASCII name as the API escapes it; a key the contract does not know (drift).
		base.With("countryCode", "107").With("countryName", `"C\u00f4te d'Ivoire"`).With("shortName", `"C\u00f4te d'Ivoire"`).
			With("isoa2", `"CI"`).With("newMetric", `{"unit":"gha","v":[1,2]}`),
	}
	broken := []struct {
		rule string
		row  Row
	}{
		{quality.RuleRequired, NoComponents(base).With("countryCode", "2").Without("value")},
		{quality.RuleType, base.With("countryCode", "3").With("year", `"2020"`)},
		{quality.RuleYearRange, base.With("countryCode", "4").With("year", "1950")},
		{quality.RuleCountryCode, base.With("countryCode", "0")},
		{quality.RuleISOA2, base.With("countryCode", "5").With("isoa2", `"ARM"`)},
		{quality.RuleNonNegative, NoComponents(base).With("countryCode", "6").With("value", "-1.5")},
		{quality.RuleComponentsSum, base.With("countryCode", "7").With("value", "2.5")},
		{quality.RuleDuplicateKey, base},
		{quality.RuleScore, base.With("countryCode", "8").With("score", `"4Z"`)},
	}
	f := Fixture{Rejects: map[int]string{}, Warnings: map[int]string{}, UnknownFields: []string{"newMetric"}}
	var rows []Row
	for i, r := range good {
		rows = append(rows, r)
		// Interleave broken rows so indices are not trivially contiguous.
		if i < len(broken) {
			f.Rejects[len(rows)] = broken[i].rule
			rows = append(rows, broken[i].row)
		}
	}
	for _, b := range broken[len(good):] {
		f.Rejects[len(rows)] = b.rule
		rows = append(rows, b.row)
	}
	// An unknown record type is drift: valid, with a warning.
	f.Warnings[len(rows)] = quality.RuleRecordType
	rows = append(rows, base.With("countryCode", "9").With("record", `"EFNewThing"`))
	f.Valid = len(good) + 1
	f.Body = Batch(rows...)
	return f
}
