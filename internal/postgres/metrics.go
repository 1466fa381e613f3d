package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	err := s.inTenantSnapshot(ctx, tid, func(tx pgx.Tx) error {
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
	return findMetricsWith(ctx, tx, tid, p, f, true)
}

// findMetricsWith is findMetrics that reads the cohort and the flow from
// the facts alone unless rollups is set: the reference the rollups' tests
// compare with.
func findMetricsWith(ctx context.Context, tx pgx.Tx, tid tenant.ID, p metric.Period, f metric.Filter, rollups bool) (metric.Figures, []int64, error) {
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
	cur, speed, err := periodFigures(ctx, tx, tid, p, f, monthly, rollups)
	if err != nil {
		return metric.Figures{}, nil, err
	}
	prev, _, err := periodFigures(ctx, tx, tid, p.Previous(), f, monthly, rollups)
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

// speedBinCount is the number of touched handoffs in one accord_speed_bin.
type speedBinCount struct {
	bin int
	n   int64
}

// quantiler reads exact quantiles of a period's minutes to first touch
// (percentile_cont's: interpolated linearly between the closest ranks)
// from its histogram of bins: a rank's value is read from the facts of its
// bin only, through lead_handoffs_speed_idx.
type quantiler struct {
	tx   pgx.Tx
	args []any
	bins []speedBinCount
	// values holds the values read, by rank.
	values map[int64]float64
}

// percentile is percentile_cont(p) over the n touched handoffs.
func (q *quantiler) percentile(ctx context.Context, p float64, n int64) (*float64, error) {
	// As PostgreSQL computes it (percentile_cont_final_common, float8_lerp).
	pos := p * float64(n-1)
	lo, hi := int64(math.Floor(pos)), int64(math.Ceil(pos))
	a, err := q.value(ctx, lo)
	if err != nil {
		return nil, err
	}
	if lo == hi {
		return &a, nil
	}
	b, err := q.value(ctx, hi)
	if err != nil {
		return nil, err
	}
	v := a + (b-a)*(pos-float64(lo))
	return &v, nil
}

// value is the rank-th smallest minutes to first touch (from 0).
func (q *quantiler) value(ctx context.Context, rank int64) (float64, error) {
	if v, ok := q.values[rank]; ok {
		return v, nil
	}
	var below int64
	for _, b := range q.bins {
		if rank >= below+b.n {
			below += b.n
			continue
		}
		rows, err := q.tx.Query(ctx, `
			SELECT date_part('epoch', f.touched_at - f.at) / 60 FROM `+cohortFacts+`
			  AND f.touched_at IS NOT NULL AND f.speed_bin = $8
			ORDER BY 1 OFFSET $9 LIMIT 2`, append(append([]any{}, q.args...), b.bin, rank-below)...)
		if err != nil {
			return 0, fmt.Errorf("read bin %d: %w", b.bin, err)
		}
		vs, err := pgx.CollectRows(rows, pgx.RowTo[float64])
		if err != nil {
			return 0, fmt.Errorf("scan bin %d: %w", b.bin, err)
		}
		if q.values == nil {
			q.values = map[int64]float64{}
		}
		for i, v := range vs {
			if rank-below+int64(i) < b.n {
				q.values[rank+int64(i)] = v
			}
		}
		if len(vs) == 0 {
			return 0, errBinsMoved
		}
		return vs[0], nil
	}
	return 0, errBinsMoved
}

// errBinsMoved: a bin holds fewer facts than the histogram read before
// it said.
var errBinsMoved = errors.New("speed bins moved")

// cohortFacts are the period's handoffs, judged (migration 13 keeps
// lead_handoffs true at every write): the first decision, the furthest
// stage reached (1 accepted, 2 sql, 3 opportunity, 4 won) and the first
// touch, each before the lead's next handoff.
const cohortFacts = `lead_handoffs f WHERE f.tenant_id = $1 AND f.at >= $2 AND f.at < $3 AND ` + factFilter

// flowFacts are the period's transitions to opportunity, won, lost and
// rejected, with the amount each leaves the lead at and the lead's first
// handoff before it.
const flowFacts = `lead_outcomes f WHERE f.tenant_id = $1 AND f.at >= $2 AND f.at < $3 AND ` + factFilter

// rollupCover is the part of a period the rollups (migration 16) answer:
// the whole UTC days [from, to) it holds, of which the whole UTC weeks
// (Monday to Monday) [weeksFrom, weeksTo) are read as weeks, under the
// filter as a rollup key (fdim 0 none, 1 segment, 2 source, 3 campaign, 4
// team). The rest of the period, the hours before from and after to, is
// read from the facts. A period of no whole UTC day, or a filter on two
// attributes at once, is read from the facts whole: from = to = the
// period's end, fdim -1.
type rollupCover struct {
	from, to           time.Time
	weeksFrom, weeksTo time.Time
	fdim               int16
	fval               string
}

// coverOf is period p's rollupCover under filter f.
func coverOf(p metric.Period, f metric.Filter) rollupCover {
	none := noCover(p)
	c := rollupCover{}
	n := 0
	key := func(dim int16, v string) {
		n++
		if v == metric.None {
			v = ""
		}
		c.fdim, c.fval = dim, v
	}
	if f.Segment != "" {
		key(1, f.Segment)
	}
	if f.Source != "" {
		key(2, f.Source)
	}
	if f.Campaign != "" {
		key(3, f.Campaign)
	}
	if f.TeamID != nil {
		key(4, f.TeamID.String())
	}
	if n > 1 {
		return none
	}
	day := func(t time.Time) time.Time {
		t = t.UTC()
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	c.from, c.to = day(p.From), day(p.To)
	if c.from.Before(p.From) {
		c.from = c.from.AddDate(0, 0, 1)
	}
	if !c.from.Before(c.to) {
		return none
	}
	monday := func(t time.Time) int { return (int(t.Weekday()) + 6) % 7 } // days since Monday
	c.weeksFrom = c.from.AddDate(0, 0, (7-monday(c.from))%7)
	c.weeksTo = c.to.AddDate(0, 0, -monday(c.to))
	if !c.weeksFrom.Before(c.weeksTo) {
		c.weeksFrom, c.weeksTo = c.to, c.to
	}
	return c
}

// noCover reads period p from the facts alone.
func noCover(p metric.Period) rollupCover {
	return rollupCover{from: p.To, to: p.To, weeksFrom: p.To, weeksTo: p.To, fdim: -1}
}

// args are the statements' $8 to $13 after metricArgs.
func (c rollupCover) args() []any {
	return []any{c.from, c.to, c.fdim, c.fval, c.weeksFrom, c.weeksTo}
}

// Where the rollups, their deltas not folded yet and the facts outside
// the cover meet; with metricArgs and rollupCover.args.
const (
	rollupDays = `tenant_id = $1 AND fdim = $10::smallint AND fval = $11::text
		AND ((level = 1 AND day >= ($12::timestamptz AT TIME ZONE 'UTC')::date AND day < ($13::timestamptz AT TIME ZONE 'UTC')::date)
		     OR (level = 0 AND day >= ($8::timestamptz AT TIME ZONE 'UTC')::date AND day < ($12::timestamptz AT TIME ZONE 'UTC')::date)
		     OR (level = 0 AND day >= ($13::timestamptz AT TIME ZONE 'UTC')::date AND day < ($9::timestamptz AT TIME ZONE 'UTC')::date))`
	deltaDays = `f.tenant_id = $1 AND $10::smallint >= 0
		AND f.day >= ($8::timestamptz AT TIME ZONE 'UTC')::date AND f.day < ($9::timestamptz AT TIME ZONE 'UTC')::date AND ` + factFilter
	outsideCover = `f.tenant_id = $1 AND ((f.at >= $2 AND f.at < $8::timestamptz) OR (f.at >= $9::timestamptz AND f.at < $3)) AND ` + factFilter
	// breakdowns expands a fact or delta (alias f) into the breakdowns the
	// rollups keep: the total, by source, by campaign, by segment.
	breakdowns = `CROSS JOIN LATERAL (VALUES (0::smallint, ''), (1, f.source), (2, f.campaign), (3, coalesce(f.segment, ''))) s (dim, val)`
)

// binUpper is the upper bound, in minutes and inclusive, of
// accord_speed_bin's bin b (migration 16); +Inf for the last.
func binUpper(b int) float64 {
	switch {
	case b <= 120:
		return float64(b)
	case b <= 252:
		return float64(120 + (b-120)*10)
	case b <= 396:
		return float64(1440 + (b-252)*60)
	}
	return math.Inf(1)
}

// speedBucket is the SpeedBuckets bar of bin b: every bar's bound is a
// bin bound.
func speedBucket(b int) int {
	u := binUpper(b)
	for i, bound := range SpeedBuckets {
		if u <= float64(bound) {
			return i
		}
	}
	return len(SpeedBuckets)
}

// periodFigures fills the store's part of the figures of one period, and
// the distribution of its handoffs over SpeedBuckets (the dashboard's).
// The cohort and the flow are sums of the rollups over the period's whole
// UTC days, the deltas not folded into them yet, and the facts of the
// hours outside those days; a quantile is found by the histogram of speeds
// and read from the facts of its bin.
func periodFigures(ctx context.Context, tx pgx.Tx, tid tenant.ID, p metric.Period, f metric.Filter, monthly map[string]int64, rollups bool) (metric.Figures, []int64, error) {
	fig := metric.Figures{Period: p}
	args := metricArgs(tid, p, f)
	cover := coverOf(p, f)
	if !rollups {
		cover = noCover(p)
	}
	cargs := append(append([]any{}, args...), cover.args()...)
	speed := make([]int64, len(SpeedBuckets)+2)

	// The cohort: handoffs, decisions, the funnel, by source, campaign and
	// segment.
	rows, err := tx.Query(ctx, `
		SELECT dim, val, sum(handoffs)::bigint, sum(accepted)::bigint, sum(rejected)::bigint,
		       sum(reached1)::bigint, sum(reached2)::bigint, sum(reached3)::bigint, sum(reached4)::bigint
		FROM (
		  SELECT sdim AS dim, sval AS val, handoffs, accepted, rejected, reached1, reached2, reached3, reached4
		  FROM lead_cohort_rollup WHERE `+rollupDays+`
		  UNION ALL
		  SELECT s.dim, s.val, f.n, CASE f.decision WHEN 'accepted' THEN f.n ELSE 0 END, CASE f.decision WHEN 'rejected' THEN f.n ELSE 0 END,
		         CASE WHEN f.reached >= 1 THEN f.n ELSE 0 END, CASE WHEN f.reached >= 2 THEN f.n ELSE 0 END,
		         CASE WHEN f.reached >= 3 THEN f.n ELSE 0 END, CASE WHEN f.reached >= 4 THEN f.n ELSE 0 END
		  FROM lead_handoff_deltas f `+breakdowns+` WHERE `+deltaDays+`
		  UNION ALL
		  SELECT s.dim, s.val, 1, CASE f.decision WHEN 'accepted' THEN 1 ELSE 0 END, CASE f.decision WHEN 'rejected' THEN 1 ELSE 0 END,
		         (f.reached >= 1)::int, (f.reached >= 2)::int, (f.reached >= 3)::int, (f.reached >= 4)::int
		  FROM lead_handoffs f `+breakdowns+` WHERE `+outsideCover+`
		) c
		GROUP BY 1, 2`, cargs...)
	if err != nil {
		return fig, nil, fmt.Errorf("cohort figures: %w", err)
	}
	bySource, byCampaign, bySegment := map[string]*metric.Slice{}, map[string]*metric.Slice{}, map[string]*metric.Slice{}
	// slice is the breakdown row of dim (1 source, 2 campaign, 3 segment;
	// the rollups' sdim) and value k.
	slice := func(dim int16, k string) *metric.Slice {
		m := bySegment
		switch dim {
		case 1:
			m = bySource
		case 2:
			m = byCampaign
		}
		s := m[k]
		if s == nil {
			s = &metric.Slice{}
			m[k] = s
		}
		return s
	}
	var dim int16
	var val string
	var handoffs, accepted, rejected, r1, r2, r3, r4 int64
	_, err = pgx.ForEachRow(rows, []any{&dim, &val, &handoffs, &accepted, &rejected, &r1, &r2, &r3, &r4}, func() error {
		if handoffs == 0 {
			return nil // a key whose handoffs all moved away
		}
		if dim == 0 {
			fig.Handoffs, fig.Accepted, fig.Rejected = handoffs, accepted, rejected
			fig.Funnel.Accepted, fig.Funnel.SQL, fig.Funnel.Opportunity, fig.Funnel.Won = r1, r2, r3, r4
			return nil
		}
		s := slice(dim, val)
		s.Handoffs += handoffs
		s.Accepted += accepted
		s.Rejected += rejected
		s.Undecided += handoffs - accepted - rejected
		s.Opportunities += r3
		return nil
	})
	if err != nil {
		return fig, nil, fmt.Errorf("scan cohort figures: %w", err)
	}
	fig.Undecided = fig.Handoffs - fig.Accepted - fig.Rejected

	// Speed to lead: the touched handoffs by bin, the bars and the
	// quantiles from them.
	rows, err = tx.Query(ctx, `
		SELECT bin, sum(n)::bigint FROM (
		  SELECT bin, n FROM lead_speed_rollup WHERE `+rollupDays+`
		  UNION ALL
		  SELECT f.bin, f.n FROM lead_handoff_deltas f WHERE `+deltaDays+` AND f.bin IS NOT NULL
		  UNION ALL
		  SELECT f.speed_bin, 1 FROM lead_handoffs f WHERE `+outsideCover+` AND f.touched_at IS NOT NULL
		) c
		GROUP BY 1 HAVING sum(n) <> 0 ORDER BY 1`, cargs...)
	if err != nil {
		return fig, nil, fmt.Errorf("speed histogram: %w", err)
	}
	var bins []speedBinCount
	var b speedBinCount
	_, err = pgx.ForEachRow(rows, []any{&b.bin, &b.n}, func() error {
		bins = append(bins, b)
		speed[speedBucket(b.bin)] += b.n
		fig.SpeedToLead.Touched += b.n
		if binUpper(b.bin) <= 60 {
			fig.SpeedToLead.Within1h += b.n
		}
		return nil
	})
	if err != nil {
		return fig, nil, fmt.Errorf("scan speed histogram: %w", err)
	}
	fig.SpeedToLead.Untouched = fig.Handoffs - fig.SpeedToLead.Touched
	speed[len(speed)-1] = fig.SpeedToLead.Untouched
	if fig.SpeedToLead.Touched > 0 {
		q := quantiler{tx: tx, args: args, bins: bins}
		fig.SpeedToLead.MedianMinutes, err = q.percentile(ctx, 0.5, fig.SpeedToLead.Touched)
		if err == nil {
			fig.SpeedToLead.P90Minutes, err = q.percentile(ctx, 0.9, fig.SpeedToLead.Touched)
		}
		if errors.Is(err, errBinsMoved) {
			// A write committed between the histogram and the read of a
			// bin (a caller's READ COMMITTED transaction, the digest's):
			// the quantiles of this statement's facts, the slow way.
			err = tx.QueryRow(ctx, `
				SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', touched_at - at) / 60),
				       percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', touched_at - at) / 60)
				FROM `+cohortFacts+` AND f.touched_at IS NOT NULL`, args...).Scan(&fig.SpeedToLead.MedianMinutes, &fig.SpeedToLead.P90Minutes)
		}
		if err != nil {
			return fig, nil, fmt.Errorf("speed to lead: %w", err)
		}
	}

	// The flow: wins, losses, amounts, rejection reasons, by source,
	// campaign and segment.
	rows, err = tx.Query(ctx, `
		SELECT dim, val, stage, reason, sum(n)::bigint, sum(amount)::bigint FROM (
		  SELECT sdim AS dim, sval AS val, stage, reason, n, amount FROM lead_flow_rollup WHERE `+rollupDays+`
		  UNION ALL
		  SELECT s.dim, s.val, f.stage, CASE WHEN f.stage = 'rejected' AND s.dim < 3 THEN coalesce(f.reason, '') ELSE '' END, f.n, f.amount
		  FROM lead_outcome_deltas f `+breakdowns+` WHERE `+deltaDays+`
		  UNION ALL
		  SELECT s.dim, s.val, f.stage, CASE WHEN f.stage = 'rejected' AND s.dim < 3 THEN coalesce(f.reason, '') ELSE '' END, 1,
		         coalesce(f.amount_cents, 0)
		  FROM lead_outcomes f `+breakdowns+` WHERE `+outsideCover+`
		) c
		GROUP BY 1, 2, 3, 4`, cargs...)
	if err != nil {
		return fig, nil, fmt.Errorf("flow figures: %w", err)
	}
	reasons := map[string]*metric.ReasonRow{}
	var stage, reason string
	var n int64
	var amount metric.Amount
	_, err = pgx.ForEachRow(rows, []any{&dim, &val, &stage, &reason, &n, &amount}, func() error {
		if n == 0 {
			return nil // a key whose outcomes all moved away
		}
		switch stage {
		case "won", "opportunity":
			if dim == 0 {
				if stage == "won" {
					fig.Wins += n
					fig.RevenueWon += amount
				} else {
					fig.PipelineCreated += amount
				}
				return nil
			}
			s := slice(dim, val)
			if stage == "won" {
				s.RevenueWon += amount
			} else {
				s.PipelineCreated += amount
			}
		case "lost":
			if dim == 0 {
				fig.Losses += n
			}
		case "rejected":
			if dim == 3 {
				return nil // the reasons have no breakdown by segment
			}
			r := reasons[reason]
			if r == nil {
				r = &metric.ReasonRow{Reason: reason, BySource: map[string]int64{}, ByCampaign: map[string]int64{}}
				reasons[reason] = r
			}
			switch dim {
			case 0:
				r.Count += n
			case 1:
				r.BySource[val] += n
			case 2:
				r.ByCampaign[val] += n
			}
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
		// range (lead_outcomes_won_idx).
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

// CompactRollups folds every tenant's funnel deltas into the rollups
// (migration 16) and returns how many it folded. Figures are exact
// without it; it keeps them fast, as the deltas a reader adds stay few.
// The worker runs it every 10 seconds (worker.compactEvery); a tenant
// being compacted by another call is skipped, not waited for.
func (s *Store) CompactRollups(ctx context.Context) (int64, error) {
	var n int64
	err := s.inGlobal(ctx, uuid.Nil, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT accord_compact_rollups()`).Scan(&n); err != nil {
			return fmt.Errorf("compact rollups: %w", err)
		}
		return nil
	})
	return n, err
}
