package view

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/accordhq/accord/internal/metric"
)

// The figures are written the same way wherever people read them: the
// dashboard, the digest e-mails and the import pages.

// Count writes a count with thousands separators: "12,480".
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "−" + b.String()
	}
	return b.String()
}

// Percent writes a rate (0–1) as "87.4 %"; "no data" when there is
// nothing to divide by, never 0 %.
func Percent(r *float64) string {
	if r == nil {
		return "no data"
	}
	return strconv.FormatFloat(math.Round(*r*1000)/10, 'f', 1, 64) + " %"
}

// Money writes an amount in the tenant's currency: "EUR 12,000", with
// cents only when there are some.
func Money(a metric.Amount, currency string) string {
	c := int64(a)
	sign := ""
	if c < 0 {
		sign, c = "−", -c
	}
	s := Count(c / 100)
	if c%100 != 0 {
		s += fmt.Sprintf(".%02d", c%100)
	}
	return strings.TrimSpace(currency + " " + sign + s)
}

// Minutes writes a duration in minutes: "52 min", "3 h 05 min",
// "2.5 days"; "no data" without one.
func Minutes(m *float64) string {
	if m == nil {
		return "no data"
	}
	n := int64(math.Round(*m))
	switch {
	case n < 60:
		return fmt.Sprintf("%d min", n)
	case n < 24*60:
		return fmt.Sprintf("%d h %02d min", n/60, n%60)
	}
	return strconv.FormatFloat(math.Round(*m/144)/10, 'f', -1, 64) + " days"
}

// DaysText writes days as "41.5 days".
func DaysText(d *float64) string {
	if d == nil {
		return "no data"
	}
	return strconv.FormatFloat(math.Round(*d*10)/10, 'f', 1, 64) + " days"
}

// ScoreValue writes a scorecard target or actual in its unit.
func ScoreValue(v float64, unit, currency string) string {
	switch unit {
	case metric.UnitPercent:
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + " %"
	case metric.UnitAmount:
		return Money(metric.Amount(math.Round(v*100)), currency)
	}
	return Count(int64(math.Round(v)))
}
