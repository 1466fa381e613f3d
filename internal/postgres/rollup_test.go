package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
)

// The rollups (migration 16) from the facts, written independently of the
// migration's compaction: every filter key (none, segment, source,
// campaign, team) by UTC day and week and breakdown (total, source, campaign,
// segment).
const (
	refFilterKeys = `CROSS JOIN LATERAL (VALUES (0, ''), (1, coalesce(f.segment, '')), (2, f.source), (3, f.campaign),
	                                             (4, coalesce(f.team_id::text, ''))) k (dim, val)`
	refBreakdowns = `CROSS JOIN LATERAL (VALUES (0, ''), (1, f.source), (2, f.campaign), (3, coalesce(f.segment, ''))) s (dim, val)`
	// Every UTC day, and every week (Monday to Monday) as its Monday.
	refLevels = `CROSS JOIN LATERAL (VALUES (0, timezone('UTC', f.at)::date),
	                                         (1, timezone('UTC', f.at)::date - (extract(isodow FROM timezone('UTC', f.at))::int - 1))) v (level, day)`

	referenceCohortRollup = `
		SELECT (k.dim, k.val, v.level, v.day, s.dim, s.val, count(*),
		        count(*) FILTER (WHERE f.decision = 'accepted'), count(*) FILTER (WHERE f.decision = 'rejected'),
		        count(*) FILTER (WHERE f.reached >= 1), count(*) FILTER (WHERE f.reached >= 2),
		        count(*) FILTER (WHERE f.reached >= 3), count(*) FILTER (WHERE f.reached = 4))::text
		FROM lead_handoffs f ` + refFilterKeys + ` ` + refBreakdowns + ` ` + refLevels + `
		GROUP BY k.dim, k.val, v.level, v.day, s.dim, s.val ORDER BY 1`
	storedCohortRollup = `
		SELECT (fdim, fval, level, day, sdim, sval, handoffs, accepted, rejected, reached1, reached2, reached3, reached4)::text
		FROM lead_cohort_rollup WHERE handoffs <> 0 ORDER BY 1`
	referenceSpeedRollup = `
		SELECT (k.dim, k.val, v.level, v.day, accord_speed_bin(date_part('epoch', f.touched_at - f.at) / 60), count(*))::text
		FROM lead_handoffs f ` + refFilterKeys + ` ` + refLevels + `
		WHERE f.touched_at IS NOT NULL
		GROUP BY k.dim, k.val, v.level, v.day, accord_speed_bin(date_part('epoch', f.touched_at - f.at) / 60) ORDER BY 1`
	storedSpeedRollup   = `SELECT (fdim, fval, level, day, bin, n)::text FROM lead_speed_rollup WHERE n <> 0 ORDER BY 1`
	referenceFlowRollup = `
		SELECT (k.dim, k.val, v.level, v.day, s.dim, s.val, f.stage,
		        CASE WHEN f.stage = 'rejected' AND s.dim < 3 THEN coalesce(f.reason, '') ELSE '' END,
		        count(*), coalesce(sum(f.amount_cents), 0))::text
		FROM lead_outcomes f ` + refFilterKeys + ` ` + refBreakdowns + ` ` + refLevels + `
		GROUP BY k.dim, k.val, v.level, v.day, s.dim, s.val, f.stage,
		         CASE WHEN f.stage = 'rejected' AND s.dim < 3 THEN coalesce(f.reason, '') ELSE '' END ORDER BY 1`
	storedFlowRollup = `
		SELECT (fdim, fval, level, day, sdim, sval, stage, reason, n, amount)::text
		FROM lead_flow_rollup WHERE n <> 0 OR amount <> 0 ORDER BY 1`
)

// requireRollupsTrue checks tenant tid's rollups: the figures read through
// them (with the deltas not folded yet, then folded) equal the figures
// read from the facts alone for several periods, zones and filters; the
// folded rollups are the reference aggregate over the facts; and the
// speed quantiles are PostgreSQL's percentile_cont over the facts.
func requireRollupsTrue(t *testing.T, st *postgres.Store, tid tenant.ID, team tenant.Team, now time.Time, step string) {
	t.Helper()
	ctx := context.Background()
	var periods []metric.Period
	// Local days of zones whose midnights fall on and off UTC's, as a
	// tenant's change of zone makes them.
	for _, z := range []struct {
		zone string
		days []int
	}{{"Europe/Berlin", []int{1, 7, 45}}, {"America/St_Johns", []int{2, 120}}, {"Asia/Kathmandu", []int{30}}, {"UTC", []int{60}}} {
		loc, err := time.LoadLocation(z.zone)
		require.NoError(t, err)
		end := now.In(loc)
		for _, days := range z.days {
			periods = append(periods, metric.NewPeriod(end.AddDate(0, 0, -days), end.AddDate(0, 0, 1), loc))
		}
	}
	// Bounds no zone's midnight makes.
	periods = append(periods, metric.Period{From: now.Add(-30*24*time.Hour - 7*time.Minute), To: now.Add(-3*time.Hour - 13*time.Second)})
	filters := []metric.Filter{{}, {Segment: "smb"}, {Segment: metric.None}, {Source: "webinar"}, {Source: "paid_search"},
		{Campaign: "c1"}, {Campaign: metric.None}, {TeamID: &team.ID}, {Segment: "enterprise", Source: "edited_src"}}
	compare := func(when string) {
		for _, p := range periods {
			for _, f := range filters {
				got, err := st.FindDashboardFigures(ctx, tid, p, f, true)
				require.NoError(t, err)
				want, err := st.FindDashboardFigures(ctx, tid, p, f, false)
				require.NoError(t, err)
				require.Equal(t, want.Figures, got.Figures, "%s, %s: figures of %s under %+v", step, when, p.Key(), f)
				require.Equal(t, want.Speed, got.Speed, "%s, %s: speed of %s under %+v", step, when, p.Key(), f)
			}
			// The quantiles as PostgreSQL's own.
			var median, p90 *float64
			inTenant(t, st, tid, func(tx pgx.Tx) {
				require.NoError(t, tx.QueryRow(ctx, `
					SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', touched_at - at) / 60),
					       percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', touched_at - at) / 60)
					FROM lead_handoffs WHERE at >= $1 AND at < $2 AND touched_at IS NOT NULL`, p.From, p.To).Scan(&median, &p90))
			})
			got, err := st.FindMetrics(ctx, tid, p, metric.Filter{}, now)
			require.NoError(t, err)
			require.Equal(t, median, got.SpeedToLead.MedianMinutes, "%s, %s: median of %s", step, when, p.Key())
			require.Equal(t, p90, got.SpeedToLead.P90Minutes, "%s, %s: p90 of %s", step, when, p.Key())
		}
	}
	compare("deltas not folded")
	_, err := st.CompactRollups(ctx)
	require.NoError(t, err)
	require.Zero(t, count(t, st, tid, `SELECT count(*) FROM lead_handoff_deltas`)+count(t, st, tid, `SELECT count(*) FROM lead_outcome_deltas`),
		"compaction folds every delta")
	inTenant(t, st, tid, func(tx pgx.Tx) {
		list := func(q string) []string {
			rows, err := tx.Query(ctx, q)
			require.NoError(t, err)
			out, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			return out
		}
		requireSameRows(t, list(referenceCohortRollup), list(storedCohortRollup), "cohort rollup after "+step)
		requireSameRows(t, list(referenceSpeedRollup), list(storedSpeedRollup), "speed rollup after "+step)
		requireSameRows(t, list(referenceFlowRollup), list(storedFlowRollup), "flow rollup after "+step)
	})
	compare("folded")
}

// TestStore_SpeedBinsHoldTheBuckets: the dashboard's speed distribution and
// "within an hour" are sums of whole speed bins (migration 16), so every
// bucket bound, and the hour, must end a bin: a minute at the bound and
// one just past it fall in different bins.
func TestStore_SpeedBinsHoldTheBuckets(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	bounds := append([]int{60}, postgres.SpeedBuckets...)
	inTenant(t, bd.store, bd.a.ID, func(tx pgx.Tx) {
		for _, b := range bounds {
			var at, past int
			require.NoError(t, tx.QueryRow(context.Background(),
				`SELECT accord_speed_bin($1::float8), accord_speed_bin($1::float8 + 1e-6)`, b).Scan(&at, &past))
			require.Less(t, at, past, "%d minutes must end a speed bin", b)
		}
	})
}
