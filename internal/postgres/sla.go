package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// clauseJSON is how a clause is stored inside its agreement version: the
// API's field names, so a stored version reads like the API shows it.
type clauseJSON struct {
	ID              uuid.UUID  `json:"id"`
	Side            string     `json:"side"`
	Kind            string     `json:"kind"`
	Segment         *string    `json:"segment"`
	Source          *string    `json:"source"`
	CalendarID      *uuid.UUID `json:"calendar_id"`
	WarnAtPercent   int        `json:"warn_at_percent,omitempty"`
	PauseCapMinutes int        `json:"pause_cap_minutes,omitempty"`
	Escalation      []stepJSON `json:"escalation,omitempty"`
	TargetMinutes   int        `json:"target_minutes,omitempty"`
	Attempts        int        `json:"attempts,omitempty"`
	TargetCount     *int       `json:"target_count,omitempty"`
	TargetPercent   *float64   `json:"target_percent,omitempty"`
	TargetAmount    *int64     `json:"target_amount_cents,omitempty"`
	Period          string     `json:"period,omitempty"`
}

type stepJSON struct {
	AfterMinutes int      `json:"after_minutes"`
	Notify       []string `json:"notify"`
	Reassign     bool     `json:"reassign"`
}

func toClauseJSON(c sla.Clause) clauseJSON {
	j := clauseJSON{ID: c.ID, Side: string(c.Side), Kind: string(c.Kind), Segment: c.Scope.Segment, Source: c.Scope.Source,
		CalendarID: c.CalendarID, WarnAtPercent: c.WarnAtPercent, PauseCapMinutes: c.PauseCapMinutes,
		TargetMinutes: c.TargetMinutes, Attempts: c.Attempts, TargetCount: c.TargetCount, TargetPercent: c.TargetPercent,
		TargetAmount: c.TargetAmount, Period: string(c.Period)}
	for _, s := range c.Escalation {
		j.Escalation = append(j.Escalation, stepJSON{AfterMinutes: s.AfterMinutes, Notify: s.Notify, Reassign: s.Reassign})
	}
	return j
}

func (j clauseJSON) clause() sla.Clause {
	c := sla.Clause{ID: j.ID, Side: tenant.Side(j.Side), Kind: sla.Kind(j.Kind), Scope: sla.Scope{Segment: j.Segment, Source: j.Source},
		CalendarID: j.CalendarID, WarnAtPercent: j.WarnAtPercent, PauseCapMinutes: j.PauseCapMinutes,
		TargetMinutes: j.TargetMinutes, Attempts: j.Attempts, TargetCount: j.TargetCount, TargetPercent: j.TargetPercent,
		TargetAmount: j.TargetAmount, Period: sla.Period(j.Period)}
	for _, s := range j.Escalation {
		c.Escalation = append(c.Escalation, sla.Step{AfterMinutes: s.AfterMinutes, Notify: s.Notify, Reassign: s.Reassign})
	}
	if c.Escalation == nil && c.Kind.Lead() {
		c.Escalation = []sla.Step{}
	}
	return c
}

func scanAgreement(r pgx.Row) (sla.Agreement, error) {
	var a sla.Agreement
	var raw []byte
	if err := r.Scan(&a.Version, &a.EffectiveFrom, &a.Author, &raw); err != nil {
		return a, err
	}
	var cs []clauseJSON
	if err := json.Unmarshal(raw, &cs); err != nil {
		return a, fmt.Errorf("decode clauses of version %d: %w", a.Version, err)
	}
	for _, c := range cs {
		a.Clauses = append(a.Clauses, c.clause())
	}
	return a, nil
}

const agreementSelect = `SELECT version, effective_from, author_name, clauses FROM agreement_versions`

// findAgreement returns the version in force, or version 0 without
// clauses for a tenant that never saved one.
func findAgreement(ctx context.Context, tx pgx.Tx, tid tenant.ID) (sla.Agreement, error) {
	a, err := scanAgreement(tx.QueryRow(ctx, agreementSelect+` WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1`, tid))
	if errors.Is(err, pgx.ErrNoRows) {
		return sla.Agreement{Version: 0}, nil
	}
	if err != nil {
		return sla.Agreement{}, fmt.Errorf("find agreement: %w", err)
	}
	return a, nil
}

// FindAgreement returns tenant tid's agreement in force.
func (s *Store) FindAgreement(ctx context.Context, tid tenant.ID) (sla.Agreement, error) {
	var a sla.Agreement
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		a, err = findAgreement(ctx, tx, tid)
		return err
	})
	return a, err
}

// FindAgreementVersions returns every version of tenant tid's agreement,
// newest first, for the history with diffs.
func (s *Store) FindAgreementVersions(ctx context.Context, tid tenant.ID, limit int) ([]sla.Agreement, error) {
	var out []sla.Agreement
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, agreementSelect+` WHERE tenant_id = $1 ORDER BY version DESC LIMIT $2`, tid, limit)
		if err != nil {
			return fmt.Errorf("query agreement versions: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (sla.Agreement, error) { return scanAgreement(r) })
		return err
	})
	return out, err
}

// SaveAgreementInput is a proposed new version.
type SaveAgreementInput struct {
	BaseVersion    int
	Clauses        []sla.Clause
	ApplyToRunning bool
}

// SaveAgreement stores a new version of tenant tid's agreement, with its
// author and a diff in the audit log. A base version that is not the one in
// force is a conflict: someone saved meanwhile. With ApplyToRunning, the
// running timers are recomputed under the new version by a background job
// (enqueued in the same transaction).
func (s *Store) SaveAgreement(ctx context.Context, tid tenant.ID, actor auth.Actor, in SaveAgreementInput, now time.Time) (sla.Agreement, error) {
	var saved sla.Agreement
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		// Saves of one tenant take turns: the version check below must see
		// the version a concurrent save just wrote.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM tenant_settings WHERE tenant_id = $1 FOR UPDATE`, tid); err != nil {
			return fmt.Errorf("lock agreement: %w", err)
		}
		cur, err := findAgreement(ctx, tx, tid)
		if err != nil {
			return err
		}
		if in.BaseVersion != cur.Version {
			return fmt.Errorf("agreement is at version %d, not %d: %w", cur.Version, in.BaseVersion, ErrConflict)
		}
		segments, err := findSegments(ctx, tx, tid)
		if err != nil {
			return err
		}
		cals, err := findCalendars(ctx, tx, tid, uuid.Nil)
		if err != nil {
			return err
		}
		known := map[uuid.UUID]bool{}
		for _, c := range cals {
			known[c.ID] = true
		}
		clauses := make([]sla.Clause, len(in.Clauses))
		for i, c := range in.Clauses {
			c.Normalize()
			clauses[i] = c
		}
		if errs := sla.ValidateClauses(clauses, segments, known); errs != nil {
			return errs
		}
		clauses = sla.AssignIDs(clauses, cur.Clauses)
		sla.SortClauses(clauses)
		js := make([]clauseJSON, len(clauses))
		for i, c := range clauses {
			js[i] = toClauseJSON(c)
		}
		raw, err := json.Marshal(js)
		if err != nil {
			return fmt.Errorf("encode clauses: %w", err)
		}
		saved = sla.Agreement{Version: cur.Version + 1, EffectiveFrom: now, Author: actor.Name, Clauses: clauses}
		if _, err := tx.Exec(ctx, `
			INSERT INTO agreement_versions (tenant_id, version, effective_from, author_type, author_id, author_name, clauses, apply_to_running)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			tid, saved.Version, now, string(actor.Type), nullUUID(actor.ID), actor.Name, raw, in.ApplyToRunning); err != nil {
			return fmt.Errorf("insert agreement version: %w", mapErr(err))
		}
		before := make([]clauseJSON, len(cur.Clauses))
		for i, c := range cur.Clauses {
			before[i] = toClauseJSON(c)
		}
		if err := insertAudit(ctx, tx, tid, actor, now, "agreement.saved", "agreement", fmt.Sprint(saved.Version),
			map[string]any{"version": cur.Version, "clauses": before},
			map[string]any{"version": saved.Version, "clauses": js, "apply_to_running": in.ApplyToRunning}); err != nil {
			return err
		}
		if in.ApplyToRunning {
			if _, err := s.jobs.InsertTx(ctx, tx, RecomputeArgs{TenantID: tid.String(), Reason: fmt.Sprintf("agreement version %d applies to running timers", saved.Version), Repin: true}, nil); err != nil {
				return fmt.Errorf("enqueue recompute: %w", err)
			}
		}
		return nil
	})
	return saved, err
}

// RecomputeArgs is the durable job that recomputes a tenant's running
// timers: after an agreement version that applies to them, or a calendar
// edit. Repin moves them to the version in force.
type RecomputeArgs struct {
	TenantID   string `json:"tenant_id"`
	Reason     string `json:"reason"`
	Repin      bool   `json:"repin"`
	CalendarID string `json:"calendar_id,omitempty"`
	// All computes every lead's timers from its history (BackfillTimers),
	// not only the running ones.
	All bool `json:"all,omitempty"`
}

// EnqueueTimerBackfill queues the computation of every lead's timers of
// tenant tid from its history, for history stored without them (a bulk
// load): the worker does it in the background.
func (s *Store) EnqueueTimerBackfill(ctx context.Context, tid tenant.ID, reason string) error {
	if _, err := s.jobs.Insert(ctx, RecomputeArgs{TenantID: tid.String(), Reason: reason, All: true}, nil); err != nil {
		return fmt.Errorf("queue timer backfill: %w", err)
	}
	return nil
}

// Kind names the job.
func (RecomputeArgs) Kind() string { return "sla.recompute" }
