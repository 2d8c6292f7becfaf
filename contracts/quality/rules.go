package quality

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/gfnpipeline/contracts"
)

// components are the six land types, in API order; they sum to value.
var components = [6]int{fCropLand, fGrazingLand, fForestLand, fFishingGround, fBuiltupLand, fCarbon}

func (v *validator) violate(rule string, field int, msg string) {
	vi := Violation{Rule: rule, Message: msg}
	if field >= 0 {
		vi.Field = contracts.APIFields[field]
		if t := v.fields[field]; t.kind != kAbsent {
			vi.Value = clone(t.raw)
		}
	}
	v.viols = append(v.viols, vi)
}

// decoded holds a row's typed fields and which of them are usable by the later rules.
type decoded struct {
	rec   contracts.APIRecord
	ok    [numFields]bool // present, not null, right type
	comps [6]float64
	value float64

	knownRecord, knownScore bool
}

// decodeFields applies the required and type rules and converts what is well typed.
func (v *validator) decodeFields() decoded {
	var d decoded
	r := &d.rec
	r.Year, d.ok[fYear] = v.intField(fYear)
	r.CountryCode, d.ok[fCountryCode] = v.intField(fCountryCode)
	var name, short, record, iso, score *interned
	name, d.ok[fCountryName] = v.stringField(fCountryName, true)
	short, d.ok[fShortName] = v.stringField(fShortName, true)
	record, d.ok[fRecord] = v.stringField(fRecord, true)
	iso, d.ok[fISOA2] = v.stringField(fISOA2, false)
	score, d.ok[fScore] = v.stringField(fScore, false)
	if name != nil {
		r.CountryName = name.s
	}
	if short != nil {
		r.ShortName = short.s
	}
	if record != nil {
		r.Record, d.knownRecord = record.s, record.knownRecord
	}
	// Nullable strings point into the batch's interned values, shared by every row.
	if iso != nil {
		r.ISOA2 = &iso.s
	}
	if score != nil {
		r.Score, d.knownScore = &score.s, score.knownScore
	}
	var ptrs [6]*float64
	for i, f := range components {
		d.comps[i], d.ok[f] = v.numberField(f, false)
		if d.ok[f] {
			ptrs[i] = v.floatPtr(d.comps[i])
		}
	}
	r.CropLand, r.GrazingLand, r.ForestLand, r.FishingGround, r.BuiltupLand, r.Carbon = ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5]
	d.value, d.ok[fValue] = v.numberField(fValue, true)
	if d.ok[fValue] {
		r.Value = v.floatPtr(d.value)
	}
	return d
}

// present reports whether the field has a non-null value; a missing or null required field
// is a "required" violation.
func (v *validator) present(f int, required bool) bool {
	if k := v.fields[f].kind; k != kAbsent && k != kNull {
		return true
	}
	if required {
		v.violate(RuleRequired, f, contracts.APIFields[f]+" is missing or null")
	}
	return false
}

func (v *validator) intField(f int) (int, bool) {
	if !v.present(f, true) {
		return 0, false
	}
	t := v.fields[f]
	if t.kind != kNumber || !isInteger(t.raw) {
		v.violate(RuleType, f, contracts.APIFields[f]+" is not an integer")
		return 0, false
	}
	n, err := strconv.Atoi(string(t.raw))
	if err != nil {
		v.violate(RuleType, f, contracts.APIFields[f]+" is out of the integer range")
		return 0, false
	}
	return n, true
}

func (v *validator) numberField(f int, required bool) (float64, bool) {
	if !v.present(f, required) {
		return 0, false
	}
	t := v.fields[f]
	if t.kind != kNumber {
		v.violate(RuleType, f, contracts.APIFields[f]+" is not a number")
		return 0, false
	}
	x, err := strconv.ParseFloat(string(t.raw), 64)
	if err != nil {
		v.violate(RuleType, f, contracts.APIFields[f]+" is out of the float64 range")
		return 0, false
	}
	return x, true
}

func (v *validator) stringField(f int, required bool) (*interned, bool) {
	if !v.present(f, required) {
		return nil, false
	}
	t := v.fields[f]
	if t.kind != kString {
		v.violate(RuleType, f, contracts.APIFields[f]+" is not a string")
		return nil, false
	}
	// Interned by the raw token, so an escaped name is decoded once per batch, not per row.
	if e, ok := v.strs[string(t.raw)]; ok {
		return e, true
	}
	s := string(t.raw[1 : len(t.raw)-1])
	if bytes.IndexByte(t.raw, '\\') >= 0 {
		if err := json.Unmarshal(t.raw, &s); err != nil {
			// The scanner has validated the escapes; this cannot fail on what it accepted.
			v.violate(RuleType, f, contracts.APIFields[f]+" is not a valid string")
			return nil, false
		}
	}
	e := &interned{s: s, knownRecord: knownRecords[s], knownScore: s == "" || knownScores[s]}
	v.strs[string(t.raw)] = e
	return e, true
}

// isInteger reports whether a JSON number has no fraction or exponent.
func isInteger(num []byte) bool {
	for _, c := range num {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

func (v *validator) floatPtr(x float64) *float64 {
	if len(v.slab) == cap(v.slab) {
		v.slab = make([]float64, 0, 8192)
	}
	v.slab = append(v.slab, x)
	return &v.slab[len(v.slab)-1]
}

// checkRow applies every rule to the object just scanned (raw is its JSON text).
func (v *validator) checkRow(idx int, raw []byte) {
	v.viols = v.viols[:0]
	d := v.decodeFields()
	rec := &d.rec

	if d.ok[fYear] && (rec.Year < MinYear || rec.Year > v.maxYear) {
		v.violate(RuleYearRange, fYear, fmt.Sprintf("year %d is outside %d..%d", rec.Year, MinYear, v.maxYear))
	}
	if d.ok[fCountryCode] && (rec.CountryCode <= 0 || rec.CountryCode > MaxCountryCode) {
		v.violate(RuleCountryCode, fCountryCode, fmt.Sprintf("countryCode %d is outside 1..%d", rec.CountryCode, MaxCountryCode))
	}
	if d.ok[fISOA2] && *rec.ISOA2 != "" && !isAlpha2(*rec.ISOA2) {
		v.violate(RuleISOA2, fISOA2, fmt.Sprintf("isoa2 %q is not two upper-case letters", *rec.ISOA2))
	}
	if d.ok[fRecord] && !d.knownRecord {
		v.warn(idx, RuleRecordType, fRecord, fmt.Sprintf("record %q is not a known record type", rec.Record))
		if v.res.UnknownRecordTypes == nil {
			v.res.UnknownRecordTypes = map[string]int{}
		}
		v.res.UnknownRecordTypes[rec.Record]++
	}
	v.checkNonNegative(&d)
	v.checkSum(&d)
	if d.ok[fScore] && !d.knownScore {
		v.violate(RuleScore, fScore, fmt.Sprintf("score %q is not a GFN score", *rec.Score))
	}
	if d.ok[fYear] && d.ok[fCountryCode] && d.ok[fRecord] {
		k := rowKey{rec.Year, rec.CountryCode, rec.Record}
		if _, dup := v.seen[k]; dup {
			v.violate(RuleDuplicateKey, -1, fmt.Sprintf("(countryCode %d, year %d, record %q) repeats an earlier row", k.code, k.year, k.record))
		} else {
			v.seen[k] = struct{}{}
		}
	}

	for name := range v.extra {
		if v.res.UnknownFields == nil {
			v.res.UnknownFields = map[string]int{}
		}
		v.res.UnknownFields[name]++
	}
	if len(v.viols) > 0 {
		v.res.Rejects = append(v.res.Rejects, Reject{Index: idx, Violations: append([]Violation(nil), v.viols...), Row: clone(raw)})
		return
	}
	v.res.Rows = append(v.res.Rows, Row{APIRecord: *rec, Extra: v.extra})
}

func (v *validator) warn(idx int, rule string, field int, msg string) {
	w := Warning{Index: idx, Violation: Violation{Rule: rule, Field: contracts.APIFields[field], Value: clone(v.fields[field].raw), Message: msg}}
	v.res.Warnings = append(v.res.Warnings, w)
}

// checkNonNegative reports the first negative of the components and value.
func (v *validator) checkNonNegative(d *decoded) {
	for i, f := range components {
		if d.ok[f] && d.comps[i] < 0 {
			v.violate(RuleNonNegative, f, fmt.Sprintf("%s %g is negative", contracts.APIFields[f], d.comps[i]))
			return
		}
	}
	if d.ok[fValue] && d.value < 0 {
		v.violate(RuleNonNegative, fValue, fmt.Sprintf("value %g is negative", d.value))
	}
}

// checkSum compares value with the sum of the six components, in API order (the order the
// Soda check adds them in, so both round the same way).
func (v *validator) checkSum(d *decoded) {
	if !d.ok[fValue] {
		return
	}
	sum := 0.0
	for i, f := range components {
		if !d.ok[f] {
			return
		}
		sum += d.comps[i]
	}
	if diff := math.Abs(sum - d.value); diff > SumAbsTolerance+SumRelTolerance*math.Abs(d.value) {
		v.violate(RuleComponentsSum, fValue, fmt.Sprintf("components sum to %g, value is %g (difference %g)", sum, d.value, diff))
	}
}

func isAlpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
