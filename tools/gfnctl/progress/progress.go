// Package progress shows a run's progress to the person waiting for it: a live line on a
// terminal, plain lines otherwise, always cleared before the summary line.
package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/runledger"
)

// Counts are a run's batches per stage reached, and its rows.
type Counts struct {
	Planned, Landed, Validated, Loaded, Failed int
	RowsIn, RowsLoaded                         int
}

// FromRun counts what the run's ledger shows so far. A failed batch was quarantined or given
// up on and not loaded since (a redrive can still load it).
func FromRun(run runledger.Run) Counts {
	var c Counts
	if run.Plan != nil {
		c.Planned = len(run.Plan.Batches)
	}
	for _, b := range run.SortedBatches() {
		if b.BatchID == "_run" {
			if b.Has("BatchFailed") && run.Plan == nil {
				c.Failed++
			}
			continue
		}
		var landed contracts.RawBatchLanded
		if decode(b, &landed) {
			c.Landed++
			c.RowsIn += landed.Records
		}
		if b.Has("BatchValidated") {
			c.Validated++
		}
		var loaded contracts.BatchLoaded
		switch {
		case decode(b, &loaded):
			c.Loaded++
			c.RowsLoaded += loaded.RowsLoaded
		case b.Has("BatchQuarantined") || b.Has("BatchFailed"):
			c.Failed++
		}
	}
	return c
}

func decode(b *runledger.BatchState, m contracts.Message) bool {
	raw, ok := b.Stages[m.EventType()]
	return ok && json.Unmarshal(raw, m) == nil
}

func (c Counts) String() string {
	return fmt.Sprintf("planned %d, landed %d, validated %d, loaded %d, failed %d; rows in %d, loaded %d",
		c.Planned, c.Landed, c.Validated, c.Loaded, c.Failed, c.RowsIn, c.RowsLoaded)
}

// Display renders Counts as they change.
type Display struct {
	w     io.Writer
	bar   *progressbar.ProgressBar // nil when w is not a terminal
	runID string
	// cur is the newest count, last the one printed (plain output).
	cur, last Counts
	// plain output is throttled: a line when the counts change, at most one per interval.
	interval time.Duration
	printed  time.Time
}

// New shows progress on f: a live bar when f is a terminal, else plain lines.
func New(f *os.File) *Display {
	d := &Display{w: f, interval: 2 * time.Second}
	if term.IsTerminal(int(f.Fd())) {
		d.bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(f),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionSetWidth(20),
		)
	}
	return d
}

// NewPlain shows plain lines on w (tests, pipes).
func NewPlain(w io.Writer) *Display { return &Display{w: w, interval: 2 * time.Second} }

// Update shows the run's counts.
func (d *Display) Update(run runledger.Run) {
	c := FromRun(run)
	d.cur, d.runID = c, run.RunID
	if d.bar != nil {
		if c.Planned > 0 && d.bar.GetMax() != c.Planned {
			d.bar.ChangeMax(c.Planned)
		}
		d.bar.Describe(fmt.Sprintf("landed %d validated %d loaded %d failed %d, rows %d in %d loaded", c.Landed, c.Validated, c.Loaded, c.Failed, c.RowsIn, c.RowsLoaded))
		_ = d.bar.Set(c.Loaded + c.Failed)
		return
	}
	if c != d.last && time.Since(d.printed) >= d.interval {
		d.print()
	}
}

func (d *Display) print() {
	d.last, d.printed = d.cur, time.Now()
	fmt.Fprintf(d.w, "progress %s: %s\n", d.runID, d.cur)
}

// Done takes the live line away so the summary line is the last one on the terminal.
func (d *Display) Done() {
	if d.bar != nil {
		_ = d.bar.Finish()
		_ = d.bar.Clear()
		return
	}
	if d.cur != d.last {
		d.print()
	}
}
