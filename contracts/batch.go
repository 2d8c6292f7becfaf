package contracts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// BatchID is deterministic: the same year and filters always give the same id, so a
// redelivered command lands the same objects instead of new ones.
func BatchID(year int, countries []int, recordTypes []string) string {
	if len(countries) == 0 && len(recordTypes) == 0 {
		return fmt.Sprintf("ef-%d", year)
	}
	cs := slices.Clone(countries)
	slices.Sort(cs)
	ts := slices.Clone(recordTypes)
	slices.Sort(ts)
	parts := make([]string, 0, len(cs)+len(ts)+1)
	for _, c := range cs {
		parts = append(parts, strconv.Itoa(c))
	}
	parts = append(parts, "|")
	parts = append(parts, ts...)
	sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
	return fmt.Sprintf("ef-%d-%s", year, hex.EncodeToString(sum[:4]))
}
