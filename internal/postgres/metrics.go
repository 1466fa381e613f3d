package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// FindMetrics computes the DESIGN.md §5 figures of period p under filter f,
// and the same for the previous period of equal length, in one
// transaction. The store fills counts, amounts and quantiles; Derive, in
// package metric, computes every rate from them, so the dashboard, the API,
// the CSV and the digest cannot disagree. Open pipeline is taken as of now
// for both periods, as DESIGN.md says ("leads now in opportunity"). A team
// filter naming no team of the tenant is a validator.Errors.
func (s *Store) FindMetrics(ctx context.Context, tid tenant.ID, p metric.Period, f metric.Filter, now time.Time) (metric.Figures, error) {
	var out metric.Figures
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		out, _, err = findMetrics(ctx, tx, tid, p, f)
		return err
	})
	if err != nil {
		return metric.Figures{}, err
	}
	return out, nil
}

// findMetrics is FindMetrics inside a tenant transaction: both periods,
// derived, and the distribution of the period's handoffs over SpeedBuckets.
func findMetrics(ctx context.Context, tx pgx.Tx, tid tenant.ID, p metric.Period, f metric.Filter) (metric.Figures, []int64, error) {
	// Aggregating a big tenant's facts costs enough for the planner to JIT
	// compile the expressions, which takes longer (about 100 ms) than
	// running them; the quantiles sort up to a period's handoffs, which
	// spill to disk under the default work_mem; and a cached generic plan,
	// blind to the tenant and the period, expects one fact and walks a
	// quarter of a big tenant's facts by index and sorts them to group
	// (3.2 s instead of 1.4 s for 528,000 handoffs): planning each
	// statement for its values costs well under a millisecond.
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
		return metric.Figures{}, nil, fmt.Errorf("tune metrics transaction: %w", err)
	}
	if f.TeamID != nil {
		var known bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM teams WHERE tenant_id = $1 AND id = $2)`, tid, *f.TeamID).Scan(&known); err != nil {
			return metric.Figures{}, nil, fmt.Errorf("find team: %w", err)
		}
		if !known {
			return metric.Figures{}, nil, validator.Errors{"team_id": "is not a team of this tenant"}
		}
	}
	targets, err := findTargets(ctx, tx, tid)
	if err != nil {
		return metric.Figures{}, nil, err
	}
	monthly := targetsFor(targets, f.Segment)
	cur, speed, err := periodFigures(ctx, tx, tid, p, f, monthly)
	if err != nil {
		return metric.Figures{}, nil, err
	}
	prev, _, err := periodFigures(ctx, tx, tid, p.Previous(), f, monthly)
	if err != nil {
		return metric.Figures{}, nil, err
	}
	// Open pipeline is now's, the same for both periods: read once.
	err = tx.QueryRow(ctx, `
		SELECT count(*), coalesce(sum(l.amount_cents), 0) FROM leads l CROSS JOIN LATERAL (SELECT l.team_id) x
		WHERE l.tenant_id = $1 AND l.stage = 'opportunity' AND $2::timestamptz IS NOT NULL AND $3::timestamptz IS NOT NULL AND `+leadFilter,
		metricArgs(tid, p, f)...).Scan(&cur.OpenOpportunities, &cur.OpenPipeline)
	if err != nil {
		return metric.Figures{}, nil, fmt.Errorf("open pipeline: %w", err)
	}
	prev.OpenOpportunities, prev.OpenPipeline = cur.OpenOpportunities, cur.OpenPipeline
	if cur.Content, err = contentUsage(ctx, tx, metricArgs(tid, p, f)); err != nil {
		return metric.Figures{}, nil, err
	}
	if prev.Content, err = contentUsage(ctx, tx, metricArgs(tid, p.Previous(), f)); err != nil {
		return metric.Figures{}, nil, err
	}
	cur.Previous = &prev
	cur.Derive()
	return cur, speed, nil
}

// targetsFor picks the monthly revenue targets that apply to a segment
// filter: that segment's, or without one the all-segments target of each
// month (or, for a month without one, the sum of its segments' targets).
func targetsFor(ts []Target, segment string) map[string]int64 {
	out := map[string]int64{}
	if segment != "" {
		for _, t := range ts {
			if t.Segment == segment {
				out[t.Period] = int64(t.Revenue)
			}
		}
		return out
	}
	whole := map[string]bool{}
	for _, t := range ts {
		if t.Segment == "" {
			out[t.Period] = int64(t.Revenue)
			whole[t.Period] = true
		}
	}
	for _, t := range ts {
		if t.Segment != "" && !whole[t.Period] {
			out[t.Period] += int64(t.Revenue)
		}
	}
	return out
}

// metricArgs are the positional parameters every metrics statement shares:
// $1 tenant, $2 from, $3 to, $4 segment, $5 source, $6 campaign, $7 team
// (nil: no filter; metric.None: leads without one).
func metricArgs(tid tenant.ID, p metric.Period, f metric.Filter) []any {
	opt := func(v string) *string {
		switch v {
		case "":
			return nil
		case metric.None:
			v = ""
		}
		return &v
	}
	var team *uuid.UUID
	if f.TeamID != nil {
		team = f.TeamID
	}
	return []any{tid, p.From, p.To, opt(f.Segment), opt(f.Source), opt(f.Campaign), team}
}

// leadFilter is the filter on the lead (alias l) and the row's team (alias
// x): a handoff's or transition's team is the one it was made in.
const leadFilter = `
	($4::text IS NULL OR coalesce(l.segment, '') = $4) AND ($5::text IS NULL OR l.source = $5)
	AND ($6::text IS NULL OR l.campaign = $6) AND ($7::uuid IS NULL OR x.team_id = $7)`

// factFilter is leadFilter on a funnel fact (alias f), which carries the
// lead's attributes and its transition's team.
const factFilter = `
	($4::text IS NULL OR coalesce(f.segment, '') = $4) AND ($5::text IS NULL OR f.source = $5)
	AND ($6::text IS NULL OR f.campaign = $6) AND ($7::uuid IS NULL OR f.team_id = $7)`

// cohortFacts are the period's handoffs, judged (migration 13 keeps
// lead_handoffs true at every write): the first decision, the furthest
// stage reached (1 accepted, 2 sql, 3 opportunity, 4 won) and the first
// touch, each before the lead's next handoff.
const cohortFacts = `lead_handoffs f WHERE f.tenant_id = $1 AND f.at >= $2 AND f.at < $3 AND ` + factFilter

// flowFacts are the period's transitions to opportunity, won, lost and
// rejected, with the amount each leaves the lead at and the lead's first
// handoff before it.
const flowFacts = `lead_outcomes f WHERE f.tenant_id = $1 AND f.at >= $2 AND f.at < $3 AND ` + factFilter

// periodFigures fills the store's part of the figures of one period, and
// the distribution of its handoffs over SpeedBuckets (the dashboard's).
// Each fact table is read once: the period's facts are grouped by every
// attribute a figure splits on (a few thousand groups even for a quarter
// of a million handoffs), and the figures are sums over those groups; only
// the quantiles need the facts themselves.
func periodFigures(ctx context.Context, tx pgx.Tx, tid tenant.ID, p metric.Period, f metric.Filter, monthly map[string]int64) (metric.Figures, []int64, error) {
	fig := metric.Figures{Period: p}
	args := metricArgs(tid, p, f)
	speed := make([]int64, len(SpeedBuckets)+2)

	// The cohort: handoffs, decisions, the funnel, speed to lead, by
	// source, campaign and segment. A touched handoff's bucket is the
	// number of bucket bounds its minutes to first touch exceed (bounds
	// are inclusive); width_bucket counts the bounds at or below, so it is
	// asked of the negated minutes against the negated bounds.
	bounds := make([]float64, len(SpeedBuckets))
	for i, b := range SpeedBuckets {
		bounds[len(SpeedBuckets)-1-i] = -float64(b)
	}
	rows, err := tx.Query(ctx, `
		SELECT source, campaign, coalesce(segment, ''), coalesce(decision, ''), reached,
		       CASE WHEN touched_at IS NULL THEN -1
		            ELSE cardinality($8::float8[]) - width_bucket(-date_part('epoch', touched_at - at) / 60, $8::float8[]) END,
		       touched_at - at <= interval '60 minutes', count(*)
		FROM `+cohortFacts+`
		GROUP BY 1, 2, 3, 4, 5, 6, 7`, append(args, bounds)...)
	if err != nil {
		return fig, nil, fmt.Errorf("cohort figures: %w", err)
	}
	bySource, byCampaign, bySegment := map[string]*metric.Slice{}, map[string]*metric.Slice{}, map[string]*metric.Slice{}
	slice := func(m map[string]*metric.Slice, k string) *metric.Slice {
		s := m[k]
		if s == nil {
			s = &metric.Slice{}
			m[k] = s
		}
		return s
	}
	var source, campaign, segment, decision string
	var reached int16
	var bucket int
	var within1h *bool
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&source, &campaign, &segment, &decision, &reached, &bucket, &within1h, &n}, func() error {
		fig.Handoffs += n
		for _, s := range []*metric.Slice{slice(bySource, source), slice(byCampaign, campaign), slice(bySegment, segment)} {
			s.Handoffs += n
			switch decision {
			case "accepted":
				s.Accepted += n
			case "rejected":
				s.Rejected += n
			default:
				s.Undecided += n
			}
			if reached >= 3 {
				s.Opportunities += n
			}
		}
		switch decision {
		case "accepted":
			fig.Accepted += n
		case "rejected":
			fig.Rejected += n
		}
		for rank, c := range []*int64{&fig.Funnel.Accepted, &fig.Funnel.SQL, &fig.Funnel.Opportunity, &fig.Funnel.Won} {
			if int(reached) > rank {
				*c += n
			}
		}
		if bucket < 0 {
			speed[len(speed)-1] += n
			return nil
		}
		speed[bucket] += n
		fig.SpeedToLead.Touched += n
		if within1h != nil && *within1h {
			fig.SpeedToLead.Within1h += n
		}
		return nil
	})
	if err != nil {
		return fig, nil, fmt.Errorf("scan cohort figures: %w", err)
	}
	fig.Undecided = fig.Handoffs - fig.Accepted - fig.Rejected
	fig.SpeedToLead.Untouched = fig.Handoffs - fig.SpeedToLead.Touched
	if fig.SpeedToLead.Touched > 0 {
		err = tx.QueryRow(ctx, `
			SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', touched_at - at) / 60),
			       percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', touched_at - at) / 60)
			FROM `+cohortFacts+` AND f.touched_at IS NOT NULL`, args...).Scan(&fig.SpeedToLead.MedianMinutes, &fig.SpeedToLead.P90Minutes)
		if err != nil {
			return fig, nil, fmt.Errorf("speed to lead: %w", err)
		}
	}

	// The flow: wins, losses, amounts, rejection reasons, by source,
	// campaign and segment.
	rows, err = tx.Query(ctx, `
		SELECT source, campaign, coalesce(segment, ''), stage, coalesce(reason, ''), count(*), coalesce(sum(amount_cents), 0)
		FROM `+flowFacts+`
		GROUP BY 1, 2, 3, 4, 5`, args...)
	if err != nil {
		return fig, nil, fmt.Errorf("flow figures: %w", err)
	}
	reasons := map[string]*metric.ReasonRow{}
	var stage, reason string
	var amount metric.Amount
	_, err = pgx.ForEachRow(rows, []any{&source, &campaign, &segment, &stage, &reason, &n, &amount}, func() error {
		switch stage {
		case "won":
			fig.Wins += n
			fig.RevenueWon += amount
			for _, s := range []*metric.Slice{slice(bySource, source), slice(byCampaign, campaign), slice(bySegment, segment)} {
				s.RevenueWon += amount
			}
		case "lost":
			fig.Losses += n
		case "opportunity":
			fig.PipelineCreated += amount
			for _, s := range []*metric.Slice{slice(bySource, source), slice(byCampaign, campaign), slice(bySegment, segment)} {
				s.PipelineCreated += amount
			}
		case "rejected":
			r := reasons[reason]
			if r == nil {
				r = &metric.ReasonRow{Reason: reason, BySource: map[string]int64{}, ByCampaign: map[string]int64{}}
				reasons[reason] = r
			}
			r.Count += n
			r.BySource[source] += n
			r.ByCampaign[campaign] += n
		}
		return nil
	})
	if err != nil {
		return fig, nil, fmt.Errorf("scan flow figures: %w", err)
	}
	for k, s := range bySource {
		fig.BySource = append(fig.BySource, metric.SourceRow{Source: k, Slice: *s})
	}
	for k, s := range byCampaign {
		fig.ByCampaign = append(fig.ByCampaign, metric.CampaignRow{Campaign: k, Slice: *s})
	}
	for k, s := range bySegment {
		fig.BySegment = append(fig.BySegment, metric.SegmentRow{Segment: k, Slice: *s})
	}
	for _, r := range reasons {
		fig.RejectionReasons = append(fig.RejectionReasons, *r)
	}
	if fig.Wins > 0 {
		// Time to close: a period's wins are few, and their own index
		// range.
		err = tx.QueryRow(ctx, `
			SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', at - first_handoff_at) / 86400)
			FROM `+flowFacts+` AND f.stage = 'won'`, args...).Scan(&fig.MedianDaysToClose)
		if err != nil {
			return fig, nil, fmt.Errorf("time to close: %w", err)
		}
	}

	// SLA compliance: timers met in the period (stop time) or breached in
	// it (due time), excused breaches and cancelled timers left out.
	rows, err = tx.Query(ctx, `
		SELECT x.kind, count(*) FILTER (WHERE x.status = 'met' AND x.stopped_at >= $2 AND x.stopped_at < $3),
		       count(*) FILTER (WHERE x.status = 'breached' AND x.due_at >= $2 AND x.due_at < $3
		                          AND NOT EXISTS (SELECT FROM sla_breaches b WHERE b.tenant_id = $1 AND b.timer_id = x.id AND b.excused_at IS NOT NULL))
		FROM sla_timers x
		JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id
		WHERE x.tenant_id = $1 AND x.status IN ('met', 'breached')
		  AND ((x.stopped_at >= $2 AND x.stopped_at < $3) OR (x.due_at >= $2 AND x.due_at < $3)) AND `+leadFilter+`
		GROUP BY x.kind`, args...)
	if err != nil {
		return fig, nil, fmt.Errorf("sla compliance: %w", err)
	}
	fig.SLACompliance.ByKind = map[string]metric.KindCompliance{}
	var kind string
	var met, breached int64
	_, err = pgx.ForEachRow(rows, []any{&kind, &met, &breached}, func() error {
		if met+breached > 0 {
			fig.SLACompliance.ByKind[kind] = metric.KindCompliance{Met: met, Breached: breached}
		}
		return nil
	})
	if err != nil {
		return fig, nil, fmt.Errorf("scan sla compliance: %w", err)
	}

	if t, ok := metric.RevenueTarget(monthly, p); ok {
		a := metric.Amount(t)
		fig.RevenueTarget = &a
	}
	return fig, speed, nil
}
