package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Generated data stands in for the recording when no DataDir is given, so a fresh clone works
// offline. It keeps the recording's shape and quirks; its numbers are made up but hold
// together as the real accounts do (components sum to the value, per capita times population
// is the total, the World uses about 1.7 Earths), so a first report reads like the real one.

// GeneratedYears are the years served without a DataDir.
var GeneratedYears = []int{2015, 2016, 2017, 2018, 2019, 2020, 2021, 2022}

// recordTypes mirrors contracts.RecordTypes (the simulator stays free of pipeline imports).
var recordTypes = []string{
	"EFConsPerCap", "EFConsTotGHA", "EFProdPerCap", "EFProdTotGHA", "EFImportsPerCap",
	"EFImportsTotGHA", "EFExportsPerCap", "EFExportsTotGHA", "BiocapPerCap", "BiocapTotGHA",
	"AreaPerCap", "AreaTotHA", "Earths", "Population", "GDP-USD", "GDP-PPP", "HDI",
}

type genEntity struct {
	code         int
	name, short  string
	isoa2        *string
	score        string // "" for aggregates
	nullScore    bool   // aggregates whose score is null rather than ""
	lowQuality   bool   // footprint components are null, as for GFN's 1A/1B countries
	from, to     int    // years present (inclusive); 0 = always
	popMillions  float64
	gdpPerCapUSD float64
}

func iso(s string) *string { return &s }

var genEntities = []genEntity{
	{code: 1, name: "Armenia", short: "Armenia", isoa2: iso("AM"), score: "3A", popMillions: 2.9, gdpPerCapUSD: 4500},
	{code: 2, name: "Afghanistan", short: "Afghanistan", isoa2: iso("AF"), score: "2B", popMillions: 38, gdpPerCapUSD: 500},
	{code: 10, name: "Australia", short: "Australia", isoa2: iso("AU"), score: "3A", popMillions: 25, gdpPerCapUSD: 55000},
	{code: 21, name: "Brazil", short: "Brazil", isoa2: iso("BR"), score: "3A", popMillions: 212, gdpPerCapUSD: 8700},
	{code: 33, name: "Canada", short: "Canada", isoa2: iso("CA"), score: "3A", popMillions: 38, gdpPerCapUSD: 46000},
	{code: 39, name: "Chad", short: "Chad", isoa2: iso("TD"), score: "1B", lowQuality: true, popMillions: 16, gdpPerCapUSD: 700},
	{code: 59, name: "Egypt", short: "Egypt", isoa2: iso("EG"), score: "2A", popMillions: 102, gdpPerCapUSD: 3500},
	{code: 68, name: "France", short: "France", isoa2: iso("FR"), score: "3A", popMillions: 67, gdpPerCapUSD: 40000},
	{code: 79, name: "Germany", short: "Germany", isoa2: iso("DE"), score: "3A", popMillions: 83, gdpPerCapUSD: 46000},
	{code: 100, name: "India", short: "India", isoa2: iso("IN"), score: "3A", popMillions: 1380, gdpPerCapUSD: 1900},
	{code: 107, name: "C\u00f4te d'Ivoire", short: "C\u00f4te d'Ivoire", isoa2: iso("CI"), score: "2C", popMillions: 26, gdpPerCapUSD: 2300},
	{code: 110, name: "Japan", short: "Japan", isoa2: iso("JP"), score: "3A", popMillions: 126, gdpPerCapUSD: 40000},
	{code: 138, name: "Mexico", short: "Mexico", isoa2: iso("MX"), score: "3A", popMillions: 128, gdpPerCapUSD: 8300},
	{code: 147, name: "Namibia", short: "Namibia", isoa2: iso("NA"), score: "2B", popMillions: 2.5, gdpPerCapUSD: 4200},
	{code: 159, name: "Nigeria", short: "Nigeria", isoa2: iso("NG"), score: "2A", popMillions: 206, gdpPerCapUSD: 2000},
	{code: 182, name: "R\u00e9union", short: "R\u00e9union", isoa2: iso("RE"), score: "1A", lowQuality: true, popMillions: 0.9, gdpPerCapUSD: 22000},
	{code: 185, name: "Russian Federation", short: "Russian Federation", isoa2: iso("RU"), score: "3A", popMillions: 145, gdpPerCapUSD: 10000},
	{code: 202, name: "South Africa", short: "South Africa", isoa2: iso("ZA"), score: "3A", popMillions: 59, gdpPerCapUSD: 5600},
	{code: 206, name: "Sudan (former)", short: "Sudan (former)", isoa2: iso(""), score: "2C", from: 2015, to: 2016, popMillions: 43, gdpPerCapUSD: 900},
	{code: 223, name: "T\u00fcrkiye", short: "T\u00fcrkiye", isoa2: iso("TR"), score: "3A", popMillions: 84, gdpPerCapUSD: 8500},
	{code: 229, name: "United Kingdom of Great Britain and Northern Ireland", short: "United Kingdom", isoa2: iso("GB"), score: "3A", popMillions: 67, gdpPerCapUSD: 41000},
	{code: 231, name: "United States of America", short: "United States of America", isoa2: iso("US"), score: "3A", popMillions: 331, gdpPerCapUSD: 63000},
	{code: 277, name: "South Sudan", short: "South Sudan", isoa2: iso("SS"), score: "1B", lowQuality: true, from: 2017, popMillions: 11, gdpPerCapUSD: 400},
	{code: 279, name: "Cura\u00e7ao", short: "Cura\u00e7ao", isoa2: iso("CW"), score: "1A", lowQuality: true, popMillions: 0.16, gdpPerCapUSD: 17000},
	{code: 351, name: "China", short: "China", isoa2: iso("CN"), score: "3A", popMillions: 1410, gdpPerCapUSD: 10500},
	{code: 1004, name: "Eastern Africa", short: "\u00b7 Eastern Africa", nullScore: true, popMillions: 445, gdpPerCapUSD: 900},
	{code: 1014, name: "South America", short: "\u00b7 South America", popMillions: 430, gdpPerCapUSD: 7500},
	{code: 1021, name: "Western Europe", short: "\u00b7 Western Europe", popMillions: 196, gdpPerCapUSD: 48000},
	{code: 2000, name: "Africa", short: "\u00ba Africa", popMillions: 1340, gdpPerCapUSD: 1800},
	{code: 2002, name: "Europe", short: "\u00ba Europe", nullScore: true, popMillions: 748, gdpPerCapUSD: 29000},
	{code: 5001, name: "World", short: "\u00ba World", score: "3A", popMillions: 7800, gdpPerCapUSD: 11000},
}

// biocapacityRich are the generated countries with an ecological reserve in the real
// accounts (forests, grasslands and few people per hectare).
var biocapacityRich = map[int]bool{10: true, 21: true, 33: true, 147: true, 185: true}

// genRecord is one generated record; nil pointers are JSON null.
type genRecord struct {
	year       int
	e          *genEntity
	record     string
	components []*float64 // cropLand .. carbon
	value      float64
	score      *string
}

func (e *genEntity) presentIn(year int) bool {
	return (e.from == 0 || year >= e.from) && (e.to == 0 || year <= e.to)
}

// genSeed fixes the generated numbers: they must not change with Config.Seed, which only
// drives fault injection, so clients can compare bodies across simulators.
const genSeed = 20251201

// generate builds every year's body deterministically.
func generate() map[int][]byte {
	out := make(map[int][]byte, len(GeneratedYears))
	types := slices.Clone(recordTypes)
	slices.Sort(types) // the API lists a country's records alphabetically
	for _, year := range GeneratedYears {
		var buf []byte
		buf = append(buf, '[')
		first := true
		for i := range genEntities {
			e := &genEntities[i]
			if !e.presentIn(year) {
				continue
			}
			for _, rt := range types {
				rng := rand.New(rand.NewPCG(genSeed, uint64(year)<<32|uint64(e.code)<<8|uint64(slices.Index(recordTypes, rt)))) //nolint:gosec // G115: seed bits; wrapping is harmless
				r := genOne(rng, year, e, rt)
				if !first {
					buf = append(buf, ',')
				}
				first = false
				buf = appendRecord(buf, &r)
			}
		}
		buf = append(buf, "\n]"...)
		out[year] = buf
	}
	return out
}

func genOne(rng *rand.Rand, year int, e *genEntity, rt string) genRecord {
	r := genRecord{year: year, e: e, record: rt, components: make([]*float64, 6)}
	growth := 1 + 0.01*float64(year-2015)
	pop := float64(float32(e.popMillions * 1e6 * growth)) // the API's socio-economic values are float32-rounded
	switch rt {
	case "Population":
		r.value = pop
		return r
	case "GDP-USD":
		r.value = float64(float32(e.gdpPerCapUSD * growth * (0.95 + 0.1*rng.Float64())))
		return r
	case "GDP-PPP":
		r.value = float64(float32(e.gdpPerCapUSD * 1.6 * growth * (0.95 + 0.1*rng.Float64())))
		return r
	case "HDI":
		r.value = float64(float32(0.4 + 0.55*rng.Float64()))
		return r
	}
	switch {
	case e.score == "" && e.nullScore:
	case e.score == "" && rng.IntN(2) == 0:
		// Aggregates carry "" or null scores, like the recording.
	default:
		r.score = iso(e.score)
	}
	acc := e.accounts(year)
	perCap, total := acc.perCap[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(rt, "PerCap"), "TotGHA"), "TotHA")], false
	switch {
	case rt == "Earths":
		// Earths: how many planets everyone living like this entity would need.
		world := worldEntity().accounts(year)
		perCap = scaled(acc.perCap["EFCons"], 1/sum(world.perCap["Biocap"]))
	case strings.HasSuffix(rt, "TotGHA"), strings.HasSuffix(rt, "TotHA"):
		total = true
	}
	comps := perCap
	if total {
		comps = scaled(perCap, pop) // per capita times population is the total
	}
	for i := range r.components {
		v := comps[i]
		r.components[i] = &v
		r.value += v // the components sum to the value
	}
	if e.lowQuality {
		for i := range r.components {
			r.components[i] = nil
		}
	}
	return r
}

// genAccounts are one entity's per-capita accounts in a year, by record family (EFCons,
// EFProd, EFImports, EFExports, Biocap, Area), each split into the six land types (cropLand,
// grazingLand, forestLand, fishingGround, builtupLand, carbon). They hold together as GFN's
// do: consumption = production + imports - exports, biocapacity and area have no carbon part.
type genAccounts struct{ perCap map[string][]float64 }

// Land-type shares of a footprint and of biocapacity (and area), roughly the world's.
var (
	footprintShares   = []float64{0.19, 0.07, 0.10, 0.04, 0.02, 0.58}
	biocapacityShares = []float64{0.33, 0.12, 0.45, 0.07, 0.03, 0}
	areaShares        = []float64{0.12, 0.30, 0.35, 0.20, 0.03, 0}
)

// accounts derives an entity's accounts from a profile drawn once per entity (so years move
// smoothly): wealthier entities consume more, some are rich in biocapacity. The World uses
// GFN's recent values: about 2.6 gha of footprint and 1.6 gha of biocapacity per person, 1.7
// Earths, so its overshoot day falls in late July or August as the real one does.
func (e *genEntity) accounts(year int) genAccounts {
	rng := rand.New(rand.NewPCG(genSeed, uint64(e.code))) //nolint:gosec // G115: GFN codes are small and positive
	t := float64(year - 2015)
	ef := 0.9 + e.gdpPerCapUSD/9000 + 0.6*rng.Float64()
	bio := 0.3 + 4*rng.Float64()*rng.Float64()
	if biocapacityRich[e.code] {
		bio += 5 + 5*rng.Float64()
	}
	if e.code == worldCode {
		ef, bio = 2.65, 1.62
	}
	ef *= 1 + 0.002*t  // footprints creep up
	bio *= 1 - 0.004*t // biocapacity per person falls as population grows
	jitter := func(shares []float64) []float64 {
		out := make([]float64, len(shares))
		total := 0.0
		for i, sh := range shares {
			out[i] = sh * (0.7 + 0.6*rng.Float64())
			total += out[i]
		}
		return scaled(out, 1/total)
	}
	cons := scaled(jitter(footprintShares), ef)
	prod, imports, exports := make([]float64, 6), make([]float64, 6), make([]float64, 6)
	for i, c := range cons {
		prod[i] = c * (0.5 + 0.8*rng.Float64())
		base := c * 0.15 * rng.Float64()
		net := c - prod[i]
		imports[i] = math.Max(net, 0) + base
		exports[i] = math.Max(-net, 0) + base
		cons[i] = prod[i] + imports[i] - exports[i] // exact, as the accounts define it
	}
	biocap := scaled(jitter(biocapacityShares), bio)
	area := scaled(jitter(areaShares), bio*0.75)
	if e.code%3 == 0 && e.code < 1000 {
		// Landlocked-like: hardly any fishing grounds (and exponent notation in the body).
		biocap[3], area[3] = biocap[3]*1e-5, area[3]*1e-5
	}
	return genAccounts{perCap: map[string][]float64{
		"EFCons": cons, "EFProd": prod, "EFImports": imports, "EFExports": exports, "Biocap": biocap, "Area": area,
	}}
}

// worldCode is GFN's code for the World.
const worldCode = 5001

func worldEntity() *genEntity {
	for i := range genEntities {
		if genEntities[i].code == worldCode {
			return &genEntities[i]
		}
	}
	panic("the generated entities lack the World")
}

func scaled(v []float64, f float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * f
	}
	return out
}

func sum(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t
}

// appendRecord writes one record as Python's json.dump(indent=2) does (the recording's format):
// keys in API order, non-ASCII as \uXXXX, floats in repr form.
func appendRecord(buf []byte, r *genRecord) []byte {
	buf = append(buf, "\n  {\n    \"year\": "...)
	buf = strconv.AppendInt(buf, int64(r.year), 10)
	buf = append(buf, ",\n    \"countryCode\": "...)
	buf = strconv.AppendInt(buf, int64(r.e.code), 10)
	buf = append(buf, ",\n    \"countryName\": "...)
	buf = appendPyString(buf, r.e.name)
	buf = append(buf, ",\n    \"shortName\": "...)
	buf = appendPyString(buf, r.e.short)
	buf = append(buf, ",\n    \"isoa2\": "...)
	if r.e.isoa2 == nil {
		buf = append(buf, "null"...)
	} else {
		buf = appendPyString(buf, *r.e.isoa2)
	}
	buf = append(buf, ",\n    \"record\": "...)
	buf = appendPyString(buf, r.record)
	for i, name := range []string{"cropLand", "grazingLand", "forestLand", "fishingGround", "builtupLand", "carbon"} {
		buf = append(buf, ",\n    \""...)
		buf = append(buf, name...)
		buf = append(buf, "\": "...)
		if r.components[i] == nil {
			buf = append(buf, "null"...)
		} else {
			buf = appendPyFloat(buf, *r.components[i])
		}
	}
	buf = append(buf, ",\n    \"value\": "...)
	buf = appendPyFloat(buf, r.value)
	buf = append(buf, ",\n    \"score\": "...)
	if r.score == nil {
		buf = append(buf, "null"...)
	} else {
		buf = appendPyString(buf, *r.score)
	}
	return append(buf, "\n  }"...)
}

// appendPyFloat formats like Python's float repr: shortest round-trip digits, ".0" on whole
// numbers, exponent form below 1e-4 and from 1e16.
func appendPyFloat(buf []byte, f float64) []byte {
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.AppendFloat(buf, f, 'e', -1, 64)
	}
	start := len(buf)
	buf = strconv.AppendFloat(buf, f, 'f', -1, 64)
	for _, c := range buf[start:] {
		if c == '.' {
			return buf
		}
	}
	return append(buf, ".0"...)
}

// appendPyString quotes s with ensure_ascii escaping.
func appendPyString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for _, r := range s {
		switch {
		case r == '"':
			buf = append(buf, `\"`...)
		case r == '\\':
			buf = append(buf, `\\`...)
		case r == '\n':
			buf = append(buf, `\n`...)
		case r < 0x20 || r > 0x7f:
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				buf = fmt.Appendf(buf, `\u%04x\u%04x`, r1, r2)
			} else {
				buf = fmt.Appendf(buf, `\u%04x`, r)
			}
		default:
			buf = append(buf, byte(r))
		}
	}
	return append(buf, '"')
}
