package metric

import (
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/sla"
)

// Scorecard is GET /api/v1/scorecard and the dashboard's scorecard: every
// clause of the agreement, both sides, with this period's standing.
type Scorecard struct {
	// Period names the period asked for: "2026-10".
	Period  string           `json:"period"`
	Clauses []ScorecardEntry `json:"clauses"`
}

// ScorecardEntry is one clause's standing.
//
// Target and Actual are in Unit: "count" (handoffs, opportunities),
// "percent" (0–100, like the agreement's target_percent), or "amount"
// (money in major units, like target_amount). A lead clause (respond,
// first_touch, attempts, recycle) promises every lead within its minutes,
// so its row reads as "percent": target 100, actual the compliance of the
// period's resolved timers, with TargetMinutes beside.
type ScorecardEntry struct {
	ClauseID      uuid.UUID        `json:"clause_id"`
	Side          string           `json:"side"`
	Kind          string           `json:"kind"`
	Scope         *ScorecardScope  `json:"scope"`
	Unit          string           `json:"unit"`
	Target        float64          `json:"target"`
	TargetMinutes *int             `json:"target_minutes,omitempty"`
	Actual        *float64         `json:"actual"` // null: nothing to judge yet
	Status        sla.PeriodStatus `json:"status"` // met, missed, on_track, at_risk
	// Pace is "on pace for 380 of 400" for a running count or amount
	// clause, else "".
	Pace string `json:"pace"`
	// From and To are the clause's own period (a week clause inside a
	// month's scorecard is judged on its current week).
	From string `json:"from"`
	To   string `json:"to"`
}

// ScorecardScope is a clause's scope; null fields match every lead.
type ScorecardScope struct {
	Segment *string `json:"segment"`
	Source  *string `json:"source"`
}

// The units of a scorecard entry.
const (
	UnitCount   = "count"
	UnitPercent = "percent"
	UnitAmount  = "amount"
)

// ScorePeriodClause is a period clause's entry: sla's own judgement
// (Clause.Judge, pro-rating by elapsed, the fraction 0–1 of p's business
// time gone; 1 once p has ended) and its wording (Clause.Pace), so the
// scorecard and the period results the worker records never disagree.
func ScorePeriodClause(c sla.Clause, m sla.PeriodMeasure, elapsed float64, p Period) ScorecardEntry {
	r := c.Judge(m, elapsed)
	e := entry(c, p)
	e.Status = r.Status
	e.Pace = c.Pace(r)
	e.Unit = UnitCount
	scale := 1.0
	switch {
	case c.TargetAmount != nil:
		e.Unit, scale = UnitAmount, 100 // sla counts cents; the API shows major units
	case c.TargetPercent != nil:
		e.Unit = UnitPercent
	}
	e.Target = r.Target / scale
	if r.Actual != nil {
		a := *r.Actual / scale
		e.Actual = &a
	}
	return e
}

// ScoreLeadClause is a lead clause's entry from its timers resolved in p
// (met and breached, as in SLA compliance). The clause promises every lead,
// so the target is 100 % and one breach falls short of it: at risk while
// p runs, missed once it has ended (done). With nothing resolved there is
// nothing to fall short on: on track, then met — the rule sla applies to
// rates with nothing to judge.
func ScoreLeadClause(c sla.Clause, k KindCompliance, done bool, p Period) ScorecardEntry {
	e := entry(c, p)
	e.Unit = UnitPercent
	e.Target = 100
	minutes := c.TargetMinutes
	e.TargetMinutes = &minutes
	if r := Rate(k.Met, k.Met+k.Breached); r != nil {
		a := 100 * *r
		e.Actual = &a
	}
	switch {
	case k.Breached == 0 && done:
		e.Status = sla.PeriodMet
	case k.Breached == 0:
		e.Status = sla.PeriodOnTrack
	case done:
		e.Status = sla.PeriodMissed
	default:
		e.Status = sla.PeriodAtRisk
	}
	return e
}

func entry(c sla.Clause, p Period) ScorecardEntry {
	from, to := p.Dates()
	e := ScorecardEntry{ClauseID: c.ID, Side: string(c.Side), Kind: string(c.Kind), From: from, To: to}
	if c.Scope.Segment != nil || c.Scope.Source != nil {
		e.Scope = &ScorecardScope{Segment: c.Scope.Segment, Source: c.Scope.Source}
	}
	return e
}

// ClausePeriod is the period of clause length kind (week, month, quarter)
// that contains t in loc, as sla bounds it.
func ClausePeriod(kind sla.Period, t time.Time, loc *time.Location) Period {
	from, to := sla.PeriodBounds(kind, t, loc)
	return Period{From: from, To: to}
}
