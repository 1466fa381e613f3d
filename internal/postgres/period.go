package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/webhook"
)

// periodMeasure counts a period's handoffs and opportunities over the
// leads in scope (DESIGN.md §5): handoffs are transitions to mql in
// [from, to); each is judged by the first decision after it and before the
// lead's next handoff; opportunities are transitions to opportunity in the
// period of leads handed off before.
func periodMeasure(ctx context.Context, tx pgx.Tx, tid tenant.ID, from, to time.Time, scope sla.Scope) (sla.PeriodMeasure, error) {
	var m sla.PeriodMeasure
	err := tx.QueryRow(ctx, `
		WITH h AS (
		  SELECT t.lead_id, t.seq, l.icp_fit
		  FROM lead_transitions t
		  JOIN leads l ON l.tenant_id = t.tenant_id AND l.id = t.lead_id
		  WHERE t.tenant_id = $1 AND t.to_stage = 'mql' AND t.at >= $2 AND t.at < $3
		    AND ($4::text IS NULL OR l.segment = $4) AND ($5::text IS NULL OR l.source = $5)
		), judged AS (
		  SELECT h.icp_fit, d.to_stage AS decision
		  FROM h
		  LEFT JOIN LATERAL (
		    SELECT x.to_stage FROM lead_transitions x
		    WHERE x.tenant_id = $1 AND x.lead_id = h.lead_id AND x.seq > h.seq
		      AND x.to_stage IN ('accepted', 'rejected', 'mql')
		    ORDER BY x.seq LIMIT 1
		  ) d ON true
		), opp AS (
		  SELECT count(*) AS n, coalesce(sum(o.amount_cents), 0) AS amount
		  FROM lead_transitions o
		  JOIN leads l ON l.tenant_id = o.tenant_id AND l.id = o.lead_id
		  WHERE o.tenant_id = $1 AND o.to_stage = 'opportunity' AND o.at >= $2 AND o.at < $3
		    AND ($4::text IS NULL OR l.segment = $4) AND ($5::text IS NULL OR l.source = $5)
		    AND EXISTS (SELECT FROM lead_transitions m
		                WHERE m.tenant_id = $1 AND m.lead_id = o.lead_id AND m.to_stage = 'mql' AND m.seq < o.seq)
		)
		SELECT (SELECT count(*) FROM judged),
		       (SELECT count(*) FROM judged WHERE icp_fit),
		       (SELECT count(*) FROM judged WHERE decision = 'accepted'),
		       (SELECT count(*) FROM judged WHERE decision = 'rejected'),
		       opp.n, opp.amount
		FROM opp`, tid, from, to, scope.Segment, scope.Source).
		Scan(&m.Handoffs, &m.ICPFit, &m.Accepted, &m.Rejected, &m.Opportunities, &m.OpportunityAmount)
	if err != nil {
		return m, fmt.Errorf("measure period: %w", err)
	}
	return m, nil
}

// PeriodStanding is a period clause's standing in one period: its outcome
// once the period has ended, how it is doing while it runs.
type PeriodStanding struct {
	Clause   sla.Clause
	Version  int
	From, To time.Time
	Measure  sla.PeriodMeasure
	Result   sla.PeriodResult
	// Recorded is true for an ended period whose result the worker stored.
	Recorded bool
	// FromNextPeriod: the clause (or its period length) is new since this
	// period began, so it is judged from the next period on.
	FromNextPeriod bool
}

// Label names the period for people.
func (p PeriodStanding) Label() string { return sla.PeriodLabel(p.Clause.Period, p.From) }

// FindPeriodStandings returns, for every period clause of the agreement in
// force, its current period as it stands at now and the results recorded
// for its last periods (newest first, at most history of them).
func (s *Store) FindPeriodStandings(ctx context.Context, tid tenant.ID, now time.Time, history int) ([]PeriodStanding, error) {
	var out []PeriodStanding
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		out, err = findPeriodStandings(ctx, tx, tid, now, history)
		return err
	})
	return out, err
}

func findPeriodStandings(ctx context.Context, tx pgx.Tx, tid tenant.ID, now time.Time, history int) ([]PeriodStanding, error) {
	var out []PeriodStanding
	err := func() error {
		t, err := scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, tid))
		if err != nil {
			return fmt.Errorf("find tenant: %w", mapErr(err))
		}
		rows, err := tx.Query(ctx, agreementSelect+` WHERE tenant_id = $1 ORDER BY version`, tid)
		if err != nil {
			return fmt.Errorf("query agreement versions: %w", err)
		}
		versions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sla.Agreement, error) { return scanAgreement(r) })
		if err != nil {
			return fmt.Errorf("scan agreement versions: %w", err)
		}
		if len(versions) == 0 {
			return nil
		}
		a := versions[len(versions)-1]
		sched, err := defaultSchedule(ctx, tx, tid, t.TimeZone)
		if err != nil {
			return err
		}
		for _, c := range a.Clauses {
			if c.Kind.Lead() {
				continue
			}
			from, to := sla.PeriodBounds(c.Period, now, sched.Location())
			st := PeriodStanding{Clause: c, Version: a.Version, From: from, To: to, FromNextPeriod: true}
			if va, vc, ok := versionAt(versions, from, c.ID); ok && vc.Period == c.Period {
				st.Clause, st.Version, st.FromNextPeriod = vc, va.Version, false
			}
			m, err := periodMeasure(ctx, tx, tid, from, to, st.Clause.Scope)
			if err != nil {
				return err
			}
			st.Measure, st.Result = m, st.Clause.Judge(m, businessShare(sched, from, to, now))
			out = append(out, st)
			rows, err := tx.Query(ctx, `
				SELECT period_start, period_end, agreement_version, target, actual, status
				FROM sla_period_results WHERE tenant_id = $1 AND clause_id = $2
				ORDER BY period_start DESC LIMIT $3`, tid, c.ID, history)
			if err != nil {
				return fmt.Errorf("query period results: %w", err)
			}
			past, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PeriodStanding, error) {
				var p PeriodStanding
				var start, end time.Time
				var status string
				err := r.Scan(&start, &end, &p.Version, &p.Result.Target, &p.Result.Actual, &status)
				loc := sched.Location()
				p.From = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc)
				p.To = time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, loc)
				p.Clause, p.Result.Status, p.Recorded = c, sla.PeriodStatus(status), true
				return p, err
			})
			if err != nil {
				return fmt.Errorf("scan period results: %w", err)
			}
			out = append(out, past...)
		}
		return nil
	}()
	return out, err
}

// businessShare is the share of [from, to)'s business time on sched that
// has passed at now, so a count target is pro-rated by working time.
func businessShare(sched *sla.Schedule, from, to, now time.Time) float64 {
	if !now.Before(to) {
		return 1
	}
	total := sched.Elapsed(from, to)
	if total <= 0 {
		return float64(now.Sub(from)) / float64(to.Sub(from))
	}
	return float64(sched.Elapsed(from, now)) / float64(total)
}

// defaultSchedule is the tenant's default calendar (or, without one, an
// always-open calendar in its zone): periods are pro-rated by it.
func defaultSchedule(ctx context.Context, tx pgx.Tx, tid tenant.ID, zone string) (*sla.Schedule, error) {
	cals, err := findCalendars(ctx, tx, tid, uuid.Nil)
	if err != nil {
		return nil, err
	}
	cal := sla.Calendar{TimeZone: zone, AlwaysOpen: true}
	for _, c := range cals {
		if c.IsDefault {
			cal = c
		}
	}
	sched, err := sla.NewSchedule(cal)
	if err != nil {
		return nil, fmt.Errorf("default calendar: %w", err)
	}
	return sched, nil
}

// ClosePeriodsResult counts what closing periods did.
type ClosePeriodsResult struct {
	Recorded int
	Missed   int
}

// maxCatchUp bounds how many ended periods of one clause a single pass
// records after downtime.
const maxCatchUp = 12

// versionAt returns the version in force at t and clause id of it, if it
// holds that clause.
func versionAt(versions []sla.Agreement, t time.Time, id uuid.UUID) (sla.Agreement, sla.Clause, bool) {
	for i := len(versions) - 1; i >= 0; i-- {
		if !versions[i].EffectiveFrom.After(t) {
			c, ok := versions[i].Clause(id)
			return versions[i], c, ok
		}
	}
	return sla.Agreement{}, sla.Clause{}, false
}

// ClosePeriods records the result of every period clause whose period has
// ended by now and has no result yet, once (the primary key makes a second
// worker's insert a no-op), and notifies both sides: admins, marketing and
// sales managers in-app (and by e-mail), and period.missed webhooks. Like a
// timer, a period is judged by the version in force when it began: a clause
// added mid-period is judged from the next period on, and a target changed
// mid-period applies from the next one. Results of periods that ended more than
// a week ago (a worker down for long) are recorded without notifying.
func (s *Store) ClosePeriods(ctx context.Context, now time.Time, opts SweepOptions) (ClosePeriodsResult, error) {
	var total ClosePeriodsResult
	rows, err := s.pool.Query(ctx, `SELECT id FROM tenants ORDER BY id`)
	if err != nil {
		return total, fmt.Errorf("list tenants: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[tenant.ID])
	if err != nil {
		return total, fmt.Errorf("scan tenants: %w", err)
	}
	for _, tid := range ids {
		res, err := s.closeTenantPeriods(ctx, tid, now, opts)
		if err != nil {
			return total, fmt.Errorf("tenant %s: %w", tid, err)
		}
		total.Recorded += res.Recorded
		total.Missed += res.Missed
	}
	return total, nil
}

func (s *Store) closeTenantPeriods(ctx context.Context, tid tenant.ID, now time.Time, opts SweepOptions) (ClosePeriodsResult, error) {
	var res ClosePeriodsResult
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, agreementSelect+` WHERE tenant_id = $1 ORDER BY version`, tid)
		if err != nil {
			return fmt.Errorf("query agreement versions: %w", err)
		}
		versions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sla.Agreement, error) { return scanAgreement(r) })
		if err != nil {
			return fmt.Errorf("scan agreement versions: %w", err)
		}
		if len(versions) == 0 {
			return nil
		}
		at := func(t time.Time, id uuid.UUID) (sla.Agreement, sla.Clause, bool) { return versionAt(versions, t, id) }
		current := versions[len(versions)-1]
		var candidates []sla.Clause
		for _, c := range current.Clauses {
			if !c.Kind.Lead() {
				candidates = append(candidates, c)
			}
		}
		if len(candidates) == 0 {
			return nil
		}
		t, err := scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, tid))
		if err != nil {
			return fmt.Errorf("find tenant: %w", mapErr(err))
		}
		loc, err := time.LoadLocation(t.TimeZone)
		if err != nil {
			return fmt.Errorf("tenant zone: %w", err)
		}
		var sw *sweeper
		for _, cur := range candidates {
			// Walk back from the last ended period to the first without a
			// result, then record oldest first.
			var pending []PeriodStanding
			from, _ := sla.PeriodBounds(cur.Period, now, loc)
			for range maxCatchUp {
				pFrom, pTo := sla.PeriodBounds(cur.Period, from.Add(-time.Hour), loc)
				a, c, ok := at(pFrom, cur.ID)
				if !ok || c.Kind.Lead() || c.Period != cur.Period {
					break
				}
				var exists bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM sla_period_results WHERE tenant_id = $1 AND clause_id = $2 AND period_start = $3)`,
					tid, c.ID, pFrom.Format(time.DateOnly)).Scan(&exists); err != nil {
					return fmt.Errorf("find period result: %w", err)
				}
				if exists {
					break
				}
				pending = append(pending, PeriodStanding{Clause: c, Version: a.Version, From: pFrom, To: pTo})
				from = pFrom
			}
			for i := len(pending) - 1; i >= 0; i-- {
				p := pending[i]
				m, err := periodMeasure(ctx, tx, tid, p.From, p.To, p.Clause.Scope)
				if err != nil {
					return err
				}
				r := p.Clause.Judge(m, 1)
				tag, err := tx.Exec(ctx, `
					INSERT INTO sla_period_results (tenant_id, clause_id, period_start, period_end, agreement_version, kind, side, target, actual, status, recorded_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
					ON CONFLICT DO NOTHING`,
					tid, p.Clause.ID, p.From.Format(time.DateOnly), p.To.Format(time.DateOnly), p.Version, string(p.Clause.Kind),
					string(p.Clause.Side), r.Target, r.Actual, string(r.Status), now)
				if err != nil {
					return fmt.Errorf("record period result: %w", err)
				}
				if tag.RowsAffected() == 0 {
					continue
				}
				res.Recorded++
				if r.Status == sla.PeriodMissed {
					res.Missed++
				}
				if now.Sub(p.To) > 7*24*time.Hour {
					continue // a long-past period: recorded, not announced
				}
				if sw == nil {
					sw = &sweeper{s: s, tx: tx, now: now, opts: opts, res: &SweepResult{}, agreements: map[string]sla.Agreement{}}
					if err := sw.enterTenant(ctx, tid); err != nil {
						return err
					}
				}
				if err := sw.announcePeriod(ctx, p, m, r); err != nil {
					return err
				}
			}
		}
		if sw == nil {
			return nil
		}
		return sw.flush(ctx)
	})
	return res, err
}

// announcePeriod tells both sides how a period clause ended.
func (sw *sweeper) announcePeriod(ctx context.Context, p PeriodStanding, m sla.PeriodMeasure, r sla.PeriodResult) error {
	actual := "nothing to judge"
	if r.Actual != nil {
		actual = p.Clause.FormatActual(*r.Actual)
	}
	verdict := "Met"
	if r.Status == sla.PeriodMissed {
		verdict = "Missed"
	}
	title := fmt.Sprintf("%s for %s: %s", verdict, p.Label(), p.Clause.Describe())
	body := fmt.Sprintf("Target %s, actual %s.", p.Clause.FormatActual(r.Target), actual)
	rows, err := sw.tx.Query(ctx, `SELECT user_id FROM memberships WHERE tenant_id = $1 AND active AND role IN ('admin', 'marketing', 'manager')`, sw.tenant.ID)
	if err != nil {
		return fmt.Errorf("find period recipients: %w", err)
	}
	to, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("scan period recipients: %w", err)
	}
	key := fmt.Sprintf("period:%s:%s", p.Clause.ID, p.From.Format(time.DateOnly))
	sw.notify(to, Notification{Kind: "period." + string(r.Status), Title: title, Body: body, Link: "/agreement", DedupeKey: key})
	if r.Status != sla.PeriodMissed {
		return nil
	}
	return sw.event(webhook.PeriodMissed, key, map[string]any{
		"clause_id": p.Clause.ID, "kind": p.Clause.Kind, "side": p.Clause.Side, "agreement_version": p.Version,
		"period": string(p.Clause.Period), "from": p.From.Format(time.DateOnly), "to": p.To.Format(time.DateOnly),
		"target": r.Target, "actual": r.Actual, "handoffs": m.Handoffs,
		"agreement_url": strings.TrimRight(sw.opts.BaseURL, "/") + "/agreement",
	}, title+" "+body)
}
