package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
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
	// One tenant's timers form one batch under its row-level security.
	slices.SortStableFunc(due, func(a, b dueTimer) int { return bytes.Compare(a.tenantID[:], b.tenantID[:]) })
	// The claim is done; the rest acts tenant by tenant under that tenant's
	// row-level security.
	if _, err := tx.Exec(ctx, `SELECT set_config('accord.worker', '', true)`); err != nil {
		return res, fmt.Errorf("leave worker scope: %w", err)
	}
	sw := &sweeper{s: s, tx: tx, now: now, opts: opts, res: &res, agreements: map[string]sla.Agreement{}}
	for len(due) > 0 {
		n := 1
		for n < len(due) && due[n].tenantID == due[0].tenantID {
			n++
		}
		if err := sw.enterTenant(ctx, due[0].tenantID); err != nil {
			return res, err
		}
		if err := sw.processBatch(ctx, due[:n]); err != nil {
			return res, err
		}
		due = due[n:]
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
	// Written by flush: notifications and jobs queued meanwhile.
	notes []Notification
	jobs  []river.InsertManyParams
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

// step is one escalation step of a timer fired by this sweep.
type firedStep struct {
	d    *dueTimer
	c    sla.Clause
	step int
}

// processBatch moves one tenant's claimed timers on — at risk, breached,
// escalated — in a fixed number of statements however many there are:
// decisions are made in Go, then written with one statement per table.
func (sw *sweeper) processBatch(ctx context.Context, ds []dueTimer) error {
	now := sw.now
	fresh := func(at time.Time) bool { return sw.opts.StaleAfter <= 0 || now.Sub(at) <= sw.opts.StaleAfter }
	clauses := make([]sla.Clause, len(ds))
	var breaches, escalations []map[string]any
	var atRisk []*dueTimer
	candidates := map[string]firedStep{} // "timer/step" → step to fire if its row is new
	for i := range ds {
		d := &ds[i]
		ag, err := sw.agreement(ctx, d.tenantID, d.version)
		if err != nil {
			return err
		}
		c, _ := ag.Clause(d.clauseID)
		clauses[i] = c
		if d.status.Open() && !d.dueAt.After(now) {
			d.status, d.breachedAt = sla.StatusBreached, &d.dueAt
			breaches = append(breaches, map[string]any{"id": uuid.New(), "timer_id": d.id, "lead_id": d.leadID, "kind": d.kind,
				"side": d.side, "clause_id": d.clauseID, "holder_id": d.holderID, "team_id": d.teamID, "due_at": d.dueAt})
		}
		if d.status.Open() && !d.atRiskNotified && !d.warnAt.After(now) {
			d.status, d.atRiskNotified = sla.StatusAtRisk, true
			sw.res.AtRisk++
			if fresh(d.warnAt) && d.holderID != nil {
				atRisk = append(atRisk, d)
			}
		}
		if d.status == sla.StatusBreached {
			for d.level < len(d.escalations) && !d.escalations[d.level].After(now) {
				step := d.level
				if step > 0 && d.stoppedAt != nil {
					break // dealt with: the ladder stops after the breach notice
				}
				escalations = append(escalations, map[string]any{"timer_id": d.id, "step": step})
				if fresh(d.escalations[step]) && step < len(c.Escalation) {
					candidates[fmt.Sprintf("%s/%d", d.id, step)] = firedStep{d: d, c: c, step: step}
				}
				d.level++
			}
		}
	}
	if len(breaches) > 0 {
		raw, err := json.Marshal(breaches)
		if err != nil {
			return fmt.Errorf("encode breaches: %w", err)
		}
		tag, err := sw.tx.Exec(ctx, `
			INSERT INTO sla_breaches (tenant_id, id, timer_id, lead_id, kind, side, clause_id, holder_id, team_id, due_at, breached_at, detected_at)
			SELECT $1, b.id, b.timer_id, b.lead_id, b.kind, b.side, b.clause_id, b.holder_id, b.team_id, b.due_at, b.due_at, $3
			FROM jsonb_to_recordset($2) AS b(id uuid, timer_id uuid, lead_id uuid, kind text, side text, clause_id uuid,
			                                 holder_id uuid, team_id uuid, due_at timestamptz)
			ON CONFLICT (tenant_id, timer_id) DO NOTHING`, sw.tenant.ID, raw, now)
		if err != nil {
			return fmt.Errorf("record breaches: %w", err)
		}
		sw.res.Breached += int(tag.RowsAffected())
	}
	// Each ladder step fires once: only the rows this sweep inserts fire.
	var fired []firedStep
	if len(escalations) > 0 {
		raw, err := json.Marshal(escalations)
		if err != nil {
			return fmt.Errorf("encode escalations: %w", err)
		}
		rows, err := sw.tx.Query(ctx, `
			INSERT INTO sla_escalations (tenant_id, timer_id, step, fired_at)
			SELECT $1, e.timer_id, e.step, $3 FROM jsonb_to_recordset($2) AS e(timer_id uuid, step int)
			ON CONFLICT DO NOTHING
			RETURNING timer_id, step`, sw.tenant.ID, raw, now)
		if err != nil {
			return fmt.Errorf("record escalations: %w", err)
		}
		var id uuid.UUID
		var step int
		if _, err := pgx.ForEachRow(rows, []any{&id, &step}, func() error {
			if f, ok := candidates[fmt.Sprintf("%s/%d", id, step)]; ok {
				fired = append(fired, f)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("read escalations: %w", err)
		}
		sort.Slice(fired, func(i, j int) bool { return fired[i].step < fired[j].step })
	}
	sw.res.Escalations += len(fired)
	if len(atRisk) > 0 || len(fired) > 0 {
		if err := sw.announce(ctx, atRisk, fired); err != nil {
			return err
		}
	}
	for _, f := range fired {
		if f.c.Escalation[f.step].Reassign {
			if err := sw.reassign(ctx, f.d); err != nil {
				return err
			}
		}
	}
	return sw.writeTimers(ctx, ds)
}

// announce tells the people and endpoints concerned: the holder of each
// timer newly at risk, and the recipients of each fired ladder step.
func (sw *sweeper) announce(ctx context.Context, atRisk []*dueTimer, fired []firedStep) error {
	var leadIDs, holders, teams []uuid.UUID
	for _, d := range atRisk {
		leadIDs = append(leadIDs, d.leadID)
	}
	for _, f := range fired {
		leadIDs = append(leadIDs, f.d.leadID)
		if f.d.holderID != nil {
			holders = append(holders, *f.d.holderID)
		}
		if f.d.teamID != nil {
			teams = append(teams, *f.d.teamID)
		}
	}
	names := map[uuid.UUID]string{}
	rows, err := sw.tx.Query(ctx, `
		SELECT id, coalesce(nullif(trim(first_name || ' ' || last_name), ''), email, nullif(company, ''), 'Unnamed lead')
		FROM leads WHERE tenant_id = $1 AND id = ANY ($2)`, sw.tenant.ID, leadIDs)
	if err != nil {
		return fmt.Errorf("lead names: %w", err)
	}
	var id uuid.UUID
	var name string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = name; return nil }); err != nil {
		return fmt.Errorf("scan lead names: %w", err)
	}
	for _, d := range atRisk {
		c, _ := sw.clause(d)
		left := d.dueAt.Sub(sw.now).Round(time.Minute)
		sw.notify([]uuid.UUID{*d.holderID}, Notification{Kind: webhook.TimerAtRisk,
			Title: fmt.Sprintf("At risk: %s — %s due in %s", names[d.leadID], kindLabel(d.kind), left),
			Body:  c.Describe(), Link: "/leads/" + d.leadID.String(), DedupeKey: "at_risk:" + d.id.String()})
		if err := sw.webhook(webhook.TimerAtRisk, *d, d.level,
			fmt.Sprintf("At risk: %s for %s is due %s", kindLabel(d.kind), names[d.leadID], d.dueAt.UTC().Format(time.RFC3339))); err != nil {
			return err
		}
	}
	if len(fired) > 0 {
		dir, err := sw.directory(ctx, holders, teams)
		if err != nil {
			return err
		}
		for _, f := range fired {
			d := f.d
			title := fmt.Sprintf("Breached: %s — %s", names[d.leadID], kindLabel(d.kind))
			event := webhook.BreachCreated
			if f.step > 0 {
				title = fmt.Sprintf("Still unresolved: %s — %s (escalation %d)", names[d.leadID], kindLabel(d.kind), f.step)
				event = webhook.BreachEscalated
			}
			sw.notify(dir.recipients(d, f.c.Escalation[f.step].Notify), Notification{Kind: event, Title: title, Body: f.c.Describe(),
				Link: "/leads/" + d.leadID.String(), DedupeKey: fmt.Sprintf("breach:%s:%d", d.id, f.step)})
			if err := sw.webhook(event, *d, f.step+1, title); err != nil {
				return err
			}
		}
	}
	return sw.flush(ctx)
}

func (sw *sweeper) clause(d *dueTimer) (sla.Clause, bool) {
	a := sw.agreements[d.tenantID.String()+"/"+fmt.Sprint(d.version)]
	return a.Clause(d.clauseID)
}

// directory resolves ladder recipients for one batch: the managers of the
// holders and teams involved, and the active members by role.
type directory struct {
	memberManager map[uuid.UUID]*uuid.UUID
	teamManager   map[uuid.UUID]*uuid.UUID
	byRole        map[string][]uuid.UUID
	active        map[uuid.UUID]bool
}

func (sw *sweeper) directory(ctx context.Context, holders, teams []uuid.UUID) (*directory, error) {
	dir := &directory{memberManager: map[uuid.UUID]*uuid.UUID{}, teamManager: map[uuid.UUID]*uuid.UUID{}, byRole: map[string][]uuid.UUID{}, active: map[uuid.UUID]bool{}}
	rows, err := sw.tx.Query(ctx, `SELECT user_id, manager_id, role FROM memberships WHERE tenant_id = $1 AND active`, sw.tenant.ID)
	if err != nil {
		return nil, fmt.Errorf("find members: %w", err)
	}
	var uid uuid.UUID
	var mgr *uuid.UUID
	var role string
	if _, err := pgx.ForEachRow(rows, []any{&uid, &mgr, &role}, func() error {
		dir.active[uid] = true
		dir.byRole[role] = append(dir.byRole[role], uid)
		if mgr != nil {
			m := *mgr
			dir.memberManager[uid] = &m
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("scan members: %w", err)
	}
	rows, err = sw.tx.Query(ctx, `SELECT id, manager_id FROM teams WHERE tenant_id = $1 AND id = ANY ($2) AND manager_id IS NOT NULL`, sw.tenant.ID, teams)
	if err != nil {
		return nil, fmt.Errorf("find team managers: %w", err)
	}
	var tid uuid.UUID
	if _, err := pgx.ForEachRow(rows, []any{&tid, &mgr}, func() error {
		m := *mgr
		dir.teamManager[tid] = &m
		return nil
	}); err != nil {
		return nil, fmt.Errorf("scan team managers: %w", err)
	}
	return dir, nil
}

// recipients resolves a ladder step's notify list to active members:
// holder, manager (the holder's own, else their team's), role:<role>,
// user:<id>.
func (dir *directory) recipients(d *dueTimer, notify []string) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	add := func(id *uuid.UUID) {
		if id != nil && dir.active[*id] && !seen[*id] {
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
			if d.holderID != nil {
				mgr = dir.memberManager[*d.holderID]
			}
			if mgr == nil && d.teamID != nil {
				mgr = dir.teamManager[*d.teamID]
			}
			add(mgr)
		case strings.HasPrefix(n, "role:"):
			for _, id := range dir.byRole[strings.TrimPrefix(n, "role:")] {
				add(&id)
			}
		case strings.HasPrefix(n, "user:"):
			if id, err := uuid.Parse(strings.TrimPrefix(n, "user:")); err == nil {
				add(&id)
			}
		}
	}
	return out
}

// reassign hands a breached lead to the next rep by routing other than
// its holder (a ladder step with reassign).
func (sw *sweeper) reassign(ctx context.Context, d *dueTimer) error {
	l, err := findLead(ctx, sw.tx, sw.tenant.ID, d.leadID, false)
	if err != nil {
		return err
	}
	a, err := sw.s.routeOwner(ctx, sw.tx, sw.tenant.ID, l, nil, l.OwnerID)
	if err != nil {
		return err
	}
	if a.owner == nil || (l.OwnerID != nil && *a.owner == *l.OwnerID) {
		return nil
	}
	if _, err := sw.tx.Exec(ctx, `UPDATE leads SET owner_id = $3, team_id = $4, updated_at = $5, version = version + 1 WHERE tenant_id = $1 AND id = $2`,
		sw.tenant.ID, l.ID, a.owner, a.team, sw.now); err != nil {
		return fmt.Errorf("reassign on escalation: %w", err)
	}
	a.why = "escalation of a breached " + kindLabel(d.kind) + ": " + a.why
	return sw.s.recordAssignment(ctx, sw.tx, sw.tenant.ID, l, a, sw.now, sw.now, auth.Actor{Type: auth.ActorSystem, Name: "Escalation"})
}

// writeTimers stores the batch's new states and when the worker must look
// at each again, and the breaches' escalation levels: two statements.
func (sw *sweeper) writeTimers(ctx context.Context, ds []dueTimer) error {
	var timers, levels []map[string]any
	for i := range ds {
		d := &ds[i]
		var next *time.Time
		switch {
		case d.status.Open() && !d.atRiskNotified && d.warnAt.Before(d.dueAt):
			next = &d.warnAt
		case d.status.Open():
			next = &d.dueAt
		case d.status == sla.StatusBreached && d.stoppedAt == nil && d.level < len(d.escalations):
			next = &d.escalations[d.level]
		}
		timers = append(timers, map[string]any{"id": d.id, "status": d.status, "breached_at": d.breachedAt,
			"at_risk_notified": d.atRiskNotified, "level": d.level, "next": next})
		if d.status == sla.StatusBreached {
			levels = append(levels, map[string]any{"timer_id": d.id, "level": d.level})
		}
	}
	raw, err := json.Marshal(timers)
	if err != nil {
		return fmt.Errorf("encode timers: %w", err)
	}
	if _, err := sw.tx.Exec(ctx, `
		UPDATE sla_timers t SET status = u.status, breached_at = u.breached_at, at_risk_notified = u.at_risk_notified,
		       escalation_level = u.level, next_check_at = u.next, updated_at = $3
		FROM jsonb_to_recordset($2) AS u(id uuid, status text, breached_at timestamptz, at_risk_notified boolean, level int, next timestamptz)
		WHERE t.tenant_id = $1 AND t.id = u.id`, sw.tenant.ID, raw, sw.now); err != nil {
		return fmt.Errorf("update timers: %w", err)
	}
	if len(levels) == 0 {
		return nil
	}
	if raw, err = json.Marshal(levels); err != nil {
		return fmt.Errorf("encode breach levels: %w", err)
	}
	if _, err := sw.tx.Exec(ctx, `
		UPDATE sla_breaches b SET escalation_level = u.level
		FROM jsonb_to_recordset($2) AS u(timer_id uuid, level int)
		WHERE b.tenant_id = $1 AND b.timer_id = u.timer_id AND b.escalation_level <> u.level`, sw.tenant.ID, raw); err != nil {
		return fmt.Errorf("update breaches: %w", err)
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

// notify queues in-app notifications (once per dedupe key and recipient)
// for flush to write, with an e-mail each when e-mail is on.
func (sw *sweeper) notify(to []uuid.UUID, n Notification) {
	for _, uid := range to {
		n.UserID = uid
		sw.notes = append(sw.notes, n)
	}
}

// flush writes the queued notifications in one statement, queues an e-mail
// for each one that is new (a repeated sweep finds them written and sends
// nothing), and inserts the queued jobs in one COPY.
func (sw *sweeper) flush(ctx context.Context) error {
	if len(sw.notes) > 0 {
		type noteRow struct {
			UserID    uuid.UUID `json:"user_id"`
			Kind      string    `json:"kind"`
			Title     string    `json:"title"`
			Body      string    `json:"body"`
			Link      string    `json:"link"`
			DedupeKey string    `json:"dedupe_key"`
		}
		rowsIn := make([]noteRow, len(sw.notes))
		byKey := map[string]Notification{}
		for i, n := range sw.notes {
			rowsIn[i] = noteRow{n.UserID, n.Kind, n.Title, n.Body, n.Link, n.DedupeKey}
			byKey[n.UserID.String()+"/"+n.DedupeKey] = n
		}
		raw, err := json.Marshal(rowsIn)
		if err != nil {
			return fmt.Errorf("encode notifications: %w", err)
		}
		rows, err := sw.tx.Query(ctx, `
			INSERT INTO notifications (tenant_id, user_id, kind, title, body, link, dedupe_key, created_at)
			SELECT $1, n.user_id, n.kind, n.title, n.body, n.link, n.dedupe_key, $3
			FROM jsonb_to_recordset($2) AS n(user_id uuid, kind text, title text, body text, link text, dedupe_key text)
			ON CONFLICT DO NOTHING
			RETURNING user_id, dedupe_key`, sw.tenant.ID, raw, sw.now)
		if err != nil {
			return fmt.Errorf("insert notifications: %w", err)
		}
		var written []Notification
		var uid uuid.UUID
		var key string
		if _, err := pgx.ForEachRow(rows, []any{&uid, &key}, func() error {
			written = append(written, byKey[uid.String()+"/"+key])
			return nil
		}); err != nil {
			return fmt.Errorf("read notifications: %w", err)
		}
		sw.notes = sw.notes[:0]
		sw.res.Notifications += len(written)
		if sw.opts.Email && len(written) > 0 {
			if err := sw.queueEmails(ctx, written); err != nil {
				return err
			}
		}
	}
	if len(sw.jobs) > 0 {
		if _, err := sw.s.jobs.InsertManyFastTx(ctx, sw.tx, sw.jobs); err != nil {
			return fmt.Errorf("queue jobs: %w", err)
		}
		sw.jobs = sw.jobs[:0]
	}
	return nil
}

// queueEmails queues one e-mail per written notification, each with a
// Message-ID derived from the notification, so a resend after a crash is
// recognisably the same message.
func (sw *sweeper) queueEmails(ctx context.Context, ns []Notification) error {
	ids := make([]uuid.UUID, len(ns))
	for i, n := range ns {
		ids[i] = n.UserID
	}
	type person struct{ email, name string }
	people := map[uuid.UUID]person{}
	rows, err := sw.tx.Query(ctx, `SELECT id, email, name FROM users WHERE id = ANY ($1)`, ids)
	if err != nil {
		return fmt.Errorf("find recipients: %w", err)
	}
	var id uuid.UUID
	var p person
	if _, err := pgx.ForEachRow(rows, []any{&id, &p.email, &p.name}, func() error { people[id] = p; return nil }); err != nil {
		return fmt.Errorf("scan recipients: %w", err)
	}
	for _, n := range ns {
		who, ok := people[n.UserID]
		if !ok {
			continue
		}
		link := strings.TrimRight(sw.opts.BaseURL, "/") + n.Link
		msg := mail.Message{To: who.email, Subject: n.Title,
			MessageID: "accord-" + uuid.NewSHA1(uuid.NameSpaceOID, []byte(sw.tenant.ID.String()+"/"+n.UserID.String()+"/"+n.DedupeKey)).String(),
			Text:      fmt.Sprintf("Hello %s,\n\n%s\n%s\n\nOpen it in Accord: %s\n\n— Accord, %s\n", who.name, n.Title, n.Body, link, sw.tenant.Name)}
		sw.jobs = append(sw.jobs, river.InsertManyParams{Args: mail.SendArgs{TenantID: sw.tenant.ID.String(), Message: msg}})
	}
	return nil
}

// webhook queues the deliveries of a timer event; level names the
// occurrence (the ladder step it announces).
func (sw *sweeper) webhook(eventType string, d dueTimer, level int, text string) error {
	return sw.event(eventType, fmt.Sprintf("%s/%d", d.id, level), map[string]any{
		"timer_id": d.id, "lead_id": d.leadID, "kind": d.kind, "side": d.side, "clause_id": d.clauseID,
		"holder_id": d.holderID, "team_id": d.teamID, "due_at": d.dueAt, "breached_at": d.breachedAt,
		"escalation_level": level, "lead_url": strings.TrimRight(sw.opts.BaseURL, "/") + "/leads/" + d.leadID.String(),
	}, text)
}

// event queues, for flush, one delivery per endpoint subscribed to
// eventType. key names the occurrence: its event id is derived from it, so
// a retried or repeated sweep sends the same id and receivers can drop
// duplicates.
func (sw *sweeper) event(eventType, key string, data map[string]any, text string) error {
	jobs, err := deliveries(sw.tenant, sw.endpoints, eventType, key, data, text, sw.now)
	sw.jobs = append(sw.jobs, jobs...)
	return err
}

// queueEvent queues the deliveries of one event to the endpoints subscribed
// to it, in the caller's transaction.
func queueEvent(ctx context.Context, s *Store, tx pgx.Tx, t tenant.Tenant, endpoints []endpointRow, eventType, key string,
	data map[string]any, text string, now time.Time) error {
	jobs, err := deliveries(t, endpoints, eventType, key, data, text, now)
	if err != nil || len(jobs) == 0 {
		return err
	}
	if _, err := s.jobs.InsertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("queue webhook: %w", err)
	}
	return nil
}

// deliveries are the delivery jobs of one event: one per endpoint
// subscribed to it, all with the same event id.
func deliveries(t tenant.Tenant, endpoints []endpointRow, eventType, key string, data map[string]any, text string, now time.Time) ([]river.InsertManyParams, error) {
	var out []river.InsertManyParams
	var ev *webhook.Event
	for _, e := range endpoints {
		if !slices.Contains(e.events, eventType) {
			continue
		}
		if ev == nil {
			raw, err := json.Marshal(data)
			if err != nil {
				return nil, fmt.Errorf("encode webhook data: %w", err)
			}
			ev = &webhook.Event{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(eventType+"/"+key)).String(),
				Type: eventType, CreatedAt: now, Tenant: t.Slug, Data: raw}
		}
		out = append(out, river.InsertManyParams{Args: webhook.DeliverArgs{TenantID: t.ID.String(), EndpointID: e.id.String(), Event: *ev, Text: text},
			InsertOpts: &river.InsertOpts{MaxAttempts: webhook.MaxAttempts}})
	}
	return out, nil
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
