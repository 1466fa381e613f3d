package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// Dashboard is everything the shared dashboard shows for one period and
// filter, read in one transaction so its parts agree.
type Dashboard struct {
	Figures   metric.Figures
	Scorecard metric.Scorecard
	// ByTeam and ByRep are SLA compliance by the timer's team and holder.
	ByTeam, ByRep []ComplianceRow
	// Running and AtRisk count the open timers now, under the filter.
	Running, AtRisk int64
	// Speed is the distribution of the period's handoffs by minutes to
	// first touch, in SpeedBuckets, with the untouched last.
	Speed []int64
	// Teams and Segments are the tenant's, for the filter.
	Teams    []tenant.Team
	Segments []string
	// Agreement is the version in force, to describe the scorecard's
	// clauses.
	Agreement sla.Agreement
}

// SpeedBuckets are the upper bounds, in minutes and inclusive, of the
// speed-to-lead distribution's bars (the last bar is beyond a day). The
// one-hour mark falls between the third and fourth: "within 60 minutes"
// includes 60:00, as DESIGN.md §5 reads it.
var SpeedBuckets = []int{15, 30, 60, 120, 240, 480, 1440}

// ComplianceRow is SLA compliance of one team or rep.
type ComplianceRow struct {
	ID       *uuid.UUID // nil: no team or holder
	Name     string
	Side     string
	Met      int64
	Breached int64
}

// Rate is Met ÷ (Met + Breached), nil without resolved timers.
func (r ComplianceRow) Rate() *float64 { return metric.Rate(r.Met, r.Met+r.Breached) }

// FindDashboard reads the dashboard of period p under filter f.
func (s *Store) FindDashboard(ctx context.Context, tid tenant.ID, p metric.Period, f metric.Filter, now time.Time) (Dashboard, error) {
	var d Dashboard
	err := s.inTenantSnapshot(ctx, tid, func(tx pgx.Tx) error {
		var err error
		if d.Figures, d.Speed, err = findMetrics(ctx, tx, tid, p, f); err != nil {
			return err
		}
		if d.Scorecard, err = findScorecard(ctx, tx, tid, p, now); err != nil {
			return err
		}
		if d.Teams, err = findTeams(ctx, tx, tid); err != nil {
			return err
		}
		if d.Segments, err = findSegments(ctx, tx, tid); err != nil {
			return err
		}
		if d.Agreement, err = findAgreement(ctx, tx, tid); err != nil {
			return err
		}
		args := metricArgs(tid, p, f)
		for _, g := range []struct {
			key, names string
			out        *[]ComplianceRow
		}{
			{"x.team_id", `(SELECT name FROM teams WHERE tenant_id = $1 AND id = g.id)`, &d.ByTeam},
			{"x.holder_id", `(SELECT u.name FROM users u WHERE u.id = g.id)`, &d.ByRep},
		} {
			rows, err := tx.Query(ctx, `
				WITH g AS (
				  SELECT `+g.key+` AS id, x.side,
				         count(*) FILTER (WHERE x.status = 'met' AND x.stopped_at >= $2 AND x.stopped_at < $3) AS met,
				         count(*) FILTER (WHERE x.status = 'breached' AND x.due_at >= $2 AND x.due_at < $3
				                            AND NOT EXISTS (SELECT FROM sla_breaches b WHERE b.tenant_id = $1 AND b.timer_id = x.id AND b.excused_at IS NOT NULL)) AS breached
				  FROM sla_timers x
				  JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id
				  WHERE x.tenant_id = $1 AND x.status IN ('met', 'breached')
				    AND ((x.stopped_at >= $2 AND x.stopped_at < $3) OR (x.due_at >= $2 AND x.due_at < $3)) AND `+leadFilter+`
				  GROUP BY 1, 2)
				SELECT g.id, coalesce(`+g.names+`, ''), g.side, g.met, g.breached FROM g
				WHERE g.met + g.breached > 0
				ORDER BY 2, 3`, args...)
			if err != nil {
				return fmt.Errorf("compliance by %s: %w", g.key, err)
			}
			*g.out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ComplianceRow, error) {
				var c ComplianceRow
				return c, r.Scan(&c.ID, &c.Name, &c.Side, &c.Met, &c.Breached)
			})
			if err != nil {
				return fmt.Errorf("scan compliance by %s: %w", g.key, err)
			}
		}
		if err := tx.QueryRow(ctx, `
			SELECT count(*) FILTER (WHERE x.status = 'running'), count(*) FILTER (WHERE x.status = 'at_risk')
			FROM sla_timers x JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id
			WHERE x.tenant_id = $1 AND x.status IN ('running', 'at_risk')
			  AND $2::timestamptz IS NOT NULL AND $3::timestamptz IS NOT NULL AND `+leadFilter, args...).Scan(&d.Running, &d.AtRisk); err != nil {
			return fmt.Errorf("open timers: %w", err)
		}
		return nil
	})
	if err != nil {
		return Dashboard{}, err
	}
	return d, nil
}
