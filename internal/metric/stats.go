package metric

import (
	"math"
	"slices"
	"time"
)

// Quantile is the q-quantile (0 ≤ q ≤ 1) of values, interpolating linearly
// between the closest ranks (DESIGN.md §5): with the values sorted as
// v[0..n-1], position h = q·(n−1), result v[⌊h⌋] + (h−⌊h⌋)·(v[⌈h⌉] − v[⌊h⌋]).
// This is R's type 7 and PostgreSQL's percentile_cont, computed in the same
// order of operations as PostgreSQL's float8 interpolation, so a figure the
// store computes in SQL and one computed here agree. Nil for no values (or
// a q outside [0, 1] or NaN); values is not modified.
func Quantile(values []float64, q float64) *float64 {
	if len(values) == 0 || !(q >= 0 && q <= 1) {
		return nil
	}
	v := slices.Clone(values)
	slices.Sort(v)
	h := q * float64(len(v)-1)
	lo, hi := math.Floor(h), math.Ceil(h)
	r := v[int(lo)]
	if hi != lo {
		r += (h - lo) * (v[int(hi)] - r)
	}
	return &r
}

// Median is the 0.5-quantile: the middle value, or for an even count the
// mean of the two middle values.
func Median(values []float64) *float64 { return Quantile(values, 0.5) }

// P90 is the 0.9-quantile, the speed-to-lead tail the dashboard shows.
func P90(values []float64) *float64 { return Quantile(values, 0.9) }

// Rate is num ÷ den as a fraction, nil when den is 0: a rate of nothing is
// unknown, not 0 % (API.md: null when the denominator is 0).
func Rate(num, den int64) *float64 {
	if den == 0 {
		return nil
	}
	r := float64(num) / float64(den)
	return &r
}

// Days converts an elapsed time to days as DESIGN.md §5 defines them:
// elapsed ÷ 24 h, whatever DST did in between (time to close is about how
// long a deal took, not how many dates it touched).
func Days(d time.Duration) float64 { return float64(d) / float64(24*time.Hour) }

// Minutes converts an elapsed time to calendar minutes, the unit of speed
// to lead, keeping fractions (a touch after 59 min 30 s is 59.5).
func Minutes(d time.Duration) float64 { return float64(d) / float64(time.Minute) }

// OneHour is the speed-to-lead mark.
const OneHour = time.Hour

// Within60 reports whether a first touch d after the handoff counts as
// "within 60 minutes": 60:00 exactly still does (DESIGN.md §5), 60:00.001
// does not. In SQL: touch_at - handoff_at <= interval '60 minutes'.
func Within60(d time.Duration) bool { return d <= OneHour }

// Float returns a pointer to n as a float64, for the delta helpers and
// templates that take optional numbers.
func Float(n int64) *float64 {
	f := float64(n)
	return &f
}
