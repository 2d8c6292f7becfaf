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

// yearData holds one year's response bytes exactly as served, or gzipped (a recording's
// .json.gz stays compressed in memory, a ninth of its size, and is inflated per request);
// records are parsed on first use so serving /data/all/{year} never pays for decoding.
type yearData struct {
	body []byte
	gz   []byte
	// asYear, when set, is the year the records are served as (a recorded year renumbered).
	asYear, srcYear int

	once  sync.Once
	elems []json.RawMessage
	recs  []record
	err   error
}

// bytes returns the year's response body.
func (y *yearData) bytes() ([]byte, error) {
	b := y.body
	if b == nil {
		zr, err := gzip.NewReader(bytes.NewReader(y.gz))
		if err != nil {
			return nil, fmt.Errorf("gunzip year data: %w", err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("gunzip year data: %w", err)
		}
	}
	if y.asYear != 0 {
		// Records carry their year as `"year": YYYY,` (the recording) or `"year":YYYY,`
		// (generated): a same-length rewrite.
		for _, f := range []string{`"year": %d,`, `"year":%d,`} {
			b = bytes.ReplaceAll(b, fmt.Appendf(nil, f, y.srcYear), fmt.Appendf(nil, f, y.asYear))
		}
	}
	return b, nil
}

func (y *yearData) parse() ([]json.RawMessage, []record, error) {
	y.once.Do(func() {
		body, err := y.bytes()
		if err != nil {
			y.err = err
			return
		}
		if err := json.Unmarshal(body, &y.elems); err != nil {
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

// renumbered serves every year from..to with the records of d's years in turn (from, from+1...
// get the first, second... recorded year, round again when they run out), each record's
// year rewritten: a long backfill at the recording's density.
func (d *dataset) renumbered(from, to int) (*dataset, error) {
	if from > to || len(d.order) == 0 {
		return nil, fmt.Errorf("serve years %d-%d: empty range", from, to)
	}
	out := &dataset{years: map[int]*yearData{}}
	for y := from; y <= to; y++ {
		src := d.order[(y-from)%len(d.order)]
		out.years[y] = &yearData{body: d.years[src].body, gz: d.years[src].gz, asYear: y, srcYear: src}
		out.order = append(out.order, y)
	}
	return out, nil
}

var dataFileRE = regexp.MustCompile(`^data_all_(\d{4})\.json(\.gz)?$`)

// loadDir reads data_all_YYYY.json[.gz] files. The bytes are kept exactly (after gunzip):
// the acceptance test compares them with the recording.
func loadDir(dir string) (*dataset, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read data dir: %w", err)
	}
	d := &dataset{years: map[int]*yearData{}}
	for _, e := range entries {
		m := dataFileRE.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		year, _ := strconv.Atoi(m[1])
		if _, dup := d.years[year]; dup {
			return nil, fmt.Errorf("data dir %s: year %d present both plain and gzipped", dir, year)
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		yd := &yearData{body: b}
		if m[2] != "" {
			yd = &yearData{gz: b}
			// Check it inflates now rather than on the first request.
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err == nil {
				_, err = io.Copy(io.Discard, zr) //nolint:gosec // G110: a recording the operator points GFN_DATA_DIR at, not untrusted input
			}
			if err != nil {
				return nil, fmt.Errorf("gunzip %s: %w", path, err)
			}
		}
		d.years[year] = yd
		d.order = append(d.order, year)
	}
	if len(d.order) == 0 {
		return nil, fmt.Errorf("data dir %s: no data_all_YYYY.json[.gz] files", dir)
	}
	slices.Sort(d.order)
	return d, nil
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
