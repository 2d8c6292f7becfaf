package embedded_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/warehouse/whtest"
	"github.com/gfnpipeline/tools/gfnapi-sim/sim"
	"github.com/gfnpipeline/tools/gfnctl/embedded"
)

// The floor is what DuckDB alone needs for the same work: read the recording's JSON into a
// table and write it out as zstd Parquet. Each side runs as a child process (this test binary
// again, TestBenchChild), so its peak RSS is its own: VmHWM, its address space's high-water
// mark, which the child reads as it ends. Not rusage's max RSS: Linux carries the high-water
// mark of the image a process replaced over exec, and Go's exec replaces a vfork of this
// parent, so a child would report at least the parent's own peak (after BenchmarkEmbeddedRun,
// 220-250 MiB).

// envBenchChild selects the child's side: "embedded" or "floor".
const envBenchChild = "GFN_BENCH_CHILD"

// envBenchRec passes the recording's directory to the child.
const envBenchRec = "GFN_BENCH_RECORDING"

// benchRounds: each side runs this many times, interleaved; figures are medians.
const benchRounds = 3

// The low-memory settings trade time for memory, for the whole process: DuckDB's allocator
// (jemalloc, which reads its settings only at process start) returns freed pages at once,
// from one arena, and Go collects when the live heap has grown by a quarter, not doubled.
const (
	lowMemoryJemalloc = "narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0"
	lowMemoryGOGC     = "25"
)

// lowMemoryEnv is the environment that sets them (README "Performance" gives the same).
var lowMemoryEnv = []string{"DUCKDB_JE_MALLOC_CONF=" + lowMemoryJemalloc, "GOGC=" + lowMemoryGOGC}

// BenchmarkEmbeddedVsFloor prints
// `bench embedded_vs_floor embedded_s=.. floor_s=.. ratio=.. peak_rss_mb=.. floor_rss_mb=..`:
// medians of benchRounds interleaved runs of each side, the largest peak RSS of the embedded
// runs (MiB), and each side's median CPU seconds (the whole child process). A second line,
// `bench embedded_low_memory`, is the embedded run again under lowMemoryEnv.
func BenchmarkEmbeddedVsFloor(b *testing.B) {
	rec := whtest.RecordingDir(b)
	var emb, floor, low []child
	for i := 0; i < b.N*benchRounds; i++ {
		emb = append(emb, runChild(b, "embedded", rec, "^TestBenchChild$"))
		floor = append(floor, runChild(b, "floor", rec, "^TestBenchChild$"))
		low = append(low, runChild(b, "embedded", rec, "^TestBenchChild$", lowMemoryEnv...))
	}
	e, f := median(emb, child.seconds), median(floor, child.seconds)
	if emb[0].rows != floor[0].rows {
		b.Fatalf("embedded loaded %d rows, the floor %d: not the same work", emb[0].rows, floor[0].rows)
	}
	b.ReportMetric(e/f, "ratio")
	b.ReportMetric(peakRSS(emb), "peak_rss_MiB")
	fmt.Printf("bench embedded_vs_floor embedded_s=%.2f floor_s=%.2f ratio=%.2f peak_rss_mb=%.0f floor_rss_mb=%.0f embedded_cpu_s=%.2f floor_cpu_s=%.2f rows=%d rounds=%d\n",
		e, f, e/f, peakRSS(emb), median(floor, child.rss), median(emb, child.cpuSecs), median(floor, child.cpuSecs), emb[0].rows, len(emb))
	l := median(low, child.seconds)
	fmt.Printf("bench embedded_low_memory seconds=%.2f ratio=%.2f peak_rss_mb=%.0f cpu_s=%.2f gogc=%s jemalloc=%s rounds=%d\n",
		l, l/f, peakRSS(low), median(low, child.cpuSecs), lowMemoryGOGC, lowMemoryJemalloc, len(low))
}

// peakRSS is the largest peak RSS of the runs, MiB.
func peakRSS(cs []child) float64 {
	return slices.MaxFunc(cs, func(a, b child) int { return int(a.rssMiB - b.rssMiB) }).rssMiB
}

// BenchmarkBackfillScale runs the embedded backfill over 1961-2024 (64 years, the recording's
// 23 renumbered in turn by the simulator) and over the recording's own 23 years, interleaved,
// and prints `bench backfill_scale`: median seconds and microseconds per row of each, their
// ratio (target <= 1.10; also in CPU seconds, steadier on a busy machine) and each one's peak
// RSS (it should not grow with the years).
func BenchmarkBackfillScale(b *testing.B) {
	rec := whtest.RecordingDir(b)
	var short, long []child
	for i := 0; i < b.N*benchRounds; i++ {
		short = append(short, runChild(b, "embedded", rec, "^TestBenchChild$"))
		long = append(long, runChild(b, "embedded", rec, "^TestBenchChild$", sim.EnvServeYears+"=1961-2024"))
	}
	perRow := func(c child) float64 { return 1e6 * c.secs / float64(c.rows) }
	s, l := median(short, perRow), median(long, perRow)
	cpuPerRow := func(c child) float64 { return 1e6 * c.cpu / float64(c.rows) }
	cs, cl := median(short, cpuPerRow), median(long, cpuPerRow)
	b.ReportMetric(l/s, "per_row_ratio")
	fmt.Printf("bench backfill_scale years_23_rows=%d years_23_s=%.2f years_23_us_per_row=%.1f years_64_rows=%d years_64_s=%.2f years_64_us_per_row=%.1f per_row_ratio=%.2f cpu_per_row_ratio=%.2f years_23_rss_mb=%.0f years_64_rss_mb=%.0f rounds=%d\n",
		short[0].rows, median(short, child.seconds), s, long[0].rows, median(long, child.seconds), l, l/s, cl/cs, peakRSS(short), peakRSS(long), len(long))
}

// child is one child run's report.
type child struct {
	secs float64
	// cpu is the child's user+system CPU seconds: steadier than wall time on a busy machine.
	cpu    float64
	rows   int64
	rssMiB float64
}

func (c child) seconds() float64 { return c.secs }
func (c child) cpuSecs() float64 { return c.cpu }
func (c child) rss() float64     { return c.rssMiB }

// runChild runs one side in a fresh process and reads its `child seconds=.. rows=.. hwm_kib=..`
// line.
func runChild(b *testing.B, side, rec, run string, env ...string) child {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", run, "-test.count=1")
	cmd.Env = append(append(os.Environ(), envBenchChild+"="+side, envBenchRec+"="+rec), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s child: %v\n%s", side, err, out)
	}
	var c child
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "child" {
			c.secs, _ = strconv.ParseFloat(strings.TrimPrefix(f[1], "seconds="), 64)
			c.rows, _ = strconv.ParseInt(strings.TrimPrefix(f[2], "rows="), 10, 64)
			hwm, _ := strconv.ParseFloat(strings.TrimPrefix(f[3], "hwm_kib="), 64)
			c.rssMiB = hwm / 1024
		}
	}
	if c.secs == 0 || c.rssMiB == 0 {
		b.Fatalf("%s child printed no result:\n%s", side, out)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("no rusage for the child")
	}
	c.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return c
}

func median(cs []child, f func(child) float64) float64 {
	xs := make([]float64, len(cs))
	for i, c := range cs {
		xs[i] = f(c)
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// TestBenchChild is one side of a benchmark, run by the benchmark in a child process; it
// does nothing in a normal test run.
func TestBenchChild(t *testing.T) {
	side := os.Getenv(envBenchChild)
	if side == "" {
		t.Skip("runs as a benchmark's child process")
	}
	rec := os.Getenv(envBenchRec)
	dir := t.TempDir()
	start := time.Now()
	var rows int64
	var err error
	switch side {
	case "embedded":
		rows, err = embeddedSide(dir, rec, contracts.ExtractionRequested{})
	case "floor":
		rows, err = floorSide(dir, rec)
	default:
		err = fmt.Errorf("unknown side %q", side)
	}
	if err != nil {
		t.Fatal(err)
	}
	secs := time.Since(start).Seconds()
	hwm, err := peakRSSKiB()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("child seconds=%.3f rows=%d hwm_kib=%d\n", secs, rows, hwm)
}

// peakRSSKiB is this process's peak resident set since its exec: VmHWM in /proc/self/status.
func peakRSSKiB() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" { // VmHWM:  245760 kB
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("peak RSS: no VmHWM in /proc/self/status")
}

// embeddedSide is `gfnctl run --embedded` over the recording; the simulator's year range
// (GFNAPI_SIM_YEARS) comes from the benchmark.
func embeddedSide(dir, rec string, req contracts.ExtractionRequested) (int64, error) {
	res, err := embedded.Run(context.Background(), embedded.Options{DataDir: dir, SimDataDir: rec, SimYears: os.Getenv(sim.EnvServeYears),
		Request: req, Timeout: 10 * time.Minute, Logger: quiet})
	if err != nil {
		return 0, err
	}
	done, ok := res.Outcome.(*contracts.RunCompleted)
	if !ok {
		return 0, fmt.Errorf("run did not complete: %+v", res.Outcome)
	}
	return done.RowsLoaded, nil
}

// floorSide is DuckDB's read_json of the recorded files into a table, then COPY to zstd
// Parquet, at DuckDB's default settings.
func floorSide(dir, rec string) (int64, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	glob := filepath.Join(rec, "data_all_*.json.gz")
	if _, err := db.Exec(`CREATE TABLE ef AS SELECT * FROM read_json('` + glob + `')`); err != nil {
		return 0, fmt.Errorf("floor read_json: %w", err)
	}
	out := filepath.Join(dir, "floor.parquet")
	if _, err := db.Exec(`COPY ef TO '` + out + `' (FORMAT parquet, COMPRESSION zstd)`); err != nil {
		return 0, fmt.Errorf("floor copy: %w", err)
	}
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM read_parquet('` + out + `')`).Scan(&n); err != nil {
		return 0, fmt.Errorf("floor read back: %w", err)
	}
	return n, nil
}
