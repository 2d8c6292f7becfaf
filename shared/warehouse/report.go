package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// OvershootDay is Earth Overshoot Day for one year, computed as GFN does:
// day = floor(365 x world biocapacity / world footprint), counted from 1 January.
type OvershootDay struct {
	Year           int
	BiocapacityGHA float64
	FootprintGHA   float64
	// Earths is how many Earths humanity's footprint needs (footprint / biocapacity).
	Earths float64
	// Overshoot is false for a year in which the world used less than its biocapacity: it
	// has no overshoot day (DayOfYear 0, Date zero).
	Overshoot bool
	DayOfYear int
	// Date is the DayOfYear-th day of Year (day 1 is 1 January).
	Date time.Time
}

// Balance is one country's footprint against its biocapacity in a year.
type Balance struct {
	CountryCode       int
	CountryName       string
	Year              int
	FootprintGHA      float64
	BiocapacityGHA    float64
	BalanceGHA        float64 // biocapacity - footprint: a reserve when >= 0, else a deficit
	FootprintPerCap   float64
	BiocapacityPerCap float64
	BalancePerCap     float64
	Status            string // "reserve" or "deficit"
}

// Report is the analysts' summary read from the transformed views.
type Report struct {
	Overshoot []OvershootDay
	// Year is the latest year with balances; the counts and lists below are for it and
	// cover countries only (aggregates would double-count).
	Year           int
	Reserves       int
	Deficits       int
	LargestDeficit []Balance
	LargestReserve []Balance
}

// ReadReport reads the overshoot days and the latest year's country balances; top limits the
// largest-deficit and largest-reserve lists. Any driver's *sql.DB works: the views are
// plain SQL both dialects share.
func ReadReport(ctx context.Context, db *sql.DB, top int) (Report, error) {
	var r Report
	rows, err := db.QueryContext(ctx, `SELECT year, biocapacity_gha, footprint_gha, earths, overshoot_day
FROM `+OvershootView+` ORDER BY year`)
	if err != nil {
		return Report{}, fmt.Errorf("report: query %s: %w", OvershootView, err)
	}
	defer rows.Close()
	for rows.Next() {
		var o OvershootDay
		var day sql.NullInt64
		if err := rows.Scan(&o.Year, &o.BiocapacityGHA, &o.FootprintGHA, &o.Earths, &day); err != nil {
			return Report{}, fmt.Errorf("report: scan %s: %w", OvershootView, err)
		}
		if day.Valid {
			o.Overshoot, o.DayOfYear = true, int(day.Int64)
			o.Date = time.Date(o.Year, time.January, o.DayOfYear, 0, 0, 0, 0, time.UTC)
		}
		r.Overshoot = append(r.Overshoot, o)
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("report: read %s: %w", OvershootView, err)
	}

	err = db.QueryRowContext(ctx, `SELECT coalesce(max(year), 0),
       count(CASE WHEN status = 'reserve' THEN 1 END), count(CASE WHEN status = 'deficit' THEN 1 END)
FROM `+BalanceView+`
WHERE NOT is_aggregate AND year = (SELECT max(year) FROM `+BalanceView+`)`).Scan(&r.Year, &r.Reserves, &r.Deficits)
	if err != nil {
		return Report{}, fmt.Errorf("report: count balances: %w", err)
	}
	if r.LargestDeficit, err = balances(ctx, db, r.Year, "ASC", top); err != nil {
		return Report{}, err
	}
	if r.LargestReserve, err = balances(ctx, db, r.Year, "DESC", top); err != nil {
		return Report{}, err
	}
	return r, nil
}

func balances(ctx context.Context, db *sql.DB, year int, order string, top int) ([]Balance, error) {
	sign := "<"
	if order == "DESC" {
		sign = ">="
	}
	rows, err := db.QueryContext(ctx, `SELECT country_code, country_name, year, footprint_gha, biocapacity_gha,
       balance_gha, footprint_per_cap, biocapacity_per_cap, balance_per_cap, status
FROM `+BalanceView+`
WHERE NOT is_aggregate AND year = ? AND balance_gha `+sign+` 0
ORDER BY balance_gha `+order+`, country_code
LIMIT ?`, year, top)
	if err != nil {
		return nil, fmt.Errorf("report: query %s: %w", BalanceView, err)
	}
	defer rows.Close()
	var out []Balance
	for rows.Next() {
		var b Balance
		var perCapF, perCapB, perCap sql.NullFloat64 // per-capita rows are missing for a few countries
		if err := rows.Scan(&b.CountryCode, &b.CountryName, &b.Year, &b.FootprintGHA, &b.BiocapacityGHA,
			&b.BalanceGHA, &perCapF, &perCapB, &perCap, &b.Status); err != nil {
			return nil, fmt.Errorf("report: scan %s: %w", BalanceView, err)
		}
		b.FootprintPerCap, b.BiocapacityPerCap, b.BalancePerCap = perCapF.Float64, perCapB.Float64, perCap.Float64
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: read %s: %w", BalanceView, err)
	}
	return out, nil
}

// WriteText formats the report for a terminal (gfnctl report).
func (r Report) WriteText(w io.Writer) error {
	fmt.Fprintln(w, "Earth Overshoot Day (World, GFN code 5001): day = floor(365 x biocapacity / footprint)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "year\tbiocapacity gha\tfootprint gha\tearths\tday\tdate")
	for _, o := range r.Overshoot {
		if !o.Overshoot {
			fmt.Fprintf(tw, "%d\t%.4g\t%.4g\t%.2f\t-\tno overshoot day\n", o.Year, o.BiocapacityGHA, o.FootprintGHA, o.Earths)
			continue
		}
		fmt.Fprintf(tw, "%d\t%.4g\t%.4g\t%.2f\t%d\t%s\n", o.Year, o.BiocapacityGHA, o.FootprintGHA, o.Earths, o.DayOfYear, o.Date.Format("Jan 2"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: write: %w", err)
	}
	fmt.Fprintf(w, "\nCountries in %d: %d with an ecological reserve, %d in deficit\n", r.Year, r.Reserves, r.Deficits)
	for _, part := range []struct {
		title string
		rows  []Balance
	}{{"Largest deficits", r.LargestDeficit}, {"Largest reserves", r.LargestReserve}} {
		fmt.Fprintf(w, "\n%s (%d)\n", part.title, r.Year)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "country\tfootprint gha\tbiocapacity gha\tbalance gha\tbalance gha/cap")
		for _, b := range part.rows {
			fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%+.4g\t%+.2f\n", b.CountryName, b.FootprintGHA, b.BiocapacityGHA, b.BalanceGHA, b.BalancePerCap)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("report: write: %w", err)
		}
	}
	return nil
}
