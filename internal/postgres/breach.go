package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// Breach is a timer that passed its due time unmet (DESIGN.md §2).
type Breach struct {
	ID                uuid.UUID
	TimerID           uuid.UUID
	LeadID            uuid.UUID
	LeadName          string
	Kind              string
	Side              string
	ClauseID          uuid.UUID
	HolderID          *uuid.UUID
	HolderName        string
	TeamID            *uuid.UUID
	TeamName          string
	DueAt             time.Time
	BreachedAt        time.Time
	DetectedAt        time.Time
	EscalationLevel   int
	AcknowledgedAt    *time.Time
	AcknowledgedBy    string
	ExcuseReason      string
	ExcuseRequestedBy *uuid.UUID
	ExcuseRequester   string
	ExcuseRequestedAt *time.Time
	ExcusedAt         *time.Time
	ExcusedBy         string
	Resolved          bool // the lead was dealt with after all
}

// Excused reports whether the breach left compliance figures.
func (b Breach) Excused() bool { return b.ExcusedAt != nil }

// Timer is a timer as lists show it.
type Timer struct {
	ID               uuid.UUID
	LeadID           uuid.UUID
	LeadName         string
	ClauseID         uuid.UUID
	AgreementVersion int
	Side             string
	Kind             string
	Status           string
	StartedAt        time.Time
	DueAt            time.Time
	WarnAt           time.Time
	StoppedAt        *time.Time
	BreachedAt       *time.Time
	HolderID         *uuid.UUID
	HolderName       string
	TeamID           *uuid.UUID
	PausedMinutes    int
}

// SLAFilter selects timers or breaches.
type SLAFilter struct {
	Statuses []string
	Side     string
	Kind     string
	LeadID   *uuid.UUID
	HolderID *uuid.UUID
	TeamID   *uuid.UUID
	Since    *time.Time // breaches: breached_at on or after
	// Resolved keeps the timers SLA compliance counts for [From, To):
	// met ones stopped in it, breached ones due in it, not excused
	// (DESIGN.md §5), so a compliance figure drills down to its timers.
	Resolved *TimeRange
	ClauseID *uuid.UUID
	// Lead filters of the dashboard: nil matches all, "" leads without one.
	Segment, Source, Campaign *string
	Limit                     int
	Cursor                    string
}

const timerSelect = `
	SELECT t.id, t.lead_id, coalesce(nullif(trim(l.first_name || ' ' || l.last_name), ''), l.email, l.company, 'Unnamed lead'),
	       t.clause_id, t.agreement_version, t.side, t.kind, t.status, t.started_at, t.due_at, t.warn_at, t.stopped_at,
	       t.breached_at, t.holder_id, coalesce(u.name, ''), t.team_id, t.paused_minutes
	FROM sla_timers t
	JOIN leads l ON l.tenant_id = t.tenant_id AND l.id = t.lead_id
	LEFT JOIN users u ON u.id = t.holder_id`

func scanTimer(r pgx.Row) (Timer, error) {
	var t Timer
	err := r.Scan(&t.ID, &t.LeadID, &t.LeadName, &t.ClauseID, &t.AgreementVersion, &t.Side, &t.Kind, &t.Status, &t.StartedAt,
		&t.DueAt, &t.WarnAt, &t.StoppedAt, &t.BreachedAt, &t.HolderID, &t.HolderName, &t.TeamID, &t.PausedMinutes)
	return t, err
}

// slaWhere builds the shared filter of timers (alias t) or breaches (b).
func slaWhere(f SLAFilter, alias string, args *[]any) []string {
	arg := func(v any) string {
		*args = append(*args, v)
		return fmt.Sprintf("$%d", len(*args))
	}
	var where []string
	if len(f.Statuses) > 0 && alias == "t" {
		where = append(where, "t.status = ANY("+arg(f.Statuses)+")")
	}
	if f.Side != "" {
		where = append(where, alias+".side = "+arg(f.Side))
	}
	if f.Kind != "" {
		where = append(where, alias+".kind = "+arg(f.Kind))
	}
	if f.LeadID != nil {
		where = append(where, alias+".lead_id = "+arg(*f.LeadID))
	}
	if f.HolderID != nil {
		where = append(where, alias+".holder_id = "+arg(*f.HolderID))
	}
	if f.TeamID != nil {
		where = append(where, alias+".team_id = "+arg(*f.TeamID))
	}
	if f.Since != nil && alias == "b" {
		where = append(where, "b.breached_at >= "+arg(*f.Since))
	}
	if f.Resolved != nil && alias == "t" {
		from, to := arg(f.Resolved.From), arg(f.Resolved.To)
		where = append(where, "((t.status = 'met' AND t.stopped_at >= "+from+" AND t.stopped_at < "+to+") OR (t.status = 'breached' AND t.due_at >= "+from+
			" AND t.due_at < "+to+" AND NOT EXISTS (SELECT FROM sla_breaches xb WHERE xb.tenant_id = t.tenant_id AND xb.timer_id = t.id AND xb.excused_at IS NOT NULL)))")
	}
	if f.ClauseID != nil {
		where = append(where, alias+".clause_id = "+arg(*f.ClauseID))
	}
	if f.Segment != nil {
		where = append(where, "coalesce(l.segment, '') = "+arg(*f.Segment))
	}
	if f.Source != nil {
		where = append(where, "l.source = "+arg(*f.Source))
	}
	if f.Campaign != nil {
		where = append(where, "l.campaign = "+arg(*f.Campaign))
	}
	return where
}

// TimeRange is the half-open interval [From, To).
type TimeRange struct{ From, To time.Time }

// SLAPage is one page of timers or breaches.
type SLAPage[T any] struct {
	Items      []T
	NextCursor string
}

// FindTimers lists timers of tenant tid by due time.
func (s *Store) FindTimers(ctx context.Context, tid tenant.ID, f SLAFilter) (SLAPage[Timer], error) {
	var page SLAPage[Timer]
	if f.Limit == 0 {
		f.Limit = 50
	}
	args := []any{tid}
	where := append([]string{"t.tenant_id = $1"}, slaWhere(f, "t", &args)...)
	if f.Cursor != "" {
		at, id, err := decodeLeadCursor(f.Cursor)
		if err != nil {
			return page, validator.Errors{"cursor": "is not one this API returned"}
		}
		args = append(args, at, id)
		where = append(where, fmt.Sprintf("(t.due_at, t.id) > ($%d, $%d)", len(args)-1, len(args)))
	}
	args = append(args, f.Limit+1)
	q := timerSelect + " WHERE " + strings.Join(where, " AND ") + fmt.Sprintf(" ORDER BY t.due_at, t.id LIMIT $%d", len(args))
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("query timers: %w", err)
		}
		page.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Timer, error) { return scanTimer(r) })
		return err
	})
	if err != nil {
		return page, err
	}
	if len(page.Items) > f.Limit {
		page.Items = page.Items[:f.Limit]
		last := page.Items[len(page.Items)-1]
		page.NextCursor = encodeLeadCursor(last.DueAt, last.ID)
	}
	return page, nil
}

// FindLeadTimers returns the timers of one lead.
func (s *Store) FindLeadTimers(ctx context.Context, tid tenant.ID, leadID uuid.UUID) ([]Timer, error) {
	page, err := s.FindTimers(ctx, tid, SLAFilter{LeadID: &leadID, Limit: 500})
	return page.Items, err
}

const breachSelect = `
	SELECT b.id, b.timer_id, b.lead_id, coalesce(nullif(trim(l.first_name || ' ' || l.last_name), ''), l.email, l.company, 'Unnamed lead'),
	       b.kind, b.side, b.clause_id, b.holder_id, coalesce(hu.name, ''), b.team_id, coalesce(tm.name, ''), b.due_at, b.breached_at,
	       b.detected_at, b.escalation_level, b.acknowledged_at, coalesce(au.name, ''), coalesce(b.excuse_reason, ''),
	       b.excuse_requested_by, coalesce(ru.name, ''), b.excuse_requested_at, b.excused_at, coalesce(eu.name, ''),
	       t.stopped_at IS NOT NULL
	FROM sla_breaches b
	JOIN sla_timers t ON t.tenant_id = b.tenant_id AND t.id = b.timer_id
	JOIN leads l ON l.tenant_id = b.tenant_id AND l.id = b.lead_id
	LEFT JOIN users hu ON hu.id = b.holder_id
	LEFT JOIN teams tm ON tm.tenant_id = b.tenant_id AND tm.id = b.team_id
	LEFT JOIN users au ON au.id = b.acknowledged_by
	LEFT JOIN users ru ON ru.id = b.excuse_requested_by
	LEFT JOIN users eu ON eu.id = b.excused_by`

func scanBreach(r pgx.Row) (Breach, error) {
	var b Breach
	err := r.Scan(&b.ID, &b.TimerID, &b.LeadID, &b.LeadName, &b.Kind, &b.Side, &b.ClauseID, &b.HolderID, &b.HolderName, &b.TeamID,
		&b.TeamName, &b.DueAt, &b.BreachedAt, &b.DetectedAt, &b.EscalationLevel, &b.AcknowledgedAt, &b.AcknowledgedBy,
		&b.ExcuseReason, &b.ExcuseRequestedBy, &b.ExcuseRequester, &b.ExcuseRequestedAt, &b.ExcusedAt, &b.ExcusedBy, &b.Resolved)
	return b, err
}

// FindBreaches lists breaches of tenant tid, newest first.
func (s *Store) FindBreaches(ctx context.Context, tid tenant.ID, f SLAFilter) (SLAPage[Breach], error) {
	var page SLAPage[Breach]
	if f.Limit == 0 {
		f.Limit = 50
	}
	args := []any{tid}
	where := append([]string{"b.tenant_id = $1"}, slaWhere(f, "b", &args)...)
	if f.Cursor != "" {
		at, id, err := decodeLeadCursor(f.Cursor)
		if err != nil {
			return page, validator.Errors{"cursor": "is not one this API returned"}
		}
		args = append(args, at, id)
		where = append(where, fmt.Sprintf("(b.breached_at, b.id) < ($%d, $%d)", len(args)-1, len(args)))
	}
	args = append(args, f.Limit+1)
	q := breachSelect + " WHERE " + strings.Join(where, " AND ") + fmt.Sprintf(" ORDER BY b.breached_at DESC, b.id DESC LIMIT $%d", len(args))
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("query breaches: %w", err)
		}
		page.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Breach, error) { return scanBreach(r) })
		return err
	})
	if err != nil {
		return page, err
	}
	if len(page.Items) > f.Limit {
		page.Items = page.Items[:f.Limit]
		last := page.Items[len(page.Items)-1]
		page.NextCursor = encodeLeadCursor(last.BreachedAt, last.ID)
	}
	return page, nil
}

// FindBreach returns breach id of tenant tid.
func (s *Store) FindBreach(ctx context.Context, tid tenant.ID, id uuid.UUID) (Breach, error) {
	var b Breach
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		b, err = findBreach(ctx, tx, tid, id)
		return err
	})
	return b, err
}

func findBreach(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID) (Breach, error) {
	b, err := scanBreach(tx.QueryRow(ctx, breachSelect+` WHERE b.tenant_id = $1 AND b.id = $2`, tid, id))
	if err != nil {
		return Breach{}, fmt.Errorf("find breach: %w", mapErr(err))
	}
	return b, nil
}

// AcknowledgeBreach notes that someone has seen breach id.
func (s *Store) AcknowledgeBreach(ctx context.Context, tid tenant.ID, p auth.Principal, id uuid.UUID, now time.Time) (Breach, error) {
	var out Breach
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE sla_breaches SET acknowledged_at = coalesce(acknowledged_at, $3), acknowledged_by = coalesce(acknowledged_by, $4)
			WHERE tenant_id = $1 AND id = $2`, tid, id, now, nullUUID(p.ID))
		if err != nil {
			return fmt.Errorf("acknowledge breach: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("acknowledge breach: %w", ErrNotFound)
		}
		out, err = findBreach(ctx, tx, tid, id)
		return err
	})
	return out, err
}

// ErrSameApprover reports an excuse approved by the person who asked for it.
var ErrSameApprover = validator.Errors{"approver": "a second person must approve the excuse: you asked for it"}

// RequestExcuse asks to excuse breach id (duplicate, bad data…), with a
// reason; a second person approves it.
func (s *Store) RequestExcuse(ctx context.Context, tid tenant.ID, p auth.Principal, id uuid.UUID, reason string, now time.Time) (Breach, error) {
	reason = strings.TrimSpace(reason)
	var errs validator.Errors
	errs.Check(validator.NotBlank(reason), "reason", "say why this breach should not count, e.g. duplicate lead")
	errs.Check(validator.MaxChars(reason, 500), "reason", "must be at most 500 characters")
	if errs != nil {
		return Breach{}, errs
	}
	var out Breach
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		b, err := findBreach(ctx, tx, tid, id)
		if err != nil {
			return err
		}
		if b.Excused() {
			return validator.Errors{"reason": "this breach is excused already"}
		}
		if _, err := tx.Exec(ctx, `UPDATE sla_breaches SET excuse_reason = $3, excuse_requested_by = $4, excuse_requested_at = $5
			WHERE tenant_id = $1 AND id = $2`, tid, id, reason, nullUUID(p.ID), now); err != nil {
			return fmt.Errorf("request excuse: %w", err)
		}
		if err := insertAudit(ctx, tx, tid, p.Actor(), now, "breach.excuse_requested", "breach", id.String(), nil, map[string]any{"reason": reason}); err != nil {
			return err
		}
		out, err = findBreach(ctx, tx, tid, id)
		return err
	})
	return out, err
}

// ApproveExcuse excuses breach id: it leaves the compliance figures. The
// approver must not be the one who asked.
func (s *Store) ApproveExcuse(ctx context.Context, tid tenant.ID, p auth.Principal, id uuid.UUID, now time.Time) (Breach, error) {
	var out Breach
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		b, err := findBreach(ctx, tx, tid, id)
		if err != nil {
			return err
		}
		switch {
		case b.Excused():
			return validator.Errors{"approver": "this breach is excused already"}
		case b.ExcuseRequestedBy == nil:
			return validator.Errors{"approver": "nobody asked to excuse this breach yet"}
		case *b.ExcuseRequestedBy == p.ID:
			return ErrSameApprover
		}
		if _, err := tx.Exec(ctx, `UPDATE sla_breaches SET excused_by = $3, excused_at = $4 WHERE tenant_id = $1 AND id = $2`,
			tid, id, nullUUID(p.ID), now); err != nil {
			return fmt.Errorf("approve excuse: %w", mapErr(err))
		}
		if err := insertAudit(ctx, tx, tid, p.Actor(), now, "breach.excused", "breach", id.String(),
			map[string]any{"excused": false}, map[string]any{"excused": true, "reason": b.ExcuseReason, "requested_by": b.ExcuseRequester}); err != nil {
			return err
		}
		out, err = findBreach(ctx, tx, tid, id)
		return err
	})
	return out, err
}
