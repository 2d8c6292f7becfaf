package sim_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/tools/gfnapi-sim/sim"
)

// recordingDir is the shared recording, relative to this package (repo root ../shared/data).
const recordingDir = "../../../../shared/data/gfn-api-recording"

const testKey = "sim-test-key"

func start(t *testing.T, cfg sim.Config) (*sim.Server, *httptest.Server) {
	t.Helper()
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatalf("sim.New: %v", err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func get(t *testing.T, url, pass string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pass != "" {
		req.SetBasicAuth("anyone", pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp, body
}

func TestParseFaults(t *testing.T) {
	tests := []struct {
		in      string
		want    []sim.Fault
		wantErr bool
	}{
		{"", nil, false},
		{"500:0.2,429:0.1,reset:0.05,slow:0.1,truncate:0.02", []sim.Fault{
			{Kind: sim.Fault500, Probability: 0.2}, {Kind: sim.Fault429, Probability: 0.1}, {Kind: sim.FaultReset, Probability: 0.05},
			{Kind: sim.FaultSlow, Probability: 0.1}, {Kind: sim.FaultTruncate, Probability: 0.02},
		}, false},
		{" RESET : 1 ", []sim.Fault{{Kind: sim.FaultReset, Probability: 1}}, false},
		{"500:1@2005", []sim.Fault{{Kind: sim.Fault500, Probability: 1, Year: 2005}}, false},
		{"500:1@2005,500:1@2006", []sim.Fault{{Kind: sim.Fault500, Probability: 1, Year: 2005}, {Kind: sim.Fault500, Probability: 1, Year: 2006}}, false},
		{"500:0.5,429:0.5@2005", []sim.Fault{{Kind: sim.Fault500, Probability: 0.5}, {Kind: sim.Fault429, Probability: 0.5, Year: 2005}}, false},
		{"500:0.6,429:0.6@2005", nil, true},
		{"500:1@20x5", nil, true},
		{"500:1@", nil, true},
		{"503:0.1", nil, true},
		{"500", nil, true},
		{"500:x", nil, true},
		{"500:1.5", nil, true},
		{"500:0.6,429:0.6", nil, true},
		{"500:0.1,500:0.1", nil, true},
	}
	for _, tc := range tests {
		got, err := sim.ParseFaults(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseFaults(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ParseFaults(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name   string
		cfg    sim.Config
		pass   string
		status int
	}{
		{"right key", sim.Config{APIKey: testKey}, testKey, 200},
		{"wrong key", sim.Config{APIKey: testKey}, "nope", 403},
		{"no credentials", sim.Config{APIKey: testKey}, "", 403},
		{"any key when none configured", sim.Config{}, "whatever", 200},
		{"still needs a password when none configured", sim.Config{}, "", 403},
		{"reject all keys", sim.Config{APIKey: testKey, RejectAllKeys: true}, testKey, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ts := start(t, tc.cfg)
			resp, body := get(t, ts.URL+"/v1/data/all/2020", tc.pass)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 403 {
				var e struct {
					Status int    `json:"status"`
					Error  string `json:"error"`
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Status != 403 || e.Error != "Forbidden" {
					t.Fatalf("403 body %s (err %v)", body, err)
				}
				if s.Stats().Forbidden != 1 {
					t.Fatalf("stats %+v", s.Stats())
				}
			}
			// The stats endpoint needs no credentials.
			resp, body = get(t, ts.URL+"/_sim/stats", "")
			var st sim.Stats
			if resp.StatusCode != 200 || json.Unmarshal(body, &st) != nil || st.Requests != 1 {
				t.Fatalf("stats %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestRecordedYearsAreServedByteForByte(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(recordingDir, "data_all_*.json.gz"))
	if len(files) == 0 {
		t.Skip("recording not present at " + recordingDir)
	}
	s, ts := start(t, sim.Config{DataDir: recordingDir, APIKey: testKey})
	if got := s.Years(); len(got) != 23 || got[0] != 2000 || got[22] != 2022 {
		t.Fatalf("years %v", got)
	}
	for _, f := range files {
		want := gunzipFile(t, f)
		year := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "data_all_"), ".json.gz")
		resp, body := get(t, ts.URL+"/v1/data/all/"+year, testKey)
		if resp.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Fatalf("year %s: status %d, %d bytes, want the recording's %d bytes", year, resp.StatusCode, len(body), len(want))
		}
	}
	if st := s.Stats(); st.Endpoints[sim.EndpointData] != int64(len(files)) {
		t.Fatalf("stats %+v", st)
	}
}

// TestServeYearsRenumbersTheRecording: 1961-2024 is served from the 23 recorded years in
// turn, every record's year rewritten and nothing else changed.
func TestServeYearsRenumbersTheRecording(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(recordingDir, "data_all_*.json.gz"))
	if len(files) == 0 {
		t.Skip("recording not present at " + recordingDir)
	}
	s, ts := start(t, sim.Config{DataDir: recordingDir, APIKey: testKey, ServeYears: "1961-2024"})
	if got := s.Years(); len(got) != 64 || got[0] != 1961 || got[63] != 2024 {
		t.Fatalf("years %v", got)
	}
	for _, c := range []struct{ year, src int }{{1961, 2000}, {1983, 2022}, {1984, 2000}, {2024, 2017}} {
		want := gunzipFile(t, filepath.Join(recordingDir, fmt.Sprintf("data_all_%d.json.gz", c.src)))
		resp, body := get(t, fmt.Sprintf("%s/v1/data/all/%d", ts.URL, c.year), testKey)
		if resp.StatusCode != 200 {
			t.Fatalf("year %d: status %d", c.year, resp.StatusCode)
		}
		var got, src []map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &src); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(src) {
			t.Fatalf("year %d: %d records, recorded year %d has %d", c.year, len(got), c.src, len(src))
		}
		for i := range got {
			if got[i]["year"] != float64(c.year) {
				t.Fatalf("year %d record %d: year %v", c.year, i, got[i]["year"])
			}
			got[i]["year"] = float64(c.src)
			if !reflect.DeepEqual(got[i], src[i]) {
				t.Fatalf("year %d record %d: %v, recorded %v", c.year, i, got[i], src[i])
			}
		}
	}
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type apiRecord struct {
	Year          int      `json:"year"`
	CountryCode   int      `json:"countryCode"`
	CountryName   string   `json:"countryName"`
	ShortName     string   `json:"shortName"`
	ISOA2         *string  `json:"isoa2"`
	Record        string   `json:"record"`
	CropLand      *float64 `json:"cropLand"`
	GrazingLand   *float64 `json:"grazingLand"`
	ForestLand    *float64 `json:"forestLand"`
	FishingGround *float64 `json:"fishingGround"`
	BuiltupLand   *float64 `json:"builtupLand"`
	Carbon        *float64 `json:"carbon"`
	Value         *float64 `json:"value"`
	Score         *string  `json:"score"`
}

var apiFields = []string{
	"year", "countryCode", "countryName", "shortName", "isoa2", "record",
	"cropLand", "grazingLand", "forestLand", "fishingGround", "builtupLand", "carbon",
	"value", "score",
}

func TestGeneratedDataHasTheRecordingsQuirks(t *testing.T) {
	s, ts := start(t, sim.Config{})
	if !slices.Equal(s.Years(), sim.GeneratedYears) {
		t.Fatalf("years %v", s.Years())
	}
	total := 0
	types := map[string]bool{}
	scores := map[string]bool{}
	var namibia, sudan, ivoire, nullComponents, aggregates int
	for _, y := range sim.GeneratedYears {
		resp, body := get(t, ts.URL+"/v1/data/all/"+strconv.Itoa(y), "k")
		if resp.StatusCode != 200 {
			t.Fatalf("year %d: %d", y, resp.StatusCode)
		}
		if !bytes.HasPrefix(body, []byte("[\n  {\n    \"year\": ")) || bytes.ContainsFunc(body, func(r rune) bool { return r > 0x7f }) {
			t.Fatalf("year %d is not laid out like the recording (indent 2, ASCII only)", y)
		}
		checkKeyOrder(t, body)
		var recs []apiRecord
		if err := json.Unmarshal(body, &recs); err != nil {
			t.Fatalf("year %d: %v", y, err)
		}
		seen := map[[2]any]bool{}
		for _, r := range recs {
			key := [2]any{r.CountryCode, r.Record}
			if seen[key] {
				t.Fatalf("duplicate key %v in %d", key, y)
			}
			seen[key] = true
			total++
			types[r.Record] = true
			if r.Year != y || r.Value == nil {
				t.Fatalf("bad record %+v", r)
			}
			if r.Score == nil {
				scores["null"] = true
			} else {
				scores[*r.Score] = true
			}
			if r.CountryCode >= 1000 {
				aggregates++
				if r.ISOA2 != nil || (!strings.HasPrefix(r.ShortName, "· ") && !strings.HasPrefix(r.ShortName, "º ")) {
					t.Fatalf("aggregate %+v", r)
				}
			}
			switch {
			case r.ISOA2 != nil && *r.ISOA2 == "NA":
				namibia++
			case r.ISOA2 != nil && *r.ISOA2 == "":
				sudan++
			}
			if r.CountryName == "Côte d'Ivoire" {
				ivoire++
			}
			comps := []*float64{r.CropLand, r.GrazingLand, r.ForestLand, r.FishingGround, r.BuiltupLand, r.Carbon}
			socio := r.Record == "Population" || strings.HasPrefix(r.Record, "GDP") || r.Record == "HDI"
			if comps[0] == nil {
				nullComponents++
				for _, c := range comps {
					if c != nil {
						t.Fatalf("partly null components %+v", r)
					}
				}
				continue
			}
			if socio {
				t.Fatalf("%s row with components %+v", r.Record, r)
			}
			sum := 0.0
			for _, c := range comps {
				sum += *c
			}
			if d := sum - *r.Value; d > 1e-6*max(1, *r.Value) || d < -1e-6*max(1, *r.Value) {
				t.Fatalf("components sum %v != value %v", sum, *r.Value)
			}
		}
	}
	if total < 2000 || total > 10000 {
		t.Errorf("%d generated rows, want a few thousand", total)
	}
	if len(types) != 17 {
		t.Errorf("%d record types: %v", len(types), types)
	}
	for _, sc := range []string{"null", "", "3A", "2A", "2B", "2C", "1A", "1B"} {
		if !scores[sc] {
			t.Errorf("score %q never generated", sc)
		}
	}
	if namibia == 0 || sudan == 0 || ivoire == 0 || aggregates == 0 || nullComponents == 0 {
		t.Errorf("quirk missing: namibia=%d sudan=%d ivoire=%d aggregates=%d null components=%d",
			namibia, sudan, ivoire, aggregates, nullComponents)
	}
}

// checkKeyOrder asserts the first record's keys come in the API's order.
func checkKeyOrder(t *testing.T, body []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // [
		t.Fatal(err)
	}
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(keys, apiFields) {
		t.Fatalf("keys %v, want %v", keys, apiFields)
	}
}

func TestEndpoints(t *testing.T) {
	_, ts := start(t, sim.Config{APIKey: testKey, MissingYears: []int{2017}})
	decode := func(path string, v any) int {
		t.Helper()
		resp, body := get(t, ts.URL+path, testKey)
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(body, v); err != nil {
				t.Fatalf("%s: %v: %s", path, err, body)
			}
		}
		return resp.StatusCode
	}

	var countries []struct {
		CountryCode string  `json:"countryCode"`
		CountryName string  `json:"countryName"`
		ISOA2       *string `json:"isoa2"`
	}
	if decode("/v1/countries", &countries) != 200 || len(countries) < 20 || countries[0].CountryCode != "1" {
		t.Fatalf("countries %+v", countries)
	}
	var types []struct{ Code, Record string }
	if decode("/v1/types", &types) != 200 || len(types) != 17 {
		t.Fatalf("types %+v", types)
	}
	var years []struct{ Year int }
	if decode("/v1/years", &years) != 200 || len(years) != len(sim.GeneratedYears) {
		t.Fatalf("years %+v", years)
	}

	tests := []struct {
		path      string
		status    int
		wantCount int // -1: any non-zero
		check     func(apiRecord) bool
	}{
		{"/v1/data/147/2020", 200, 17, func(r apiRecord) bool { return r.CountryCode == 147 && r.Year == 2020 }},
		{"/v1/data/147/2020/EFCpc", 200, 1, func(r apiRecord) bool { return r.Record == "EFConsPerCap" }},
		{"/v1/data/all/2020/Population", 200, -1, func(r apiRecord) bool { return r.Record == "Population" }},
		{"/v1/data/5001/all/HDI", 200, len(sim.GeneratedYears) - 1, func(r apiRecord) bool { return r.Year != 2017 }},
		{"/v1/data/999/2020", 200, 0, nil},
		{"/v1/data/all/2017", 404, 0, nil},
		{"/v1/data/all/1999", 404, 0, nil},
		{"/v1/data/all/twenty", 400, 0, nil},
		{"/v1/data/all/2020/Nope", 400, 0, nil},
		{"/v1/nothing", 404, 0, nil},
	}
	for _, tc := range tests {
		var recs []apiRecord
		status := decode(tc.path, &recs)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, status, tc.status)
			continue
		}
		if (tc.wantCount >= 0 && len(recs) != tc.wantCount) || (tc.wantCount < 0 && len(recs) == 0) {
			t.Errorf("%s: %d records, want %d", tc.path, len(recs), tc.wantCount)
		}
		for _, r := range recs {
			if !tc.check(r) {
				t.Errorf("%s: unexpected record %+v", tc.path, r)
				break
			}
		}
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		kind  sim.FaultKind
		check func(t *testing.T, resp *http.Response, body []byte, err error)
	}{
		{sim.Fault500, func(t *testing.T, resp *http.Response, _ []byte, err error) {
			if err != nil || resp.StatusCode != 500 {
				t.Fatalf("want 500, got %v %v", resp, err)
			}
		}},
		{sim.Fault429, func(t *testing.T, resp *http.Response, _ []byte, err error) {
			if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
				t.Fatalf("want 429 with Retry-After 1, got %v %v", resp, err)
			}
		}},
		{sim.FaultReset, func(t *testing.T, resp *http.Response, _ []byte, err error) {
			if err == nil {
				t.Fatalf("want a connection error, got %d", resp.StatusCode)
			}
		}},
		{sim.FaultSlow, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 200 || !json.Valid(body) {
				t.Fatalf("slow must still answer: %v %v", resp, err)
			}
		}},
		{sim.FaultTruncate, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if !errors.Is(err, io.ErrUnexpectedEOF) || resp.StatusCode != 200 || int64(len(body)) >= resp.ContentLength {
				t.Fatalf("want a short body and unexpected EOF, got %d of %d bytes, err %v", len(body), resp.ContentLength, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			s, ts := start(t, sim.Config{Faults: string(tc.kind) + ":1", SlowDelay: 30 * time.Millisecond})
			// Metadata endpoints are never faulted.
			if resp, _ := get(t, ts.URL+"/v1/years", "k"); resp.StatusCode != 200 {
				t.Fatalf("years: %d", resp.StatusCode)
			}
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/data/all/2020", nil)
			req.SetBasicAuth("u", "k")
			start := time.Now()
			resp, err := ts.Client().Do(req)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			tc.check(t, resp, body, err)
			if tc.kind == sim.FaultSlow && time.Since(start) < 30*time.Millisecond {
				t.Fatalf("slow fault answered after %v", time.Since(start))
			}
			if st := s.Stats(); st.Faults[string(tc.kind)] != 1 || st.FaultsInjected != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// The same seed injects the same faults in the same order.
func TestFaultsAreSeeded(t *testing.T) {
	sequence := func() []int {
		_, ts := start(t, sim.Config{Faults: "500:0.5", Seed: 42})
		var out []int
		for range 20 {
			resp, _ := get(t, ts.URL+"/v1/data/all/2020", "k")
			out = append(out, resp.StatusCode)
		}
		return out
	}
	a, b := sequence(), sequence()
	if !slices.Equal(a, b) || !slices.Contains(a, 500) || !slices.Contains(a, 200) {
		t.Fatalf("sequences %v and %v", a, b)
	}
}

// Generated accounts hang together as GFN's do, so a newcomer's first report reads like the
// real one: per capita times population is the total, consumption is production plus imports
// minus exports, and the World uses more than its biocapacity with an overshoot day between
// late June and late August (the real one moved between 29 July and 2 August since 2015).
func TestGeneratedAccountsHangTogether(t *testing.T) {
	_, ts := start(t, sim.Config{})
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }
	for _, y := range sim.GeneratedYears {
		_, body := get(t, ts.URL+"/v1/data/all/"+strconv.Itoa(y), "k")
		var recs []apiRecord
		if err := json.Unmarshal(body, &recs); err != nil {
			t.Fatal(err)
		}
		val := map[int]map[string]float64{}
		for _, r := range recs {
			if val[r.CountryCode] == nil {
				val[r.CountryCode] = map[string]float64{}
			}
			val[r.CountryCode][r.Record] = *r.Value
		}
		for code, v := range val {
			pop := v["Population"]
			for _, fam := range []string{"EFCons", "EFProd", "EFImports", "EFExports", "Biocap"} {
				if !near(v[fam+"PerCap"]*pop, v[fam+"TotGHA"]) {
					t.Fatalf("%d, country %d: %sPerCap %v x population %v != %sTotGHA %v", y, code, fam, v[fam+"PerCap"], pop, fam, v[fam+"TotGHA"])
				}
			}
			if !near(v["AreaPerCap"]*pop, v["AreaTotHA"]) {
				t.Fatalf("%d, country %d: area per capita x population != total", y, code)
			}
			if !near(v["EFProdTotGHA"]+v["EFImportsTotGHA"]-v["EFExportsTotGHA"], v["EFConsTotGHA"]) {
				t.Fatalf("%d, country %d: production + imports - exports != consumption", y, code)
			}
		}
		world := val[5001]
		earths := world["EFConsTotGHA"] / world["BiocapTotGHA"]
		day := int(365 / earths)
		if earths <= 1 || day < 175 || day > 240 || !near(world["Earths"], earths) {
			t.Fatalf("%d: the World uses %.2f Earths (its Earths record says %.2f), overshoot day %d", y, earths, world["Earths"], day)
		}
	}
}
