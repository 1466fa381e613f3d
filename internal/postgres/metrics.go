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
		out, err = findMetrics(ctx, tx, tid, p, f)
		return err
	})
	if err != nil {
		return metric.Figures{}, err
	}
	return out, nil
}

// findMetrics is FindMetrics inside a tenant transaction: both periods,
// derived.
func findMetrics(ctx context.Context, tx pgx.Tx, tid tenant.ID, p metric.Period, f metric.Filter) (metric.Figures, error) {
	// The cohort's correlated lookups make the planner's costs look huge,
	// so PostgreSQL would spend more time compiling them (JIT, 0.7 s at
	// 50,000 handoffs) than running them.
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		return metric.Figures{}, fmt.Errorf("jit off: %w", err)
	}
	if f.TeamID != nil {
		var known bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM teams WHERE tenant_id = $1 AND id = $2)`, tid, *f.TeamID).Scan(&known); err != nil {
			return metric.Figures{}, fmt.Errorf("find team: %w", err)
		}
		if !known {
			return metric.Figures{}, validator.Errors{"team_id": "is not a team of this tenant"}
		}
	}
	targets, err := findTargets(ctx, tx, tid)
	if err != nil {
		return metric.Figures{}, err
	}
	monthly := targetsFor(targets, f.Segment)
	cur, err := periodFigures(ctx, tx, tid, p, f, monthly, "cohort_current")
	if err != nil {
		return metric.Figures{}, err
	}
	prev, err := periodFigures(ctx, tx, tid, p.Previous(), f, monthly, "cohort_previous")
	if err != nil {
		return metric.Figures{}, err
	}
	if cur.Content, err = contentUsage(ctx, tx, metricArgs(tid, p, f)); err != nil {
		return metric.Figures{}, err
	}
	if prev.Content, err = contentUsage(ctx, tx, metricArgs(tid, p.Previous(), f)); err != nil {
		return metric.Figures{}, err
	}
	cur.Previous = &prev
	cur.Derive()
	return cur, nil
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

// cohortQuery lists the period's handoffs with what followed each before
// the lead's next handoff: the first decision, the furthest stage reached
// (1 accepted, 2 sql, 3 opportunity, 4 won; reaching one includes skipping
// past it) and the first touch at or after the handoff.
const cohortQuery = `
	WITH h AS (
	  SELECT x.lead_id, x.seq, x.at, l.source, l.campaign, coalesce(l.segment, '') AS segment, nx.seq AS next_seq, nx.at AS next_at
	  FROM lead_transitions x
	  JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id
	  LEFT JOIN LATERAL (
	    SELECT n.seq, n.at FROM lead_transitions n
	    WHERE n.tenant_id = x.tenant_id AND n.lead_id = x.lead_id AND n.to_stage = 'mql' AND n.seq > x.seq
	    ORDER BY n.seq LIMIT 1) nx ON true
	  WHERE x.tenant_id = $1 AND x.to_stage = 'mql' AND x.at >= $2 AND x.at < $3 AND ` + leadFilter + `
	), c AS (
	  SELECT h.*,
	    (SELECT d.to_stage FROM lead_transitions d
	     WHERE d.tenant_id = $1 AND d.lead_id = h.lead_id AND d.seq > h.seq AND (h.next_seq IS NULL OR d.seq < h.next_seq)
	       AND d.to_stage IN ('accepted', 'rejected')
	     ORDER BY d.seq LIMIT 1) AS decision,
	    (SELECT coalesce(max(CASE r.to_stage WHEN 'accepted' THEN 1 WHEN 'sql' THEN 2 WHEN 'opportunity' THEN 3 WHEN 'won' THEN 4 ELSE 0 END), 0)
	     FROM lead_transitions r
	     WHERE r.tenant_id = $1 AND r.lead_id = h.lead_id AND r.seq > h.seq AND (h.next_seq IS NULL OR r.seq < h.next_seq)) AS reached,
	    (SELECT min(a.at) FROM lead_activities a
	     WHERE a.tenant_id = $1 AND a.lead_id = h.lead_id AND a.kind IN ('call', 'email', 'meeting', 'linkedin')
	       AND a.at >= h.at AND (h.next_at IS NULL OR a.at < h.next_at)) AS touched_at
	  FROM h
	)`

// flowQuery lists the period's transitions to opportunity, won, lost and
// rejected, with the amount each leaves the lead at (a won transition
// without an amount keeps the last one set) and, for wins, the days since
// the lead's first handoff.
const flowQuery = `
	WITH f AS (
	  SELECT x.lead_id, x.to_stage, x.reason, l.source, l.campaign, coalesce(l.segment, '') AS segment,
	         CASE WHEN x.to_stage IN ('opportunity', 'won') THEN
	           coalesce(x.amount_cents, (SELECT p.amount_cents FROM lead_transitions p
	                                     WHERE p.tenant_id = $1 AND p.lead_id = x.lead_id AND p.seq < x.seq AND p.amount_cents IS NOT NULL
	                                     ORDER BY p.seq DESC LIMIT 1))
	         END AS amount,
	         CASE WHEN x.to_stage = 'won' THEN
	           extract(epoch FROM x.at - (SELECT min(m.at) FROM lead_transitions m
	                                      WHERE m.tenant_id = $1 AND m.lead_id = x.lead_id AND m.to_stage = 'mql' AND m.seq < x.seq)) / 86400
	         END AS days_to_close
	  FROM lead_transitions x
	  JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id
	  WHERE x.tenant_id = $1 AND x.to_stage IN ('opportunity', 'won', 'lost', 'rejected') AND x.at >= $2 AND x.at < $3 AND ` + leadFilter + `
	)`

// materializeCohort judges the period's handoffs once into temporary table
// name (dropped at commit), for the several aggregates read from them.
func materializeCohort(ctx context.Context, tx pgx.Tx, name string, args []any) error {
	if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+name); err != nil {
		return fmt.Errorf("drop cohort: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE `+name+` ON COMMIT DROP AS `+cohortQuery+` SELECT * FROM c`, args...); err != nil {
		return fmt.Errorf("judge cohort: %w", err)
	}
	return nil
}

// periodFigures fills the store's part of the figures of one period; the
// period's judged handoffs stay in temporary table cohort for the rest of
// the transaction.
func periodFigures(ctx context.Context, tx pgx.Tx, tid tenant.ID, p metric.Period, f metric.Filter, monthly map[string]int64, cohort string) (metric.Figures, error) {
	fig := metric.Figures{Period: p}
	args := metricArgs(tid, p, f)
	if err := materializeCohort(ctx, tx, cohort, args); err != nil {
		return fig, err
	}

	// The cohort: handoffs, decisions, the funnel, speed to lead.
	err := tx.QueryRow(ctx, `
		SELECT count(*),
		       count(*) FILTER (WHERE decision = 'accepted'), count(*) FILTER (WHERE decision = 'rejected'),
		       count(*) FILTER (WHERE reached >= 1), count(*) FILTER (WHERE reached >= 2),
		       count(*) FILTER (WHERE reached >= 3), count(*) FILTER (WHERE reached >= 4),
		       count(touched_at), count(*) FILTER (WHERE touched_at - at <= interval '60 minutes'),
		       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM touched_at - at) / 60),
		       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM touched_at - at) / 60)
		FROM `+cohort).Scan(&fig.Handoffs, &fig.Accepted, &fig.Rejected,
		&fig.Funnel.Accepted, &fig.Funnel.SQL, &fig.Funnel.Opportunity, &fig.Funnel.Won,
		&fig.SpeedToLead.Touched, &fig.SpeedToLead.Within1h, &fig.SpeedToLead.MedianMinutes, &fig.SpeedToLead.P90Minutes)
	if err != nil {
		return fig, fmt.Errorf("cohort figures: %w", err)
	}
	fig.Undecided = fig.Handoffs - fig.Accepted - fig.Rejected
	fig.SpeedToLead.Untouched = fig.Handoffs - fig.SpeedToLead.Touched

	// The same cohort by source, campaign and segment, with the flow
	// amounts of each.
	type key struct{ dim, name string }
	parts := map[key]*metric.Slice{}
	slice := func(k key) *metric.Slice {
		s := parts[k]
		if s == nil {
			s = &metric.Slice{}
			parts[k] = s
		}
		return s
	}
	var order []key
	rows, err := tx.Query(ctx, `
		SELECT CASE WHEN GROUPING(source) = 0 THEN 'source' WHEN GROUPING(campaign) = 0 THEN 'campaign' ELSE 'segment' END,
		       coalesce(source, campaign, segment),
		       count(*), count(*) FILTER (WHERE decision = 'accepted'), count(*) FILTER (WHERE decision = 'rejected'),
		       count(*) FILTER (WHERE reached >= 3)
		FROM `+cohort+` GROUP BY GROUPING SETS ((source), (campaign), (segment))`)
	if err != nil {
		return fig, fmt.Errorf("cohort breakdown: %w", err)
	}
	var k key
	var handoffs, accepted, rejected, opps int64
	_, err = pgx.ForEachRow(rows, []any{&k.dim, &k.name, &handoffs, &accepted, &rejected, &opps}, func() error {
		s := slice(k)
		s.Handoffs, s.Accepted, s.Rejected, s.Opportunities = handoffs, accepted, rejected, opps
		s.Undecided = handoffs - accepted - rejected
		order = append(order, k)
		return nil
	})
	if err != nil {
		return fig, fmt.Errorf("scan cohort breakdown: %w", err)
	}

	// The flow: wins, losses, amounts, time to close.
	flow := cohort + "_flow"
	if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+flow); err != nil {
		return fig, fmt.Errorf("drop flow: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE `+flow+` ON COMMIT DROP AS `+flowQuery+` SELECT * FROM f`, args...); err != nil {
		return fig, fmt.Errorf("read flow: %w", err)
	}
	err = tx.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE to_stage = 'won'), count(*) FILTER (WHERE to_stage = 'lost'),
		       coalesce(sum(amount) FILTER (WHERE to_stage = 'opportunity'), 0),
		       coalesce(sum(amount) FILTER (WHERE to_stage = 'won'), 0),
		       percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_close)
		FROM `+flow).Scan(&fig.Wins, &fig.Losses, &fig.PipelineCreated, &fig.RevenueWon, &fig.MedianDaysToClose)
	if err != nil {
		return fig, fmt.Errorf("flow figures: %w", err)
	}
	rows, err = tx.Query(ctx, `
		SELECT CASE WHEN GROUPING(source) = 0 THEN 'source' WHEN GROUPING(campaign) = 0 THEN 'campaign' ELSE 'segment' END,
		       coalesce(source, campaign, segment),
		       coalesce(sum(amount) FILTER (WHERE to_stage = 'opportunity'), 0),
		       coalesce(sum(amount) FILTER (WHERE to_stage = 'won'), 0)
		FROM `+flow+` WHERE to_stage IN ('opportunity', 'won')
		GROUP BY GROUPING SETS ((source), (campaign), (segment))`)
	if err != nil {
		return fig, fmt.Errorf("flow breakdown: %w", err)
	}
	var created, won metric.Amount
	_, err = pgx.ForEachRow(rows, []any{&k.dim, &k.name, &created, &won}, func() error {
		if _, ok := parts[k]; !ok {
			order = append(order, k)
		}
		s := slice(k)
		s.PipelineCreated, s.RevenueWon = created, won
		return nil
	})
	if err != nil {
		return fig, fmt.Errorf("scan flow breakdown: %w", err)
	}
	for _, k := range order {
		s := *parts[k]
		switch k.dim {
		case "source":
			fig.BySource = append(fig.BySource, metric.SourceRow{Source: k.name, Slice: s})
		case "campaign":
			fig.ByCampaign = append(fig.ByCampaign, metric.CampaignRow{Campaign: k.name, Slice: s})
		default:
			fig.BySegment = append(fig.BySegment, metric.SegmentRow{Segment: k.name, Slice: s})
		}
	}

	// Rejection reasons, by source and by campaign.
	rows, err = tx.Query(ctx, `
		SELECT coalesce(reason, ''), GROUPING(source), coalesce(source, campaign), count(*)
		FROM `+flow+` WHERE to_stage = 'rejected'
		GROUP BY GROUPING SETS ((reason, source), (reason, campaign))`)
	if err != nil {
		return fig, fmt.Errorf("rejection reasons: %w", err)
	}
	reasons := map[string]*metric.ReasonRow{}
	var reason, name string
	var bySourceMissing int
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&reason, &bySourceMissing, &name, &n}, func() error {
		r := reasons[reason]
		if r == nil {
			r = &metric.ReasonRow{Reason: reason, BySource: map[string]int64{}, ByCampaign: map[string]int64{}}
			reasons[reason] = r
		}
		if bySourceMissing == 0 {
			r.BySource[name] += n
			r.Count += n
		} else {
			r.ByCampaign[name] += n
		}
		return nil
	})
	if err != nil {
		return fig, fmt.Errorf("scan rejection reasons: %w", err)
	}
	for _, r := range reasons {
		fig.RejectionReasons = append(fig.RejectionReasons, *r)
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
		return fig, fmt.Errorf("sla compliance: %w", err)
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
		return fig, fmt.Errorf("scan sla compliance: %w", err)
	}

	// Open pipeline, now.
	err = tx.QueryRow(ctx, `
		SELECT count(*), coalesce(sum(l.amount_cents), 0) FROM leads l CROSS JOIN LATERAL (SELECT l.team_id) x
		WHERE l.tenant_id = $1 AND l.stage = 'opportunity' AND $2::timestamptz IS NOT NULL AND $3::timestamptz IS NOT NULL AND `+leadFilter,
		args...).Scan(&fig.OpenOpportunities, &fig.OpenPipeline)
	if err != nil {
		return fig, fmt.Errorf("open pipeline: %w", err)
	}
	if t, ok := metric.RevenueTarget(monthly, p); ok {
		a := metric.Amount(t)
		fig.RevenueTarget = &a
	}
	return fig, nil
}
