// Package sim is a stand-in for the Global Footprint Network API v1: the same endpoints,
// authentication and JSON shapes, serving recorded responses byte for byte (or deterministic
// generated data), with seeded fault injection so clients can be tested against failures.
package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// EnvServeYears is the environment variable the simulator's command (and the embedded run)
// read Config.ServeYears from.
const EnvServeYears = "GFNAPI_SIM_YEARS"

// Config configures a Server.
type Config struct {
	// DataDir holds data_all_YYYY.json or .json.gz files; empty serves generated data.
	DataDir string
	// APIKey is the password basic auth must carry; empty accepts any non-empty password.
	APIKey string
	// Faults is a ParseFaults spec applied to data requests.
	Faults string
	// Seed makes fault injection reproducible.
	Seed int64
	// RejectAllKeys answers 403 to every API request, as the real API does to a revoked key.
	RejectAllKeys bool
	// ServeYears "FROM-TO" serves every year of the range with the recorded (or generated)
	// years' records in turn, renumbered: a long backfill at the data's density.
	ServeYears string
	// MissingYears are listed by /years but answer 404 on /data.
	MissingYears []int
	// SlowDelay is how long a "slow" fault stalls; default 2 s.
	SlowDelay time.Duration
	// Logger receives request and fault logs; default slog.Default().
	Logger *slog.Logger
}

// Endpoint kinds counted in Stats.
const (
	EndpointCountries = "countries"
	EndpointTypes     = "types"
	EndpointYears     = "years"
	EndpointData      = "data"
	EndpointOther     = "other"
)

// Stats counts what the simulator has served since it started (GET /_sim/stats).
type Stats struct {
	Requests  int64            `json:"requests"`
	Forbidden int64            `json:"forbidden"`
	NotFound  int64            `json:"not_found"`
	Endpoints map[string]int64 `json:"endpoints"`
	Faults    map[string]int64 `json:"faults"`
	// FaultsInjected is the sum of Faults.
	FaultsInjected int64 `json:"faults_injected"`
}

// Server is the simulated API; it is an http.Handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	data    *dataset
	faults  []Fault
	missing map[int]bool
	mux     *http.ServeMux

	mu    sync.Mutex // guards rng, stats and faults
	rng   *rand.Rand
	stats Stats
	spec  string // faults as last set (Config.Faults or PUT /_sim/faults)
}

// New builds a Server, loading DataDir when set.
func New(cfg Config) (*Server, error) {
	faults, err := ParseFaults(cfg.Faults)
	if err != nil {
		return nil, err
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = 2 * time.Second
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		faults:  faults,
		spec:    cfg.Faults,
		missing: map[int]bool{},
		rng:     rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)), //nolint:gosec // G115: seed bits; wrapping is harmless
		stats:   Stats{Endpoints: map[string]int64{}, Faults: map[string]int64{}},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, y := range cfg.MissingYears {
		s.missing[y] = true
	}
	if cfg.DataDir != "" {
		if s.data, err = loadDir(cfg.DataDir); err != nil {
			return nil, err
		}
	} else {
		s.data = newDataset(generate())
	}
	if cfg.ServeYears != "" {
		var from, to int
		if _, err := fmt.Sscanf(cfg.ServeYears, "%d-%d", &from, &to); err != nil {
			return nil, fmt.Errorf("serve years %q: want FROM-TO: %w", cfg.ServeYears, err)
		}
		if s.data, err = s.data.renumbered(from, to); err != nil {
			return nil, err
		}
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /v1/countries", s.countries)
	s.mux.HandleFunc("GET /v1/types", s.types)
	s.mux.HandleFunc("GET /v1/years", s.years)
	s.mux.HandleFunc("GET /v1/data/{country}/{year}", s.dataHandler)
	s.mux.HandleFunc("GET /v1/data/{country}/{year}/{type}", s.dataHandler)
	return s, nil
}

// Years lists the years the simulator has data for, including MissingYears.
func (s *Server) Years() []int { return slices.Clone(s.data.order) }

// Stats returns a snapshot of the request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.Endpoints = make(map[string]int64, len(s.stats.Endpoints))
	for k, v := range s.stats.Endpoints {
		out.Endpoints[k] = v
	}
	out.Faults = make(map[string]int64, len(s.stats.Faults))
	for k, v := range s.stats.Faults {
		out.Faults[k] = v
	}
	return out
}

func (s *Server) count(fn func(st *Stats)) {
	s.mu.Lock()
	fn(&s.stats)
	s.mu.Unlock()
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim/stats" {
		writeJSON(w, http.StatusOK, s.Stats())
		return
	}
	if r.URL.Path == "/_sim/faults" {
		s.faultControl(w, r)
		return
	}
	s.count(func(st *Stats) { st.Requests++ })
	if !s.authorized(r) {
		s.count(func(st *Stats) { st.Forbidden++ })
		s.log.Info("gfnapi-sim rejected credentials", "path", r.URL.Path)
		writeError(w, r, http.StatusForbidden, "Access Denied")
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.count(func(st *Stats) { st.Endpoints[EndpointOther]++; st.NotFound++ })
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.RejectAllKeys {
		return false
	}
	_, pass, ok := r.BasicAuth()
	if !ok || pass == "" {
		return false
	}
	return s.cfg.APIKey == "" || pass == s.cfg.APIKey
}

func (s *Server) countries(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Endpoints[EndpointCountries]++ })
	type country struct {
		ID          int     `json:"id"`
		Version     *int    `json:"version"`
		CountryCode string  `json:"countryCode"`
		CountryName string  `json:"countryName"`
		ShortName   string  `json:"shortName"`
		ISOA2       *string `json:"isoa2"`
		Score       *string `json:"score"`
	}
	byCode := map[int]*country{}
	// Newest year last so its names and scores win.
	for _, y := range s.data.order {
		_, recs, err := s.data.years[y].parse()
		if err != nil {
			writeError(w, r, http.StatusInternalServerError, err.Error())
			return
		}
		for _, rec := range recs {
			c := byCode[rec.CountryCode]
			if c == nil {
				c = &country{ID: rec.CountryCode, CountryCode: strconv.Itoa(rec.CountryCode)}
				byCode[rec.CountryCode] = c
			}
			c.CountryName, c.ShortName, c.ISOA2 = rec.CountryName, rec.ShortName, rec.ISOA2
			if rec.Record == "EFConsPerCap" {
				c.Score = rec.Score
			}
		}
	}
	out := make([]*country, 0, len(byCode))
	for _, c := range byCode {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *country) int { return a.ID - b.ID })
	writeJSON(w, http.StatusOK, out)
}

// apiType is one /v1/types entry; code is the short name the data endpoint also accepts.
type apiType struct {
	ID      int    `json:"id"`
	Version *int   `json:"version"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Note    string `json:"note"`
	Record  string `json:"record"`
}

var apiTypes = []apiType{
	{Code: "EFCpc", Name: "Ecological Footprint of consumption per person", Record: "EFConsPerCap"},
	{Code: "EFCtot", Name: "Ecological Footprint of consumption, total", Record: "EFConsTotGHA"},
	{Code: "EFPpc", Name: "Ecological Footprint of production per person", Record: "EFProdPerCap"},
	{Code: "EFPtot", Name: "Ecological Footprint of production, total", Record: "EFProdTotGHA"},
	{Code: "EFIpc", Name: "Ecological Footprint of imports per person", Record: "EFImportsPerCap"},
	{Code: "EFItot", Name: "Ecological Footprint of imports, total", Record: "EFImportsTotGHA"},
	{Code: "EFEpc", Name: "Ecological Footprint of exports per person", Record: "EFExportsPerCap"},
	{Code: "EFEtot", Name: "Ecological Footprint of exports, total", Record: "EFExportsTotGHA"},
	{Code: "BCpc", Name: "Biocapacity per person", Record: "BiocapPerCap"},
	{Code: "BCtot", Name: "Biocapacity, total", Record: "BiocapTotGHA"},
	{Code: "AREApc", Name: "Area per person", Record: "AreaPerCap"},
	{Code: "AREAtot", Name: "Area, total", Record: "AreaTotHA"},
	{Code: "EARTHS", Name: "Number of Earths", Record: "Earths"},
	{Code: "POP", Name: "Population", Record: "Population"},
	{Code: "GDP", Name: "GDP, US dollars", Record: "GDP-USD"},
	{Code: "GDPPPP", Name: "GDP, purchasing power parity", Record: "GDP-PPP"},
	{Code: "HDI", Name: "Human Development Index", Record: "HDI"},
}

func (s *Server) types(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Endpoints[EndpointTypes]++ })
	out := slices.Clone(apiTypes)
	for i := range out {
		out[i].ID = i + 1
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) years(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Endpoints[EndpointYears]++ })
	type year struct {
		ID      int  `json:"id"`
		Version *int `json:"version"`
		Year    int  `json:"year"`
	}
	out := make([]year, len(s.data.order))
	for i, y := range s.data.order {
		out[i] = year{ID: i + 1, Year: y}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) dataHandler(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Endpoints[EndpointData]++ })
	fault := s.draw(r.PathValue("year"))
	if s.applyFault(w, r, fault) {
		return
	}
	body, status, msg := s.dataBody(r.PathValue("country"), r.PathValue("year"), r.PathValue("type"))
	if status != http.StatusOK {
		if status == http.StatusNotFound {
			s.count(func(st *Stats) { st.NotFound++ })
		}
		writeError(w, r, status, msg)
		return
	}
	if fault == FaultTruncate {
		// Promise the full body, send half: the client sees an unexpected EOF because the
		// server closes a connection whose response fell short of its Content-Length.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// dataBody resolves /data/{country}/{year}[/{type}]: the exact recorded bytes for an
// unfiltered single year, else the matching records re-joined in the same layout.
func (s *Server) dataBody(countryArg, yearArg, typeArg string) ([]byte, int, string) {
	var years []int
	if yearArg == "all" {
		for _, y := range s.data.order {
			if !s.missing[y] {
				years = append(years, y)
			}
		}
	} else {
		y, err := strconv.Atoi(yearArg)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Sprintf("invalid year %q", yearArg)
		}
		if _, ok := s.data.years[y]; !ok || s.missing[y] {
			return nil, http.StatusNotFound, fmt.Sprintf("no data for year %d", y)
		}
		years = []int{y}
	}
	country := -1
	if countryArg != "all" {
		c, err := strconv.Atoi(countryArg)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Sprintf("invalid country code %q", countryArg)
		}
		country = c
	}
	recordName := ""
	if typeArg != "" {
		for _, t := range apiTypes {
			if typeArg == t.Code || typeArg == t.Record {
				recordName = t.Record
			}
		}
		if recordName == "" {
			return nil, http.StatusBadRequest, fmt.Sprintf("unknown record type %q", typeArg)
		}
	}
	if len(years) == 1 && country < 0 && recordName == "" {
		body, err := s.data.years[years[0]].bytes()
		if err != nil {
			return nil, http.StatusInternalServerError, err.Error()
		}
		return body, http.StatusOK, ""
	}
	var elems []json.RawMessage
	for _, y := range years {
		all, recs, err := s.data.years[y].parse()
		if err != nil {
			return nil, http.StatusInternalServerError, err.Error()
		}
		for i, rec := range recs {
			if (country < 0 || rec.CountryCode == country) && (recordName == "" || rec.Record == recordName) {
				elems = append(elems, all[i])
			}
		}
	}
	return joinElems(elems), http.StatusOK, ""
}

// SetFaults replaces the fault spec at runtime (ParseFaults syntax; "" removes every fault),
// so a test can make a year fail and later heal it without restarting the simulator.
func (s *Server) SetFaults(spec string) error {
	faults, err := ParseFaults(spec)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.faults, s.spec = faults, spec
	s.mu.Unlock()
	s.log.Info("gfnapi-sim faults set", "faults", spec)
	return nil
}

// faultControl serves /_sim/faults: GET returns the spec, PUT replaces it with the body.
// Like /_sim/stats it needs no credentials: the simulator only listens on test hosts.
func (s *Server) faultControl(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut:
		body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
		if err == nil {
			err = s.SetFaults(string(body))
		}
		if err != nil {
			writeError(w, r, http.StatusBadRequest, err.Error())
			return
		}
	default:
		w.Header().Set("Allow", "GET, PUT")
		writeError(w, r, http.StatusMethodNotAllowed, "use GET or PUT")
		return
	}
	s.mu.Lock()
	spec := s.spec
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"faults": spec})
}

// draw picks at most one fault for a data request of yearArg from the seeded RNG. Requests
// no fault applies to draw no number, so scoped faults leave other years' sequence alone.
func (s *Server) draw(yearArg string) FaultKind {
	year, _ := strconv.Atoi(yearArg)
	s.mu.Lock()
	defer s.mu.Unlock()
	var applicable []Fault
	for _, f := range s.faults {
		if f.Year == 0 || f.Year == year {
			applicable = append(applicable, f)
		}
	}
	if len(applicable) == 0 {
		return ""
	}
	x := s.rng.Float64()
	for _, f := range applicable {
		if x < f.Probability {
			s.stats.Faults[string(f.Kind)]++
			s.stats.FaultsInjected++
			return f.Kind
		}
		x -= f.Probability
	}
	return ""
}

// applyFault carries out a drawn fault; it returns true when the response is finished.
// Slow delays and lets the request go on; truncate is done by the body writer.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, kind FaultKind) bool {
	if kind == "" {
		return false
	}
	s.log.Info("gfnapi-sim injecting fault", "fault", string(kind), "path", r.URL.Path)
	switch kind {
	case Fault500:
		writeError(w, r, http.StatusInternalServerError, "Internal Server Error")
		return true
	case Fault429:
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusTooManyRequests, "Too Many Requests")
		return true
	case FaultReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			writeError(w, r, http.StatusInternalServerError, "connection reset unsupported")
			return true
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return true
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // RST rather than FIN, like a dropped upstream
		}
		_ = conn.Close()
		return true
	case FaultSlow:
		t := time.NewTimer(s.cfg.SlowDelay)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers with the real API's (Spring Boot) error shape.
func writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	writeJSON(w, status, map[string]any{
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000+00:00"),
		"status":    status,
		"error":     http.StatusText(status),
		"message":   msg,
		"path":      r.URL.Path,
	})
}
