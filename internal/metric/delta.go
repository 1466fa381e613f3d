package metric

import (
	"fmt"
	"math"
	"strings"
)

// DeltaKind says how a KPI card compares a figure with the previous period.
type DeltaKind int

// The two ways of comparing.
const (
	// DeltaRate compares rates and shares (fractions 0–1) in percentage
	// points: 0.50 → 0.55 is +5 pp. A percent change of a percentage
	// ("+10 %") is the classic misreading this avoids.
	DeltaRate DeltaKind = iota
	// DeltaCount compares counts, amounts and durations by percent change:
	// 200 → 150 is −25 %.
	DeltaCount
)

// Delta is the change from prev to cur: percentage points for DeltaRate,
// percent change for DeltaCount. Nil when either is unknown, and for a
// count that grew from 0 (no percent describes it; 0 → 0 is 0 %).
func Delta(cur, prev *float64, kind DeltaKind) *float64 {
	if cur == nil || prev == nil {
		return nil
	}
	var d float64
	switch kind {
	case DeltaRate:
		d = 100 * (*cur - *prev)
	default:
		if *prev == 0 {
			if *cur != 0 {
				return nil
			}
			return &d
		}
		d = 100 * (*cur - *prev) / math.Abs(*prev)
	}
	return &d
}

// FormatDelta writes a delta for a KPI card: "+3.2 pp" (one decimal) for
// rates, "−12 %" (whole percent, halves away from zero) for counts, with a true minus sign and no
// sign when it rounds to zero ("0.0 pp", "0 %"); "no data" for nil.
func FormatDelta(d *float64, kind DeltaKind) string {
	if d == nil {
		return "no data"
	}
	// Rounded half away from zero first: fmt alone rounds half to even,
	// and +12.5 % reads as +13 % to people.
	s, unit := fmt.Sprintf("%.1f", math.Round(*d*10)/10), " pp"
	if kind == DeltaCount {
		s, unit = fmt.Sprintf("%.0f", math.Round(*d)), " %"
	}
	switch {
	case strings.Trim(s, "-0.") == "":
		s = strings.TrimPrefix(s, "-") // "-0.0" is no change
	case strings.HasPrefix(s, "-"):
		s = "−" + s[1:]
	default:
		s = "+" + s
	}
	return s + unit
}
