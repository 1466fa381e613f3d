package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/internal/webhook"
)

// mover describes principal p acting on lead l, for the funnel's rules.
func mover(ctx context.Context, tx pgx.Tx, tid tenant.ID, p auth.Principal, l lead.Lead) (lead.Mover, error) {
	m := lead.Mover{Role: p.Role, API: p.Type == auth.ActorToken, System: p.Type == auth.ActorSystem}
	if p.Type != auth.ActorUser {
		return m, nil
	}
	m.Owner = l.OwnerID != nil && *l.OwnerID == p.ID
	if p.Role == tenant.RoleManager && !m.Owner {
		var manages bool
		err := tx.QueryRow(ctx, `
			SELECT EXISTS (SELECT FROM memberships WHERE tenant_id = $1 AND user_id = $2 AND manager_id = $3)
			    OR EXISTS (SELECT FROM teams WHERE tenant_id = $1 AND id = $4 AND manager_id = $3)`,
			tid, nullIfNil(l.OwnerID), p.ID, nullIfNil(l.TeamID)).Scan(&manages)
		if err != nil {
			return m, fmt.Errorf("check manager: %w", err)
		}
		m.Manager = manages
	}
	return m, nil
}

// Transition moves lead id to another stage: the funnel's rules decide who
// may, the version check lets exactly one of two simultaneous moves win, and
// a handoff routes the lead to a team and rep. The lead's stage only ever
// changes here, with its transition row, in one transaction.
func (s *Store) Transition(ctx context.Context, tid tenant.ID, p auth.Principal, id uuid.UUID, in lead.TransitionInput, now time.Time) (lead.Lead, error) {
	var out lead.Lead
	event := ""
	if in.To == lead.StageAccepted || in.To == lead.StageRejected {
		event = decisionEvent(in.To)
	}
	var l lead.Lead
	var needs moveNeeds
	scan := func(r pgx.Row) error {
		var err error
		l, needs, err = scanLeadForMove(r)
		return err
	}
	err := s.inTenantRead(ctx, tid, leadMoveSelect, []any{tid, id, event}, scan, func(tx pgx.Tx) error {
		// A stale expected_version is checked first (API.md).
		if in.ExpectedVersion != nil && *in.ExpectedVersion != l.Version {
			return &ConflictError{Lead: l, Message: fmt.Sprintf("the lead is at version %d, not %d: it is now %s", l.Version, *in.ExpectedVersion, l.Stage)}
		}
		m, err := mover(ctx, tx, tid, p, l)
		if err != nil {
			return err
		}
		// Reasons are loaded only for moves that use one: accepting, the
		// busiest move, stays a short transaction.
		var reasons []string
		if needsReason, _, merr := lead.CheckMove(l.Stage, in.To, m); merr == nil && (needsReason || in.Reason != "") {
			rs, err := findReasons(ctx, tx, tid)
			if err != nil {
				return err
			}
			reasons = reasonCodes(rs)
		}
		if err := lead.ValidateTransition(l, in, m, reasons, now); err != nil {
			return err
		}
		// The move is this transaction's last statement: it may commit
		// in the same round trip.
		if pt, ok := tx.(*pipeTx); ok {
			pt.lastWrite = true
		}
		out, err = s.move(ctx, tx, tid, p.Actor(), l, in, needs, now)
		return err
	})
	return out, err
}

// move applies a validated transition to l (read at version l.Version).
// needs says what besides the move can be skipped (leadMoveSelect); a
// move that routes the lead reads everything again anyway.
func (s *Store) move(ctx context.Context, tx pgx.Tx, tid tenant.ID, actor auth.Actor, l lead.Lead, in lead.TransitionInput, needs moveNeeds, now time.Time) (lead.Lead, error) {
	at := now
	if in.At != nil {
		at = in.At.UTC()
	}
	// PostgreSQL keeps microseconds; so does the lead this returns.
	at = at.Truncate(time.Microsecond)
	owner, team := l.OwnerID, l.TeamID
	var assign *assignment
	if in.To == lead.StageMQL {
		a, err := s.handoffOwner(ctx, tx, tid, l, in.OwnerID)
		if err != nil {
			return lead.Lead{}, err
		}
		assign = &a
		owner, team = a.owner, a.team
	}
	amount := l.Amount
	if in.Amount != nil {
		amount = in.Amount
	}
	from := string(l.Stage)
	var reason *string
	if in.Reason != "" {
		reason = &in.Reason
	}
	args := []any{tid, l.ID, string(in.To), at, owner, team, amount, now, l.Version,
		from, string(actor.Type), nullUUID(actor.ID), actor.Name, reason, in.Note, in.Amount}
	var version int
	var updated time.Time
	if assign != nil {
		if err := tx.QueryRow(ctx, moveQuery, args...).Scan(&version, &updated); err != nil {
			return lead.Lead{}, moveFailed(ctx, tx, tid, l, err)
		}
		if err := s.recordAssignment(ctx, tx, tid, l, *assign, at, now, actor); err != nil {
			return lead.Lead{}, err
		}
		// A new owner or team: read their names back.
		moved, err := findLead(ctx, tx, tid, l.ID, false)
		if err != nil {
			return lead.Lead{}, err
		}
		return moved, s.syncTimers(ctx, tx, tid, moved, now, false)
	}
	// Any other move (accepting is the busiest): the stage change, the
	// decision's webhook endpoints and the timer inputs, which must see the
	// new transition, go in one round trip.
	decision := (in.To == lead.StageAccepted || in.To == lead.StageRejected) && needs.webhooks
	b := &pgx.Batch{}
	b.Queue(moveQuery, args...)
	if decision {
		b.Queue(decisionEndpointsQuery, tid, decisionEvent(in.To))
	}
	if needs.timers {
		b.Queue(timerInputsQuery, tid, l.ID)
	}
	// Nothing else to write (no endpoint to queue, no timer to
	// compute): the move may carry the COMMIT.
	committing := !decision && !needs.timers && commitWith(tx, b)
	br := tx.SendBatch(ctx, b)
	if err := br.QueryRow().Scan(&version, &updated); err != nil {
		_ = br.Close()
		if committing {
			batchEnded(tx)
		}
		return lead.Lead{}, moveFailed(ctx, tx, tid, l, err)
	}
	var eps []endpointRow
	var slug string
	if decision {
		rows, err := br.Query()
		if err == nil {
			eps, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (endpointRow, error) {
				var e endpointRow
				return e, r.Scan(&e.id, &e.events, &slug)
			})
		}
		if err != nil {
			_ = br.Close()
			return lead.Lead{}, fmt.Errorf("webhook endpoints: %w", err)
		}
	}
	var inputs timerInputs
	var err error
	if needs.timers {
		inputs, err = scanTimerInputs(br.QueryRow(), l)
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("move lead: %w", mapErr(cerr))
	}
	if committing {
		batchEnded(tx)
	}
	if err != nil {
		return lead.Lead{}, err
	}
	l.Stage, l.StageChangedAt, l.Amount, l.Version, l.UpdatedAt = in.To, at, amount, version, updated
	if !l.Stage.Open() {
		l.SnoozedUntil = nil
	}
	if len(eps) > 0 {
		if err := s.queueDecisionEvent(ctx, tx, tenant.Tenant{ID: tid, Slug: slug}, eps, l, from, in.Reason, actor, now); err != nil {
			return lead.Lead{}, err
		}
	}
	// The move starts, meets or cancels timers in this same transaction.
	return l, s.syncTimersFrom(ctx, tx, tid, l, inputs, now, false)
}

// moveQuery changes a lead's stage and writes its transition row in one
// statement: the row is written only if the version still matched, so a
// lost race writes nothing and reads back no version.
const moveQuery = `
	WITH u AS (
		UPDATE leads SET stage = $3, stage_changed_at = $4, owner_id = $5, team_id = $6, amount_cents = $7,
		       snoozed_until = CASE WHEN $3 IN ('mql', 'accepted', 'sql', 'opportunity') THEN snoozed_until END,
		       updated_at = $8, version = version + 1
		WHERE tenant_id = $1 AND id = $2 AND version = $9
		RETURNING version, updated_at),
	t AS (
		INSERT INTO lead_transitions (tenant_id, lead_id, seq, from_stage, to_stage, at, recorded_at, actor_type, actor_id,
		                              actor_name, reason, note, amount_cents, owner_id, team_id)
		SELECT $1, $2, (SELECT coalesce(max(seq), 0) + 1 FROM lead_transitions WHERE tenant_id = $1 AND lead_id = $2),
		       $10, $3, $4, $8, $11, $12, $13, $14, $15, $16, $5, $6
		FROM u)
	SELECT version, updated_at FROM u`

// moveFailed explains a moveQuery that wrote nothing: a lost race reports
// where the lead is now.
func moveFailed(ctx context.Context, tx pgx.Tx, tid tenant.ID, l lead.Lead, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		// The batch may have committed the move that wrote nothing.
		if rerr := reopen(ctx, tx); rerr != nil {
			return rerr
		}
		cur, ferr := findLead(ctx, tx, tid, l.ID, false)
		if ferr != nil {
			return ferr
		}
		return &ConflictError{Lead: cur, Message: fmt.Sprintf("the lead moved meanwhile: it is now %s", cur.Stage)}
	}
	if errors.Is(mapErr(err), ErrConflict) {
		return &ConflictError{Message: "the lead moved meanwhile"}
	}
	return fmt.Errorf("move lead: %w", mapErr(err))
}

// decisionEvent is the webhook event of a decision to stage to.
func decisionEvent(to lead.Stage) string {
	if to == lead.StageRejected {
		return webhook.LeadRejected
	}
	return webhook.LeadAccepted
}

// decisionEndpointsQuery finds the active endpoints that take an event
// type, with the tenant's slug.
const decisionEndpointsQuery = `
	SELECT e.id, e.events, t.slug FROM webhook_endpoints e JOIN tenants t ON t.id = e.tenant_id
	WHERE e.tenant_id = $1 AND e.active AND $2 = ANY (e.events)`

// queueDecisionEvent queues the lead.accepted or lead.rejected webhooks of
// a decision to endpoints eps, in its transaction: delivered if and only if
// it is stored.
func (s *Store) queueDecisionEvent(ctx context.Context, tx pgx.Tx, t tenant.Tenant, eps []endpointRow, l lead.Lead, from, reason string, actor auth.Actor, now time.Time) error {
	eventType := decisionEvent(l.Stage)
	data := map[string]any{"lead_id": l.ID, "external_id": l.ExternalID, "email": l.Email, "company": l.Company,
		"segment": l.Segment, "source": l.Source, "campaign": l.Campaign, "from": from, "to": l.Stage, "at": l.StageChangedAt,
		"owner_id": l.OwnerID, "team_id": l.TeamID, "actor": map[string]any{"type": actor.Type, "id": nullUUID(actor.ID), "name": actor.Name}}
	text := fmt.Sprintf("%s accepted %s", actor.Name, l.Name())
	if eventType == webhook.LeadRejected {
		data["reason"] = reason
		text = fmt.Sprintf("%s rejected %s (%s)", actor.Name, l.Name(), reason)
	}
	return queueEvent(ctx, s, tx, t, eps, eventType, fmt.Sprintf("%s/%d", l.ID, l.Version), data, text, now)
}

// assignment is where a handoff sends a lead and why.
type assignment struct {
	owner, team *uuid.UUID
	why         string
	queued      bool // no eligible rep: the team's queue
	managerID   *uuid.UUID
}

// handoffOwner decides the owner of a lead handed off: the one named, else
// routing (rules → team → round-robin among active reps who are not away).
func (s *Store) handoffOwner(ctx context.Context, tx pgx.Tx, tid tenant.ID, l lead.Lead, named *uuid.UUID) (assignment, error) {
	return s.routeOwner(ctx, tx, tid, l, named, nil)
}

// routeOwner is handoffOwner passing over rep avoid (the holder a breached
// lead is taken from) unless no one else may take it.
func (s *Store) routeOwner(ctx context.Context, tx pgx.Tx, tid tenant.ID, l lead.Lead, named, avoid *uuid.UUID) (assignment, error) {
	if named != nil {
		m, err := findMember(ctx, tx, tid, *named)
		if errors.Is(err, ErrNotFound) {
			return assignment{}, validator.Errors{"owner_id": "is not a member of this tenant"}
		}
		if err != nil {
			return assignment{}, err
		}
		if !m.Active {
			return assignment{}, validator.Errors{"owner_id": "is not an active member"}
		}
		return assignment{owner: &m.ID, team: m.TeamID, why: "owner chosen at handoff"}, nil
	}
	rt, err := findRouting(ctx, tx, tid)
	if err != nil {
		return assignment{}, err
	}
	team, why := rt.Route(l)
	if team == nil {
		return assignment{why: why, queued: true}, nil
	}
	var last, manager *uuid.UUID
	var teamName string
	// The team row lock serialises round-robin per team.
	if err := tx.QueryRow(ctx, `SELECT rr_last_user_id, manager_id, name FROM teams WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
		tid, *team).Scan(&last, &manager, &teamName); err != nil {
		return assignment{}, fmt.Errorf("lock team: %w", mapErr(err))
	}
	rows, err := tx.Query(ctx, `
		SELECT user_id FROM memberships
		WHERE tenant_id = $1 AND team_id = $2 AND role = 'rep' AND active AND NOT away
		ORDER BY user_id`, tid, *team)
	if err != nil {
		return assignment{}, fmt.Errorf("eligible reps: %w", err)
	}
	eligible, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return assignment{}, fmt.Errorf("scan eligible reps: %w", err)
	}
	if avoid != nil && len(eligible) > 1 {
		eligible = slices.DeleteFunc(eligible, func(id uuid.UUID) bool { return id == *avoid })
	}
	rep, ok := lead.NextRep(eligible, last)
	if !ok {
		return assignment{team: team, why: why + " → " + teamName + "; no active rep who is not away: the team's queue",
			queued: true, managerID: manager}, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE teams SET rr_last_user_id = $3 WHERE tenant_id = $1 AND id = $2`, tid, *team, rep); err != nil {
		return assignment{}, fmt.Errorf("advance round-robin: %w", err)
	}
	return assignment{owner: &rep, team: team, why: why + " → " + teamName + "; round-robin"}, nil
}

func (s *Store) recordAssignment(ctx context.Context, tx pgx.Tx, tid tenant.ID, l lead.Lead, a assignment, at, now time.Time, actor auth.Actor) error {
	if _, err := tx.Exec(ctx, `
		INSERT INTO lead_assignments (tenant_id, lead_id, at, owner_id, team_id, previous_owner_id, why, actor_type, actor_id, actor_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		tid, l.ID, at, a.owner, a.team, l.OwnerID, a.why, string(actor.Type), nullUUID(actor.ID), actor.Name); err != nil {
		return fmt.Errorf("insert assignment: %w", err)
	}
	if !a.queued {
		return nil
	}
	// Nobody can take the lead: alert the team's manager, else the admins.
	recipients := []uuid.UUID{}
	if a.managerID != nil {
		recipients = append(recipients, *a.managerID)
	} else {
		rows, err := tx.Query(ctx, `SELECT user_id FROM memberships WHERE tenant_id = $1 AND role = 'admin' AND active`, tid)
		if err != nil {
			return fmt.Errorf("find admins: %w", err)
		}
		if recipients, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return fmt.Errorf("scan admins: %w", err)
		}
	}
	for _, uid := range recipients {
		if err := insertNotification(ctx, tx, tid, Notification{
			UserID: uid, Kind: "lead.queued", Title: "A lead is waiting in the queue: " + l.Name(),
			Body: a.why, Link: "/leads/" + l.ID.String(),
		}, now); err != nil {
			return err
		}
	}
	return nil
}

// qualify hands a new lead off when the tenant's qualification rule holds,
// as Accord itself, at the time the rule became true.
func (s *Store) qualify(ctx context.Context, tx pgx.Tx, tid tenant.ID, l lead.Lead, ref leadRefs, at, now time.Time) (lead.Lead, error) {
	q := ref.qualification
	if l.Stage != lead.StageNew || !q.Active() {
		return l, nil
	}
	var views []time.Time
	if pv := q.PageViews; pv != nil {
		rows, err := tx.Query(ctx, `
			SELECT at FROM lead_activities
			WHERE tenant_id = $1 AND lead_id = $2 AND kind = 'page_view' AND position(lower($3) IN lower(url)) > 0`,
			tid, l.ID, pv.URLContains)
		if err != nil {
			return l, fmt.Errorf("page views: %w", err)
		}
		if views, err = pgx.CollectRows(rows, pgx.RowTo[time.Time]); err != nil {
			return l, fmt.Errorf("scan page views: %w", err)
		}
	}
	ok, why := q.Qualifies(l, views)
	if !ok {
		return l, nil
	}
	if at.Before(l.StageChangedAt) {
		at = l.StageChangedAt
	}
	return s.move(ctx, tx, tid, auth.Actor{Type: auth.ActorSystem, Name: "Qualification rule"}, l,
		lead.TransitionInput{To: lead.StageMQL, At: &at, Note: why}, allMoveNeeds, now)
}

// Activity is an activity as stored.
type Activity struct {
	ID      int64
	LeadID  uuid.UUID
	Kind    lead.ActivityKind
	At      time.Time
	Note    string
	URL     string
	AssetID *uuid.UUID
	// LinkToken is the tracked link of the shared asset and the lead
	// (/c/{token}), for content_shared activities.
	LinkToken string
	Actor     auth.Actor
}

// AddActivity logs a touch or signal on lead id, at its event time (which
// may be earlier than now, but not before the lead was created). A page view
// may make a new lead qualify.
func (s *Store) AddActivity(ctx context.Context, tid tenant.ID, p auth.Principal, id uuid.UUID, in lead.ActivityInput, now time.Time) (Activity, lead.Lead, error) {
	var act Activity
	var out lead.Lead
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		l, err := findLead(ctx, tx, tid, id, false)
		if err != nil {
			return err
		}
		if errs := in.Validate(l, now); errs != nil {
			return errs
		}
		var token string
		if in.AssetID != nil {
			// The asset must be in the library (not archived); the share
			// gets the pair's tracked link.
			if token, err = shareAsset(ctx, tx, tid, l.ID, *in.AssetID, now); err != nil {
				return err
			}
		}
		at := now
		if in.At != nil {
			at = in.At.UTC()
		}
		actor := p.Actor()
		act = Activity{LeadID: l.ID, Kind: in.Kind, At: at, Note: in.Note, URL: in.URL, AssetID: in.AssetID, LinkToken: token, Actor: actor}
		if err := tx.QueryRow(ctx, `
			INSERT INTO lead_activities (tenant_id, lead_id, kind, at, recorded_at, actor_type, actor_id, actor_name, note, url, asset_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			tid, l.ID, string(in.Kind), at, now, string(actor.Type), nullUUID(actor.ID), actor.Name, in.Note, in.URL, in.AssetID).Scan(&act.ID); err != nil {
			return fmt.Errorf("insert activity: %w", mapErr(err))
		}
		if _, err := tx.Exec(ctx, `UPDATE leads SET updated_at = $3 WHERE tenant_id = $1 AND id = $2`, tid, l.ID, now); err != nil {
			return fmt.Errorf("touch lead: %w", err)
		}
		out = l
		if in.Kind.Touch() || in.Kind == lead.ActNurture {
			if err := s.syncTimers(ctx, tx, tid, l, now, false); err != nil {
				return err
			}
		}
		if in.Kind == lead.ActPageView {
			ref, err := loadLeadRefs(ctx, tx, tid)
			if err != nil {
				return err
			}
			if out, err = s.qualify(ctx, tx, tid, l, ref, at, now); err != nil {
				return err
			}
		}
		return nil
	})
	return act, out, err
}

// Assign gives lead id to another owner (a manager's or admin's
// reassignment), keeping its stage; the owner's team becomes the lead's.
func (s *Store) Assign(ctx context.Context, tid tenant.ID, p auth.Principal, id, ownerID uuid.UUID, now time.Time) (lead.Lead, error) {
	var out lead.Lead
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		l, err := findLead(ctx, tx, tid, id, false)
		if err != nil {
			return err
		}
		owner, err := findMember(ctx, tx, tid, ownerID)
		if errors.Is(err, ErrNotFound) {
			return validator.Errors{"owner_id": "is not a member of this tenant"}
		}
		if err != nil {
			return err
		}
		if !owner.Active {
			return validator.Errors{"owner_id": "is not an active member"}
		}
		if owner.Role != tenant.RoleRep && owner.Role != tenant.RoleManager && owner.Role != tenant.RoleAdmin {
			return validator.Errors{"owner_id": "must be a rep, a manager or an admin: " + owner.Role.Label() + "s do not own leads"}
		}
		if p.Type == auth.ActorUser && p.Role == tenant.RoleManager {
			// A manager reassigns within their team only.
			m, err := mover(ctx, tx, tid, p, l)
			if err != nil {
				return err
			}
			if !m.Owner && !m.Manager {
				return fmt.Errorf("reassign a lead outside your team: %w", auth.ErrForbidden)
			}
			if p.TeamID == nil || owner.TeamID == nil || *owner.TeamID != *p.TeamID {
				return validator.Errors{"owner_id": "must be a member of your team"}
			}
		}
		team := l.TeamID
		if owner.TeamID != nil {
			team = owner.TeamID
		}
		tag, err := tx.Exec(ctx, `UPDATE leads SET owner_id = $3, team_id = $4, updated_at = $5, version = version + 1
			WHERE tenant_id = $1 AND id = $2 AND version = $6`, tid, l.ID, owner.ID, team, now, l.Version)
		if err != nil {
			return fmt.Errorf("assign lead: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			cur, _ := findLead(ctx, tx, tid, l.ID, false)
			return &ConflictError{Lead: cur, Message: "the lead changed meanwhile"}
		}
		actor := p.Actor()
		why := "reassigned by " + actor.Name
		if err := s.recordAssignment(ctx, tx, tid, l, assignment{owner: &owner.ID, team: team, why: why}, now, now, actor); err != nil {
			return err
		}
		moved, err := findLead(ctx, tx, tid, l.ID, false)
		if err != nil {
			return err
		}
		// The clock keeps running for the new holder (and their calendar).
		if err := s.syncTimers(ctx, tx, tid, moved, now, false); err != nil {
			return err
		}
		if owner.ID != p.ID {
			if err := insertNotification(ctx, tx, tid, Notification{UserID: owner.ID, Kind: "lead.assigned",
				Title: "A lead was assigned to you: " + l.Name(), Body: why, Link: "/leads/" + l.ID.String()}, now); err != nil {
				return err
			}
		}
		out = moved
		return nil
	})
	return out, err
}

// Snooze pauses lead id in its owner's inbox until a time, with a reason
// (the prospect asked for a call back). The pause is in the timeline.
func (s *Store) Snooze(ctx context.Context, tid tenant.ID, p auth.Principal, id uuid.UUID, in lead.SnoozeInput, now time.Time) (lead.Lead, error) {
	var out lead.Lead
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		l, err := findLead(ctx, tx, tid, id, false)
		if err != nil {
			return err
		}
		if !l.Stage.Open() {
			return validator.Errors{"until": "only a lead sales is working can be snoozed; this one is " + string(l.Stage)}
		}
		m, err := mover(ctx, tx, tid, p, l)
		if err != nil {
			return err
		}
		if p.Type == auth.ActorUser && p.Role != tenant.RoleAdmin && !m.Owner && !m.Manager {
			return fmt.Errorf("snooze another rep's lead: %w", auth.ErrForbidden)
		}
		actor := p.Actor()
		if _, err := tx.Exec(ctx, `
			INSERT INTO lead_pauses (tenant_id, lead_id, at, until, reason, actor_type, actor_id, actor_name)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			tid, l.ID, now, in.Until.UTC(), in.Reason, string(actor.Type), nullUUID(actor.ID), actor.Name); err != nil {
			return fmt.Errorf("insert pause: %w", err)
		}
		tag, err := tx.Exec(ctx, `UPDATE leads SET snoozed_until = $3, updated_at = $4, version = version + 1
			WHERE tenant_id = $1 AND id = $2 AND version = $5`, tid, l.ID, in.Until.UTC(), now, l.Version)
		if err != nil {
			return fmt.Errorf("snooze lead: %w", err)
		}
		if tag.RowsAffected() == 0 {
			cur, _ := findLead(ctx, tx, tid, l.ID, false)
			return &ConflictError{Lead: cur, Message: "the lead changed meanwhile"}
		}
		if out, err = findLead(ctx, tx, tid, l.ID, false); err != nil {
			return err
		}
		// Paused business time extends the running timers' due times.
		return s.syncTimers(ctx, tx, tid, out, now, false)
	})
	return out, err
}

// FindTimeline returns every event of lead id, oldest first: transitions,
// activities, assignments and pauses.
func (s *Store) FindTimeline(ctx context.Context, tid tenant.ID, id uuid.UUID) ([]lead.Event, error) {
	var out []lead.Event
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if _, err := findLead(ctx, tx, tid, id, false); err != nil {
			return err
		}
		var err error
		out, err = findTimeline(ctx, tx, tid, id)
		return err
	})
	return out, err
}

// findTimeline reads a lead's events in order.
func findTimeline(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID) ([]lead.Event, error) {
	// Events of one instant keep a sensible order: the move, then whom it
	// went to, then touches, then pauses; each kind in recorded order.
	rows, err := tx.Query(ctx, `
			SELECT 'transition', t.at, t.actor_type, t.actor_id, t.actor_name, coalesce(t.from_stage, ''), t.to_stage,
			       coalesce(t.reason, ''), t.note, t.amount_cents, '', '', NULL::uuid, NULL::uuid, '', NULL::uuid, '', '', NULL::timestamptz,
			       t.recorded_at, 0, t.id, ''
			FROM lead_transitions t WHERE t.tenant_id = $1 AND t.lead_id = $2
			UNION ALL
			SELECT 'assignment', s.at, s.actor_type, s.actor_id, s.actor_name, '', '', '', '', NULL, '', '', NULL,
			       s.owner_id, coalesce(u.name, ''), s.team_id, coalesce(tm.name, ''), s.why, NULL, s.at, 1, s.id, ''
			FROM lead_assignments s
			LEFT JOIN users u ON u.id = s.owner_id
			LEFT JOIN teams tm ON tm.tenant_id = s.tenant_id AND tm.id = s.team_id
			WHERE s.tenant_id = $1 AND s.lead_id = $2
			UNION ALL
			SELECT 'activity', a.at, a.actor_type, a.actor_id, a.actor_name, '', '', '', a.note, NULL, a.kind, a.url, a.asset_id,
			       NULL, '', NULL, '', '', NULL, a.recorded_at, 2, a.id, coalesce(c.title, '')
			FROM lead_activities a LEFT JOIN content_assets c ON c.tenant_id = a.tenant_id AND c.id = a.asset_id
			WHERE a.tenant_id = $1 AND a.lead_id = $2
			UNION ALL
			SELECT 'content_open', o.at, 'system', NULL, 'Prospect', '', '', '', '', NULL, '', '', k.asset_id,
			       NULL, '', NULL, '', '', NULL, o.at, 4, 0, c.title
			FROM content_links k JOIN content_opens o ON o.tenant_id = k.tenant_id AND o.link_id = k.id
			JOIN content_assets c ON c.tenant_id = k.tenant_id AND c.id = k.asset_id
			WHERE k.tenant_id = $1 AND k.lead_id = $2
			UNION ALL
			SELECT 'pause', p.at, p.actor_type, p.actor_id, p.actor_name, '', '', '', p.reason, NULL, '', '', NULL,
			       NULL, '', NULL, '', '', p.until, p.at, 3, p.id, ''
			FROM lead_pauses p WHERE p.tenant_id = $1 AND p.lead_id = $2
			ORDER BY 2, 20, 21, 22`, tid, id)
	if err != nil {
		return nil, fmt.Errorf("query timeline: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lead.Event, error) {
		var e lead.Event
		var from, to, kind string
		var amount *int64
		var recorded time.Time
		var prio int
		var seq int64
		err := r.Scan(&e.Type, &e.At, &e.Actor.Type, &e.Actor.ID, &e.Actor.Name, &from, &to, &e.Reason, &e.Note, &amount,
			&kind, &e.URL, &e.AssetID, &e.OwnerID, &e.OwnerName, &e.TeamID, &e.TeamName, &e.Why, &e.Until, &recorded, &prio, &seq, &e.AssetTitle)
		e.From, e.To, e.Kind = lead.Stage(from), lead.Stage(to), lead.ActivityKind(kind)
		if amount != nil {
			c := lead.Cents(*amount)
			e.Amount = &c
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("scan timeline: %w", err)
	}
	return out, nil
}
