package sim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
)

// record is the part of an API record the simulator needs to filter and list countries.
type record struct {
	CountryCode int     `json:"countryCode"`
	CountryName string  `json:"countryName"`
	ShortName   string  `json:"shortName"`
	ISOA2       *string `json:"isoa2"`
	Record      string  `json:"record"`
	Score       *string `json:"score"`
}

// yearData holds one year's response bytes exactly as served; records are parsed on first
// use so serving /data/all/{year} never pays for decoding.
type yearData struct {
	body []byte

	once  sync.Once
	elems []json.RawMessage
	recs  []record
	err   error
}

func (y *yearData) parse() ([]json.RawMessage, []record, error) {
	y.once.Do(func() {
		if err := json.Unmarshal(y.body, &y.elems); err != nil {
			y.err = fmt.Errorf("decode year data: %w", err)
			return
		}
		y.recs = make([]record, len(y.elems))
		for i, e := range y.elems {
			if err := json.Unmarshal(e, &y.recs[i]); err != nil {
				y.err = fmt.Errorf("decode record %d: %w", i, err)
				return
			}
		}
	})
	return y.elems, y.recs, y.err
}

type dataset struct {
	years map[int]*yearData
	order []int // ascending
}

func newDataset(bodies map[int][]byte) *dataset {
	d := &dataset{years: make(map[int]*yearData, len(bodies))}
	for y, b := range bodies {
		d.years[y] = &yearData{body: b}
		d.order = append(d.order, y)
	}
	slices.Sort(d.order)
	return d
}

var dataFileRE = regexp.MustCompile(`^data_all_(\d{4})\.json(\.gz)?$`)

// loadDir reads data_all_YYYY.json[.gz] files. The bytes are kept exactly (after gunzip):
// the acceptance test compares them with the recording.
func loadDir(dir string) (*dataset, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read data dir: %w", err)
	}
	bodies := map[int][]byte{}
	for _, e := range entries {
		m := dataFileRE.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		year, _ := strconv.Atoi(m[1])
		if _, dup := bodies[year]; dup {
			return nil, fmt.Errorf("data dir %s: year %d present both plain and gzipped", dir, year)
		}
		b, err := readDataFile(filepath.Join(dir, e.Name()), m[2] != "")
		if err != nil {
			return nil, err
		}
		bodies[year] = b
	}
	if len(bodies) == 0 {
		return nil, fmt.Errorf("data dir %s: no data_all_YYYY.json[.gz] files", dir)
	}
	return newDataset(bodies), nil
}

func readDataFile(path string, gz bool) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if !gz {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gunzip %s: %w", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gunzip %s: %w", path, err)
	}
	return out, nil
}

// joinElems renders records the way the recording is laid out (a JSON array, indent 2), so a
// filtered response looks like an unfiltered one.
func joinElems(elems []json.RawMessage) []byte {
	if len(elems) == 0 {
		return []byte("[]")
	}
	n := 4
	for _, e := range elems {
		n += len(e) + 4
	}
	out := make([]byte, 0, n)
	out = append(out, "[\n  "...)
	for i, e := range elems {
		if i > 0 {
			out = append(out, ",\n  "...)
		}
		out = append(out, e...)
	}
	return append(out, "\n]"...)
}
