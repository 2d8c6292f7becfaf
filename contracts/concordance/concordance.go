// Package concordance maps GFN country codes to ISO 3166-1 codes and names.
//
// The table (table_gen.go) is generated from the GFN Country Code Concordance Table, public
// repository nalmt/dataviz, commit 170246058561, path
// "datasets/GFN Country Code Concordance Table.csv" (246 data rows). The generator reads the
// project's copy at ../shared/data/gfn-concordance/gfn_country_code_concordance.csv (relative
// to the repository root); the CSV itself is never copied into the repository.
//
// Source quirks, resolved by the generator:
//   - the literal string "NULL" means no code;
//   - the alpha-2 column holds "SUN" for the USSR and ISO 3166-3 four-letter codes
//     (CSHH, SUUH, PCHH) appear in the alpha-3 column: they are not ISO 3166-1 codes, so the
//     entry keeps its name but no code for that column;
//   - Namibia's alpha-2 is the string "NA", a real code, never "missing".
package concordance

//go:generate go run ./internal/gen -in ../../../shared/data/gfn-concordance/gfn_country_code_concordance.csv -out table_gen.go

// Entry is one GFN country or aggregate. An empty Alpha2 or Alpha3 means the source has no
// valid ISO 3166-1 code for it (former states, aggregates, territories GFN groups differently).
type Entry struct {
	Code   int
	Name   string
	Alpha2 string
	Alpha3 string
}

// Lookup returns the entry for a GFN country code.
func Lookup(code int) (Entry, bool) {
	i, ok := index[code]
	if !ok {
		return Entry{}, false
	}
	return entries[i], true
}

// Alpha3 returns the ISO alpha-3 code for a GFN country code, false when there is none.
func Alpha3(code int) (string, bool) {
	e, ok := Lookup(code)
	if !ok || e.Alpha3 == "" {
		return "", false
	}
	return e.Alpha3, true
}

// Alpha2 returns the ISO alpha-2 code for a GFN country code, false when there is none.
func Alpha2(code int) (string, bool) {
	e, ok := Lookup(code)
	if !ok || e.Alpha2 == "" {
		return "", false
	}
	return e.Alpha2, true
}

// Entries returns every entry, ordered by GFN code.
func Entries() []Entry {
	return append([]Entry(nil), entries...)
}

// index maps a GFN code to its position in entries; built once from the generated slice.
var index = func() map[int]int {
	m := make(map[int]int, len(entries))
	for i, e := range entries {
		m[e.Code] = i
	}
	return m
}()
