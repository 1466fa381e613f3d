package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/tenant"
)

// FindScorecard judges every clause of the agreement in force for period
// p, both sides: a period clause over its own period that holds the last
// instant of p already lived (so a month's scorecard judges a quarterly
// clause on its quarter, a weekly one on its latest week), pro-rated by
// business time while that period runs; a lead clause by the compliance of
// the timers under it resolved in p (met by their stop, breached by their
// due time, excused breaches left out). The same judgement as the worker's
// period results, through sla.Clause.Judge.
func (s *Store) FindScorecard(ctx context.Context, tid tenant.ID, p metric.Period, now time.Time) (metric.Scorecard, error) {
	var card metric.Scorecard
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		card, err = findScorecard(ctx, tx, tid, p, now)
		return err
	})
	if err != nil {
		return metric.Scorecard{}, err
	}
	return card, nil
}

// findScorecard is FindScorecard inside a tenant transaction.
func findScorecard(ctx context.Context, tx pgx.Tx, tid tenant.ID, p metric.Period, now time.Time) (metric.Scorecard, error) {
	card := metric.Scorecard{Period: p.Key(), Clauses: []metric.ScorecardEntry{}}
	err := func() error {
		a, err := findAgreement(ctx, tx, tid)
		if err != nil {
			return err
		}
		t, err := scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, tid))
		if err != nil {
			return fmt.Errorf("find tenant: %w", mapErr(err))
		}
		sched, err := defaultSchedule(ctx, tx, tid, t.TimeZone)
		if err != nil {
			return err
		}
		lived := p.To.Add(-time.Nanosecond)
		if now.Before(lived) {
			lived = now
		}
		compliance, err := clauseCompliance(ctx, tx, tid, p)
		if err != nil {
			return err
		}
		for _, c := range a.Clauses {
			if c.Kind.Lead() {
				card.Clauses = append(card.Clauses, metric.ScoreLeadClause(c, compliance[c.ID], !now.Before(p.To), p))
				continue
			}
			cp := metric.ClausePeriod(c.Period, lived, sched.Location())
			m, err := periodMeasure(ctx, tx, tid, cp.From, cp.To, c.Scope)
			if err != nil {
				return err
			}
			card.Clauses = append(card.Clauses, metric.ScorePeriodClause(c, m, businessShare(sched, cp.From, cp.To, now), cp))
		}
		return nil
	}()
	if err != nil {
		return metric.Scorecard{}, err
	}
	return card, nil
}

// clauseCompliance counts, per lead clause, the timers met in p (stop
// time) and breached in it (due time), without excused breaches.
func clauseCompliance(ctx context.Context, tx pgx.Tx, tid tenant.ID, p metric.Period) (map[uuid.UUID]metric.KindCompliance, error) {
	rows, err := tx.Query(ctx, `
		SELECT x.clause_id, count(*) FILTER (WHERE x.status = 'met' AND x.stopped_at >= $2 AND x.stopped_at < $3),
		       count(*) FILTER (WHERE x.status = 'breached' AND x.due_at >= $2 AND x.due_at < $3
		                          AND NOT EXISTS (SELECT FROM sla_breaches b WHERE b.tenant_id = $1 AND b.timer_id = x.id AND b.excused_at IS NOT NULL))
		FROM sla_timers x
		WHERE x.tenant_id = $1 AND x.status IN ('met', 'breached')
		  AND ((x.stopped_at >= $2 AND x.stopped_at < $3) OR (x.due_at >= $2 AND x.due_at < $3))
		GROUP BY x.clause_id`, tid, p.From, p.To)
	if err != nil {
		return nil, fmt.Errorf("clause compliance: %w", err)
	}
	out := map[uuid.UUID]metric.KindCompliance{}
	var id uuid.UUID
	var k metric.KindCompliance
	if _, err := pgx.ForEachRow(rows, []any{&id, &k.Met, &k.Breached}, func() error {
		k.Rate = metric.Rate(k.Met, k.Met+k.Breached)
		out[id] = k
		return nil
	}); err != nil {
		return nil, fmt.Errorf("scan clause compliance: %w", err)
	}
	return out, nil
}
