package sla

import (
	"fmt"
	"math"
	"time"
)

// PeriodStatus is the state of a period clause for one period: on track or
// at risk while it runs, met or missed once it has ended (DESIGN.md §4.2).
type PeriodStatus string

// The period statuses.
const (
	PeriodOnTrack PeriodStatus = "on_track"
	PeriodAtRisk  PeriodStatus = "at_risk"
	PeriodMet     PeriodStatus = "met"
	PeriodMissed  PeriodStatus = "missed"
)

// PeriodBounds returns the period of length p that contains t, as [from,
// to) in loc: weeks start on Monday, quarters in January, April, July and
// October. Bounds are local midnights, so a period spanning a DST change is
// an hour shorter or longer in real time.
func PeriodBounds(p Period, t time.Time, loc *time.Location) (from, to time.Time) {
	l := t.In(loc)
	y, m, d := l.Date()
	switch p {
	case PeriodWeek:
		back := (int(l.Weekday()) + 6) % 7 // days since Monday
		from = time.Date(y, m, d-back, 0, 0, 0, 0, loc)
		return from, time.Date(y, m, d-back+7, 0, 0, 0, 0, loc)
	case PeriodQuarter:
		qm := time.Month((int(m)-1)/3*3 + 1)
		return time.Date(y, qm, 1, 0, 0, 0, 0, loc), time.Date(y, qm+3, 1, 0, 0, 0, 0, loc)
	}
	return time.Date(y, m, 1, 0, 0, 0, 0, loc), time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
}

// PeriodLabel names a period for people: "week of 2 Nov 2026",
// "November 2026", "Q4 2026".
func PeriodLabel(p Period, from time.Time) string {
	switch p {
	case PeriodWeek:
		return "week of " + from.Format("2 Jan 2006")
	case PeriodQuarter:
		return fmt.Sprintf("Q%d %d", (int(from.Month())-1)/3+1, from.Year())
	}
	return from.Format("January 2006")
}

// PeriodMeasure is what a period's handoffs and opportunities amount to,
// counted over the leads in a clause's scope (DESIGN.md §5 definitions).
type PeriodMeasure struct {
	Handoffs int // transitions to mql in the period
	ICPFit   int // of those, leads that fit the ideal customer profile
	Accepted int // of those, first decision after the handoff: accepted
	Rejected int // … rejected
	// Opportunities created in the period from handed-off leads, and their
	// amount in cents.
	Opportunities     int
	OpportunityAmount int64
}

// Target is the clause's target in the unit of Actual: a count, a percent,
// or an amount in cents.
func (c Clause) Target() float64 {
	switch {
	case c.TargetAmount != nil:
		return float64(*c.TargetAmount)
	case c.TargetPercent != nil:
		return *c.TargetPercent
	case c.TargetCount != nil:
		return float64(*c.TargetCount)
	}
	return 0
}

// Actual is the clause's measured value over m; ok is false when a rate
// has nothing to be judged on (no handoffs, no decisions).
func (c Clause) Actual(m PeriodMeasure) (actual float64, ok bool) {
	switch c.Kind {
	case KindVolume:
		return float64(m.Handoffs), true
	case KindICPQuality:
		if m.Handoffs == 0 {
			return 0, false
		}
		return 100 * float64(m.ICPFit) / float64(m.Handoffs), true
	case KindAcceptance:
		if m.Accepted+m.Rejected == 0 {
			return 0, false
		}
		return 100 * float64(m.Accepted) / float64(m.Accepted+m.Rejected), true
	case KindPipeline:
		if c.TargetAmount != nil {
			return float64(m.OpportunityAmount), true
		}
		return float64(m.Opportunities), true
	}
	return 0, false
}

// PeriodResult is a period clause's outcome, or its standing while the
// period runs.
type PeriodResult struct {
	Status PeriodStatus
	Actual *float64 // nil: nothing to judge yet
	Target float64
	// Projected is where a count or amount is heading at the pace so far
	// (running periods of volume and pipeline clauses only).
	Projected *float64
}

// Judge says how clause c stands with measure m when elapsed of the
// period's business time has passed (0 to 1; 1 once the period is over).
//
// A count or amount is on track when it is at least the target pro-rated by
// elapsed time; a rate when it is at least the target so far. A rate with
// nothing to judge is met at the end (there was nothing to fall short on;
// the volume clause is the one that catches a period without handoffs) and
// on track before.
func (c Clause) Judge(m PeriodMeasure, elapsed float64) PeriodResult {
	elapsed = math.Max(0, math.Min(1, elapsed))
	r := PeriodResult{Target: c.Target()}
	actual, ok := c.Actual(m)
	if ok {
		r.Actual = &actual
	}
	done := elapsed >= 1
	rate := c.Kind == KindICPQuality || c.Kind == KindAcceptance
	switch {
	case !ok:
		r.Status = PeriodOnTrack
		if done {
			r.Status = PeriodMet
		}
	case done:
		r.Status = PeriodMissed
		if actual >= r.Target {
			r.Status = PeriodMet
		}
	case rate:
		r.Status = PeriodAtRisk
		if actual >= r.Target {
			r.Status = PeriodOnTrack
		}
	default:
		r.Status = PeriodAtRisk
		if actual >= r.Target || actual >= r.Target*elapsed {
			r.Status = PeriodOnTrack
		}
		if elapsed > 0 {
			p := actual / elapsed
			r.Projected = &p
		}
	}
	return r
}

// Pace phrases a running count or amount clause's projection: "on pace for
// 380 of 400". Empty when there is none.
func (c Clause) Pace(r PeriodResult) string {
	if r.Projected == nil {
		return ""
	}
	if c.TargetAmount != nil {
		return fmt.Sprintf("on pace for %s of %s", money(*r.Projected), money(r.Target))
	}
	return fmt.Sprintf("on pace for %.0f of %.0f", math.Floor(*r.Projected), r.Target)
}

// FormatActual renders an actual value in the clause's unit.
func (c Clause) FormatActual(v float64) string {
	switch {
	case c.TargetAmount != nil:
		return money(v)
	case c.Kind == KindICPQuality || c.Kind == KindAcceptance:
		return fmt.Sprintf("%.1f %%", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func money(cents float64) string {
	units := int64(math.Round(cents / 100))
	s := fmt.Sprint(units)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
