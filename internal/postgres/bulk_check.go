package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/tenant"
)

// HistoryCheck is what CheckLeadHistories found in a tenant's leads: the
// funnel invariants bulk loads promise (DESIGN.md §2–3), and the shape of
// the history.
type HistoryCheck struct {
	Leads, Transitions, Activities, Assignments int
	// Problems counts the rows breaking each invariant; only broken
	// invariants are listed.
	Problems map[string]int
	// Stages counts leads by current stage, Campaigns by campaign.
	Stages, Campaigns map[string]int
	// RejectionRate is, per campaign, the share of rejections among the
	// decisions on its handoffs (accepted or rejected).
	RejectionRate map[string]float64
	// MedianRespond and MedianFirstTouch are, per owner, the median time
	// from a handoff to the owner's decision and to the first touch.
	MedianRespond, MedianFirstTouch map[uuid.UUID]time.Duration
}

// historyInvariants are the checks of CheckLeadHistories, each a query
// counting the rows that break it: @tenant, as of @now, with the allowed
// moves as @allowed_from/@allowed_to and those that need a reason as
// @reason_from/@reason_to.
var historyInvariants = []struct{ name, query string }{
	{"lead without a creation transition (seq 1, none → new, at created_at)", `
		SELECT count(*) FROM leads l WHERE l.tenant_id = @tenant AND NOT EXISTS (
			SELECT FROM lead_transitions t WHERE t.tenant_id = @tenant AND t.lead_id = l.id AND t.seq = 1
			  AND t.from_stage IS NULL AND t.to_stage = 'new' AND t.at = l.created_at)`},
	{"seq not gapless from 1", `
		SELECT count(*) FROM (
			SELECT lead_id FROM lead_transitions WHERE tenant_id = @tenant
			GROUP BY lead_id HAVING min(seq) <> 1 OR max(seq) <> count(*)) x`},
	{"stage, stage_changed_at or owner not the latest transition's", `
		SELECT count(*) FROM leads l
		JOIN LATERAL (SELECT * FROM lead_transitions t WHERE t.tenant_id = @tenant AND t.lead_id = l.id ORDER BY seq DESC LIMIT 1) t ON true
		WHERE l.tenant_id = @tenant AND (l.stage <> t.to_stage OR l.stage_changed_at <> t.at
		      OR l.owner_id IS DISTINCT FROM t.owner_id OR l.team_id IS DISTINCT FROM t.team_id)`},
	{"transition not from the previous stage, not later than it, or not an allowed move", `
		SELECT count(*) FROM (
			SELECT from_stage, to_stage, at,
			       lag(to_stage) OVER w AS prev_stage, lag(at) OVER w AS prev_at, seq
			FROM lead_transitions WHERE tenant_id = @tenant
			WINDOW w AS (PARTITION BY lead_id ORDER BY seq)) x
		WHERE seq > 1 AND (from_stage IS DISTINCT FROM prev_stage OR at <= prev_at
		      OR NOT EXISTS (SELECT FROM unnest(@allowed_from::text[], @allowed_to::text[]) m (f, t) WHERE m.f = x.from_stage AND m.t = x.to_stage))`},
	{"transition or activity not in the past", `
		SELECT (SELECT count(*) FROM lead_transitions WHERE tenant_id = @tenant AND at >= @now)
		     + (SELECT count(*) FROM lead_activities WHERE tenant_id = @tenant AND at >= @now)`},
	{"reason missing where required, or not one of the tenant's", `
		SELECT count(*) FROM lead_transitions t WHERE t.tenant_id = @tenant AND (
			(t.reason IS NULL AND EXISTS (SELECT FROM unnest(@reason_from::text[], @reason_to::text[]) m (f, s) WHERE m.f = t.from_stage AND m.s = t.to_stage))
			OR (t.reason IS NOT NULL AND NOT EXISTS (SELECT FROM rejection_reasons r WHERE r.tenant_id = @tenant AND r.code = t.reason)))`},
	{"opportunity without an amount", `
		SELECT (SELECT count(*) FROM lead_transitions WHERE tenant_id = @tenant AND to_stage = 'opportunity' AND coalesce(amount_cents, 0) <= 0)
		     + (SELECT count(*) FROM leads WHERE tenant_id = @tenant AND stage IN ('opportunity', 'won') AND coalesce(amount_cents, 0) <= 0)`},
	{"handoff without its assignment", `
		SELECT count(*) FROM lead_transitions t WHERE t.tenant_id = @tenant AND t.to_stage = 'mql' AND NOT EXISTS (
			SELECT FROM lead_assignments a WHERE a.tenant_id = @tenant AND a.lead_id = t.lead_id AND a.at = t.at
			  AND a.owner_id IS NOT DISTINCT FROM t.owner_id)`},
	{"activity before its lead was created", `
		SELECT count(*) FROM lead_activities a JOIN leads l ON l.tenant_id = a.tenant_id AND l.id = a.lead_id
		WHERE a.tenant_id = @tenant AND a.at < l.created_at`},
	{"lead updated before its latest event", `
		SELECT count(*) FROM leads l WHERE l.tenant_id = @tenant AND (
			l.updated_at < l.stage_changed_at
			OR l.updated_at < (SELECT max(at) FROM lead_activities a WHERE a.tenant_id = @tenant AND a.lead_id = l.id))`},
}

// CheckLeadHistories checks every lead of tenant tid against the funnel's
// invariants (as of now) and describes the history's shape. It reads every
// row: for tests and verification of seeds, not for requests.
func (s *Store) CheckLeadHistories(ctx context.Context, tid tenant.ID, now time.Time) (HistoryCheck, error) {
	var allowedFrom, allowedTo, reasonFrom, reasonTo []string
	api := lead.Mover{API: true}
	for _, from := range lead.Stages {
		for _, to := range lead.Targets(from) {
			allowedFrom, allowedTo = append(allowedFrom, string(from)), append(allowedTo, string(to))
			if needsReason, _, _ := lead.CheckMove(from, to, api); needsReason {
				reasonFrom, reasonTo = append(reasonFrom, string(from)), append(reasonTo, string(to))
			}
		}
	}
	c := HistoryCheck{Problems: map[string]int{}, Stages: map[string]int{}, Campaigns: map[string]int{},
		RejectionRate: map[string]float64{}, MedianRespond: map[uuid.UUID]time.Duration{}, MedianFirstTouch: map[uuid.UUID]time.Duration{}}
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
			SELECT (SELECT count(*) FROM leads WHERE tenant_id = $1), (SELECT count(*) FROM lead_transitions WHERE tenant_id = $1),
			       (SELECT count(*) FROM lead_activities WHERE tenant_id = $1), (SELECT count(*) FROM lead_assignments WHERE tenant_id = $1)`,
			tid).Scan(&c.Leads, &c.Transitions, &c.Activities, &c.Assignments); err != nil {
			return fmt.Errorf("count history: %w", err)
		}
		args := pgx.NamedArgs{"tenant": tid, "now": now, "allowed_from": allowedFrom, "allowed_to": allowedTo,
			"reason_from": reasonFrom, "reason_to": reasonTo}
		for _, inv := range historyInvariants {
			var n int
			if err := tx.QueryRow(ctx, inv.query, args).Scan(&n); err != nil {
				return fmt.Errorf("check %q: %w", inv.name, err)
			}
			if n > 0 {
				c.Problems[inv.name] = n
			}
		}
		if err := collectCounts(ctx, tx, `SELECT stage, count(*) FROM leads WHERE tenant_id = $1 GROUP BY 1`, tid, c.Stages); err != nil {
			return err
		}
		if err := collectCounts(ctx, tx, `SELECT campaign, count(*) FROM leads WHERE tenant_id = $1 GROUP BY 1`, tid, c.Campaigns); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT l.campaign, avg((t.to_stage = 'rejected')::int)::float8
			FROM lead_transitions t JOIN leads l ON l.tenant_id = t.tenant_id AND l.id = t.lead_id
			WHERE t.tenant_id = $1 AND t.from_stage = 'mql' GROUP BY 1`, tid)
		if err != nil {
			return fmt.Errorf("rejection rates: %w", err)
		}
		var campaign string
		var rate float64
		if _, err := pgx.ForEachRow(rows, []any{&campaign, &rate}, func() error {
			c.RejectionRate[campaign] = rate
			return nil
		}); err != nil {
			return fmt.Errorf("rejection rates: %w", err)
		}
		// Per handoff: the owner's decision (the next transition) and the
		// first touch before the next handoff (DESIGN.md §5, speed to lead).
		rows, err = tx.Query(ctx, `
			WITH h AS (
				SELECT lead_id, seq, at, owner_id,
				       lead(at) OVER (PARTITION BY lead_id ORDER BY seq) AS next_handoff
				FROM lead_transitions WHERE tenant_id = $1 AND to_stage = 'mql')
			SELECT h.owner_id,
			       extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY d.at - h.at))::float8,
			       extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY ft.at - h.at))::float8
			FROM h
			LEFT JOIN lead_transitions d ON d.tenant_id = $1 AND d.lead_id = h.lead_id AND d.seq = h.seq + 1
			LEFT JOIN LATERAL (
				SELECT min(a.at) AS at FROM lead_activities a
				WHERE a.tenant_id = $1 AND a.lead_id = h.lead_id AND a.kind IN ('call', 'email', 'meeting', 'linkedin')
				  AND a.at >= h.at AND (h.next_handoff IS NULL OR a.at < h.next_handoff)) ft ON true
			WHERE h.owner_id IS NOT NULL
			GROUP BY h.owner_id`, tid)
		if err != nil {
			return fmt.Errorf("response times: %w", err)
		}
		var owner uuid.UUID
		var respond, touch *float64
		_, err = pgx.ForEachRow(rows, []any{&owner, &respond, &touch}, func() error {
			if respond != nil {
				c.MedianRespond[owner] = time.Duration(*respond * float64(time.Second))
			}
			if touch != nil {
				c.MedianFirstTouch[owner] = time.Duration(*touch * float64(time.Second))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("response times: %w", err)
		}
		return nil
	})
	return c, err
}

func collectCounts(ctx context.Context, tx pgx.Tx, q string, tid tenant.ID, into map[string]int) error {
	rows, err := tx.Query(ctx, q, tid)
	if err != nil {
		return fmt.Errorf("count history: %w", err)
	}
	var k string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&k, &n}, func() error {
		into[k] = n
		return nil
	})
	if err != nil {
		return fmt.Errorf("count history: %w", err)
	}
	return nil
}
