package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/webhook"
)

// SweepOptions says how the worker notifies.
type SweepOptions struct {
	// Email queues an e-mail beside each in-app notification.
	Email bool
	// BaseURL makes links in e-mails and webhooks absolute.
	BaseURL string
	// StaleAfter: escalation steps and warnings older than this when found
	// (history imported long after the fact, a worker down for days) are
	// recorded without notifying anyone.
	StaleAfter time.Duration
}

// SweepResult counts what one sweep did.
type SweepResult struct {
	Claimed       int
	AtRisk        int
	Breached      int
	Escalations   int
	Notifications int
}

// dueTimer is a timer the worker claimed.
type dueTimer struct {
	tenantID       tenant.ID
	id             uuid.UUID
	leadID         uuid.UUID
	kind           sla.Kind
	side           string
	clauseID       uuid.UUID
	version        int
	status         sla.Status
	dueAt, warnAt  time.Time
	stoppedAt      *time.Time
	breachedAt     *time.Time
	holderID       *uuid.UUID
	teamID         *uuid.UUID
	escalations    []time.Time
	level          int
	atRiskNotified bool
}

// SweepDueTimers does the breach worker's work for timers due by now, at
// most limit: flips timers to at risk and breached, records exactly one
// breach per timer (breached at its due time, detected now), fires each due
// escalation step once, and queues the notifications, e-mails and webhooks
// they cause — all in one transaction, claimed with FOR UPDATE SKIP LOCKED
// so any number of workers share the work and a killed one loses nothing.
// Its cost is proportional to the timers due, never to all open timers.
func (s *Store) SweepDueTimers(ctx context.Context, now time.Time, limit int, opts SweepOptions) (SweepResult, error) {
	var res SweepResult
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: "BEGIN; SELECT set_config('accord.worker', 'on', true)"})
	if err != nil {
		return res, fmt.Errorf("begin sweep: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, `
		SELECT tenant_id, id, lead_id, kind, side, clause_id, agreement_version, status, due_at, warn_at, stopped_at,
		       breached_at, holder_id, team_id, escalations, escalation_level, at_risk_notified
		FROM sla_timers
		WHERE next_check_at <= $1
		ORDER BY next_check_at
		LIMIT $2
		FOR UPDATE SKIP LOCKED`, now, limit)
	if err != nil {
		return res, fmt.Errorf("claim due timers: %w", err)
	}
	due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dueTimer, error) {
		var d dueTimer
		var kind, status string
		var esc []byte
		err := r.Scan(&d.tenantID, &d.id, &d.leadID, &kind, &d.side, &d.clauseID, &d.version, &status, &d.dueAt, &d.warnAt,
			&d.stoppedAt, &d.breachedAt, &d.holderID, &d.teamID, &esc, &d.level, &d.atRiskNotified)
		if err != nil {
			return d, err
		}
		d.kind, d.status = sla.Kind(kind), sla.Status(status)
		return d, json.Unmarshal(esc, &d.escalations)
	})
	if err != nil {
		return res, fmt.Errorf("read due timers: %w", err)
	}
	res.Claimed = len(due)
	// The claim is done; the rest acts tenant by tenant under that tenant's
	// row-level security.
	if _, err := tx.Exec(ctx, `SELECT set_config('accord.worker', '', true)`); err != nil {
		return res, fmt.Errorf("leave worker scope: %w", err)
	}
	sw := &sweeper{s: s, tx: tx, now: now, opts: opts, res: &res, agreements: map[string]sla.Agreement{}}
	current := tenant.ID{}
	for _, d := range due {
		if d.tenantID != current {
			if err := sw.enterTenant(ctx, d.tenantID); err != nil {
				return res, err
			}
			current = d.tenantID
		}
		if err := sw.process(ctx, d); err != nil {
			return res, fmt.Errorf("timer %s: %w", d.id, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("commit sweep: %w", mapErr(err))
	}
	return res, nil
}

// NextTimerCheck returns the earliest instant a timer needs the worker, so
// it can sleep until then; false when no timer needs it.
func (s *Store) NextTimerCheck(ctx context.Context) (time.Time, bool, error) {
	var next *time.Time
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('accord.worker', 'on', true)`)
	b.Queue(`SELECT min(next_check_at) FROM sla_timers WHERE next_check_at IS NOT NULL`)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return time.Time{}, false, fmt.Errorf("worker scope: %w", err)
	}
	if err := br.QueryRow().Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("next timer check: %w", err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return *next, true, br.Close()
}

// sweeper carries one sweep's transaction and per-tenant reference data.
type sweeper struct {
	s          *Store
	tx         pgx.Tx
	now        time.Time
	opts       SweepOptions
	res        *SweepResult
	tenant     tenant.Tenant
	agreements map[string]sla.Agreement // "tenant/version"
	endpoints  []endpointRow
}

type endpointRow struct {
	id     uuid.UUID
	events []string
}

func (sw *sweeper) enterTenant(ctx context.Context, tid tenant.ID) error {
	if _, err := sw.tx.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, true)`, tid.String()); err != nil {
		return fmt.Errorf("enter tenant: %w", err)
	}
	t, err := scanTenant(sw.tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, tid))
	if err != nil {
		return fmt.Errorf("find tenant: %w", err)
	}
	sw.tenant = t
	sw.endpoints, err = findEndpoints(ctx, sw.tx, tid)
	return err
}

func (sw *sweeper) agreement(ctx context.Context, tid tenant.ID, version int) (sla.Agreement, error) {
	key := tid.String() + "/" + fmt.Sprint(version)
	if a, ok := sw.agreements[key]; ok {
		return a, nil
	}
	a, err := scanAgreement(sw.tx.QueryRow(ctx, agreementSelect+` WHERE tenant_id = $1 AND version = $2`, tid, version))
	if err != nil {
		return sla.Agreement{}, fmt.Errorf("agreement version %d: %w", version, mapErr(err))
	}
	sw.agreements[key] = a
	return a, nil
}

// process moves one claimed timer on: at risk, breached, escalated.
func (sw *sweeper) process(ctx context.Context, d dueTimer) error {
	now := sw.now
	fresh := func(at time.Time) bool { return sw.opts.StaleAfter <= 0 || now.Sub(at) <= sw.opts.StaleAfter }
	ag, err := sw.agreement(ctx, d.tenantID, d.version)
	if err != nil {
		return err
	}
	c, _ := ag.Clause(d.clauseID)
	if d.status.Open() && !d.dueAt.After(now) {
		d.status, d.breachedAt = sla.StatusBreached, &d.dueAt
		tag, err := sw.tx.Exec(ctx, `
			INSERT INTO sla_breaches (tenant_id, id, timer_id, lead_id, kind, side, clause_id, holder_id, team_id, due_at, breached_at, detected_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)
			ON CONFLICT (tenant_id, timer_id) DO NOTHING`,
			d.tenantID, uuid.New(), d.id, d.leadID, string(d.kind), d.side, d.clauseID, d.holderID, d.teamID, d.dueAt, now)
		if err != nil {
			return fmt.Errorf("record breach: %w", err)
		}
		if tag.RowsAffected() > 0 {
			sw.res.Breached++
		}
	}
	if d.status.Open() && !d.atRiskNotified && !d.warnAt.After(now) {
		d.status, d.atRiskNotified = sla.StatusAtRisk, true
		sw.res.AtRisk++
		if fresh(d.warnAt) && d.holderID != nil {
			name, err := sw.leadName(ctx, d.leadID)
			if err != nil {
				return err
			}
			left := d.dueAt.Sub(now).Round(time.Minute)
			if err := sw.notify(ctx, []uuid.UUID{*d.holderID}, Notification{Kind: "timer.at_risk",
				Title: fmt.Sprintf("At risk: %s — %s due in %s", name, kindLabel(d.kind), left),
				Body:  c.Describe(), Link: "/leads/" + d.leadID.String(), DedupeKey: "at_risk:" + d.id.String()}); err != nil {
				return err
			}
			if err := sw.webhook(ctx, webhook.TimerAtRisk, d, fmt.Sprintf("At risk: %s for %s is due %s", kindLabel(d.kind), name, d.dueAt.UTC().Format(time.RFC3339))); err != nil {
				return err
			}
		}
	}
	if d.status == sla.StatusBreached {
		for d.level < len(d.escalations) && !d.escalations[d.level].After(now) {
			step := d.level
			if step > 0 && d.stoppedAt != nil {
				break // dealt with: the ladder stops after the breach notice
			}
			tag, err := sw.tx.Exec(ctx, `INSERT INTO sla_escalations (tenant_id, timer_id, step, fired_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
				d.tenantID, d.id, step, now)
			if err != nil {
				return fmt.Errorf("record escalation: %w", err)
			}
			d.level++
			if tag.RowsAffected() == 0 || !fresh(d.escalations[step]) || step >= len(c.Escalation) {
				continue
			}
			sw.res.Escalations++
			if err := sw.escalate(ctx, d, c, c.Escalation[step], step); err != nil {
				return err
			}
		}
		if _, err := sw.tx.Exec(ctx, `UPDATE sla_breaches SET escalation_level = $3 WHERE tenant_id = $1 AND timer_id = $2`,
			d.tenantID, d.id, d.level); err != nil {
			return fmt.Errorf("update breach: %w", err)
		}
	}
	var next *time.Time
	switch {
	case d.status.Open() && !d.atRiskNotified && d.warnAt.Before(d.dueAt):
		next = &d.warnAt
	case d.status.Open():
		next = &d.dueAt
	case d.status == sla.StatusBreached && d.stoppedAt == nil && d.level < len(d.escalations):
		next = &d.escalations[d.level]
	}
	if _, err := sw.tx.Exec(ctx, `
		UPDATE sla_timers SET status = $3, breached_at = $4, at_risk_notified = $5, escalation_level = $6, next_check_at = $7, updated_at = $8
		WHERE tenant_id = $1 AND id = $2`,
		d.tenantID, d.id, string(d.status), d.breachedAt, d.atRiskNotified, d.level, next, now); err != nil {
		return fmt.Errorf("update timer: %w", err)
	}
	return nil
}

func kindLabel(k sla.Kind) string {
	switch k {
	case sla.KindRespond:
		return "response"
	case sla.KindFirstTouch:
		return "first touch"
	case sla.KindAttempts:
		return "contact attempts"
	case sla.KindRecycle:
		return "recycling"
	}
	return string(k)
}

func (sw *sweeper) leadName(ctx context.Context, id uuid.UUID) (string, error) {
	l, err := findLead(ctx, sw.tx, sw.tenant.ID, id, false)
	if err != nil {
		return "", err
	}
	return l.Name(), nil
}

// escalate fires one ladder step: notify its recipients, send the breach
// webhooks, and reassign by routing when the step says so.
func (sw *sweeper) escalate(ctx context.Context, d dueTimer, c sla.Clause, st sla.Step, step int) error {
	name, err := sw.leadName(ctx, d.leadID)
	if err != nil {
		return err
	}
	recipients, err := sw.recipients(ctx, d, st.Notify)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("Breached: %s — %s", name, kindLabel(d.kind))
	event := webhook.BreachCreated
	if step > 0 {
		title = fmt.Sprintf("Still unresolved: %s — %s (escalation %d)", name, kindLabel(d.kind), step)
		event = webhook.BreachEscalated
	}
	if err := sw.notify(ctx, recipients, Notification{Kind: event, Title: title, Body: c.Describe(),
		Link: "/leads/" + d.leadID.String(), DedupeKey: fmt.Sprintf("breach:%s:%d", d.id, step)}); err != nil {
		return err
	}
	if err := sw.webhook(ctx, event, d, title); err != nil {
		return err
	}
	if st.Reassign {
		l, err := findLead(ctx, sw.tx, sw.tenant.ID, d.leadID, false)
		if err != nil {
			return err
		}
		a, err := sw.s.handoffOwner(ctx, sw.tx, sw.tenant.ID, l, nil)
		if err != nil {
			return err
		}
		if a.owner != nil && (l.OwnerID == nil || *a.owner != *l.OwnerID) {
			if _, err := sw.tx.Exec(ctx, `UPDATE leads SET owner_id = $3, team_id = $4, updated_at = $5, version = version + 1 WHERE tenant_id = $1 AND id = $2`,
				sw.tenant.ID, l.ID, a.owner, a.team, sw.now); err != nil {
				return fmt.Errorf("reassign on escalation: %w", err)
			}
			a.why = "escalation of a breached " + kindLabel(d.kind) + ": " + a.why
			if err := sw.s.recordAssignment(ctx, sw.tx, sw.tenant.ID, l, a, sw.now, sw.now, auth.Actor{Type: auth.ActorSystem, Name: "Escalation"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// recipients resolves a ladder step's notify list to members.
func (sw *sweeper) recipients(ctx context.Context, d dueTimer, notify []string) ([]uuid.UUID, error) {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	add := func(id *uuid.UUID) {
		if id != nil && !seen[*id] {
			seen[*id] = true
			out = append(out, *id)
		}
	}
	for _, n := range notify {
		switch {
		case n == "holder":
			add(d.holderID)
		case n == "manager":
			var mgr *uuid.UUID
			err := sw.tx.QueryRow(ctx, `
				SELECT coalesce(
				  (SELECT manager_id FROM memberships WHERE tenant_id = $1 AND user_id = $2),
				  (SELECT manager_id FROM teams WHERE tenant_id = $1 AND id = $3))`,
				sw.tenant.ID, nullIfNil(d.holderID), nullIfNil(d.teamID)).Scan(&mgr)
			if err != nil {
				return nil, fmt.Errorf("find manager: %w", err)
			}
			add(mgr)
		case strings.HasPrefix(n, "role:"):
			rows, err := sw.tx.Query(ctx, `SELECT user_id FROM memberships WHERE tenant_id = $1 AND role = $2 AND active`,
				sw.tenant.ID, strings.TrimPrefix(n, "role:"))
			if err != nil {
				return nil, fmt.Errorf("find role: %w", err)
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
			if err != nil {
				return nil, fmt.Errorf("scan role: %w", err)
			}
			for i := range ids {
				add(&ids[i])
			}
		case strings.HasPrefix(n, "user:"):
			if id, err := uuid.Parse(strings.TrimPrefix(n, "user:")); err == nil {
				var ok bool
				if err := sw.tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM memberships WHERE tenant_id = $1 AND user_id = $2 AND active)`,
					sw.tenant.ID, id).Scan(&ok); err != nil {
					return nil, fmt.Errorf("find user: %w", err)
				}
				if ok {
					add(&id)
				}
			}
		}
	}
	return out, nil
}

// notify writes in-app notifications (once per dedupe key) and, when e-mail
// is on, queues one e-mail per recipient.
func (sw *sweeper) notify(ctx context.Context, to []uuid.UUID, n Notification) error {
	for _, uid := range to {
		n.UserID = uid
		var id int64
		err := sw.tx.QueryRow(ctx, `
			INSERT INTO notifications (tenant_id, user_id, kind, title, body, link, dedupe_key, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT DO NOTHING RETURNING id`,
			sw.tenant.ID, uid, n.Kind, n.Title, n.Body, n.Link, n.DedupeKey, sw.now).Scan(&id)
		if err == pgx.ErrNoRows {
			continue // notified already
		}
		if err != nil {
			return fmt.Errorf("insert notification: %w", err)
		}
		sw.res.Notifications++
		if !sw.opts.Email {
			continue
		}
		var email, name string
		if err := sw.tx.QueryRow(ctx, `SELECT email, name FROM users WHERE id = $1`, uid).Scan(&email, &name); err != nil {
			return fmt.Errorf("find recipient: %w", err)
		}
		link := strings.TrimRight(sw.opts.BaseURL, "/") + n.Link
		msg := mail.Message{To: email, Subject: n.Title,
			Text: fmt.Sprintf("Hello %s,\n\n%s\n%s\n\nOpen it in Accord: %s\n\n— Accord, %s\n", name, n.Title, n.Body, link, sw.tenant.Name)}
		if _, err := sw.s.jobs.InsertTx(ctx, sw.tx, mail.SendArgs{TenantID: sw.tenant.ID.String(), Message: msg}, nil); err != nil {
			return fmt.Errorf("queue e-mail: %w", err)
		}
	}
	return nil
}

// webhook queues the deliveries of a timer event.
func (sw *sweeper) webhook(ctx context.Context, eventType string, d dueTimer, text string) error {
	return sw.event(ctx, eventType, fmt.Sprintf("%s/%d", d.id, d.level), map[string]any{
		"timer_id": d.id, "lead_id": d.leadID, "kind": d.kind, "side": d.side, "clause_id": d.clauseID,
		"holder_id": d.holderID, "team_id": d.teamID, "due_at": d.dueAt, "breached_at": d.breachedAt,
		"escalation_level": d.level, "lead_url": strings.TrimRight(sw.opts.BaseURL, "/") + "/leads/" + d.leadID.String(),
	}, text)
}

// event queues one delivery job per endpoint subscribed to eventType. key
// names the occurrence: its event id is derived from it, so a retried or
// repeated sweep sends the same id and receivers can drop duplicates.
func (sw *sweeper) event(ctx context.Context, eventType, key string, data map[string]any, text string) error {
	return queueEvent(ctx, sw.s, sw.tx, sw.tenant, sw.endpoints, eventType, key, data, text, sw.now)
}

// queueEvent queues the deliveries of one event to the endpoints subscribed
// to it, in the caller's transaction.
func queueEvent(ctx context.Context, s *Store, tx pgx.Tx, t tenant.Tenant, endpoints []endpointRow, eventType, key string,
	data map[string]any, text string, now time.Time) error {
	var subscribed []endpointRow
	for _, e := range endpoints {
		for _, et := range e.events {
			if et == eventType {
				subscribed = append(subscribed, e)
				break
			}
		}
	}
	if len(subscribed) == 0 {
		return nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode webhook data: %w", err)
	}
	ev := webhook.Event{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(eventType+"/"+key)).String(),
		Type: eventType, CreatedAt: now, Tenant: t.Slug, Data: raw}
	for _, e := range subscribed {
		if _, err := s.jobs.InsertTx(ctx, tx, webhook.DeliverArgs{TenantID: t.ID.String(), EndpointID: e.id.String(),
			Event: ev, Text: text}, &river.InsertOpts{MaxAttempts: webhook.MaxAttempts}); err != nil {
			return fmt.Errorf("queue webhook: %w", err)
		}
	}
	return nil
}

// findEndpoints returns the active webhook endpoints of the tenant in scope.
func findEndpoints(ctx context.Context, tx pgx.Tx, tid tenant.ID) ([]endpointRow, error) {
	rows, err := tx.Query(ctx, `SELECT id, events FROM webhook_endpoints WHERE tenant_id = $1 AND active`, tid)
	if err != nil {
		return nil, fmt.Errorf("webhook endpoints: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (endpointRow, error) {
		var e endpointRow
		return e, r.Scan(&e.id, &e.events)
	})
	if err != nil {
		return nil, fmt.Errorf("scan webhook endpoints: %w", err)
	}
	return out, nil
}
