package postgres

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// ConflictError reports that a lead changed meanwhile; it carries the lead's
// current state so the caller can show it. It matches ErrConflict.
type ConflictError struct {
	Lead    lead.Lead
	Message string
}

func (e *ConflictError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

const leadSelect = `
	SELECT l.id, l.external_id, l.email, l.first_name, l.last_name, l.company, l.title, l.phone, l.country,
	       l.segment, l.source, l.campaign, l.score, l.icp_fit, l.stage, l.stage_changed_at,
	       l.owner_id, coalesce(u.name, ''), l.team_id, coalesce(tm.name, ''),
	       l.amount_cents, l.currency, l.created_at, l.updated_at, l.snoozed_until, l.version
	FROM leads l
	LEFT JOIN users u ON u.id = l.owner_id
	LEFT JOIN teams tm ON tm.tenant_id = l.tenant_id AND tm.id = l.team_id`

// scanLead reads a row of leadSelect; extra receives the columns a query
// adds after leadSelect's.
func scanLead(r pgx.Row, extra ...any) (lead.Lead, error) {
	var l lead.Lead
	var stage string
	var amount *int64
	dst := []any{&l.ID, &l.ExternalID, &l.Email, &l.FirstName, &l.LastName, &l.Company, &l.Title, &l.Phone, &l.Country,
		&l.Segment, &l.Source, &l.Campaign, &l.Score, &l.ICPFit, &stage, &l.StageChangedAt,
		&l.OwnerID, &l.OwnerName, &l.TeamID, &l.TeamName,
		&amount, &l.Currency, &l.CreatedAt, &l.UpdatedAt, &l.SnoozedUntil, &l.Version}
	err := r.Scan(append(dst, extra...)...)
	l.Stage = lead.Stage(stage)
	if amount != nil {
		c := lead.Cents(*amount)
		l.Amount = &c
	}
	return l, err
}

func findLead(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID, lock bool) (lead.Lead, error) {
	q := leadSelect + ` WHERE l.tenant_id = $1 AND l.id = $2`
	if lock {
		q += ` FOR UPDATE OF l`
	}
	l, err := scanLead(tx.QueryRow(ctx, q, tid, id))
	if err != nil {
		return lead.Lead{}, fmt.Errorf("find lead: %w", mapErr(err))
	}
	return l, nil
}

// leadMoveSelect is leadSelect plus what a stage change of the lead will
// have to do besides: whether SLA timers can concern the lead at all (the
// tenant has an agreement, or the lead has timers from an earlier one;
// agreement versions are never deleted, so once true for a tenant it stays
// true), and whether an active webhook endpoint takes event $3.
var leadMoveSelect = strings.Replace(leadSelect, "\n\tFROM leads l", `,
	       EXISTS (SELECT FROM agreement_versions a WHERE a.tenant_id = l.tenant_id)
	       OR EXISTS (SELECT FROM sla_timers t WHERE t.tenant_id = l.tenant_id AND t.lead_id = l.id),
	       $3 <> '' AND EXISTS (SELECT FROM webhook_endpoints e WHERE e.tenant_id = l.tenant_id AND e.active AND $3 = ANY (e.events))
	FROM leads l`, 1) + ` WHERE l.tenant_id = $1 AND l.id = $2`

// moveNeeds is what leadMoveSelect found a stage change needs.
type moveNeeds struct {
	timers   bool // recompute the lead's timers
	webhooks bool // look up the endpoints of the move's event
}

// scanLeadForMove reads the row of leadMoveSelect: the lead and what a
// stage change of it must do besides, so a tenant without an agreement
// does not pay for reading its calendars and the lead's history, nor one
// without webhooks for their lookup.
func scanLeadForMove(r pgx.Row) (lead.Lead, moveNeeds, error) {
	var n moveNeeds
	l, err := scanLead(r, &n.timers, &n.webhooks)
	if err != nil {
		return lead.Lead{}, n, fmt.Errorf("find lead: %w", mapErr(err))
	}
	return l, n, nil
}

// allMoveNeeds is moveNeeds for a move whose caller did not ask.
var allMoveNeeds = moveNeeds{timers: true, webhooks: true}

// FindLead returns lead id of tenant tid.
func (s *Store) FindLead(ctx context.Context, tid tenant.ID, id uuid.UUID) (lead.Lead, error) {
	var l lead.Lead
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		l, err = findLead(ctx, tx, tid, id, false)
		return err
	})
	return l, err
}

// UpsertResult is what creating or updating a lead did.
type UpsertResult struct {
	Lead    lead.Lead
	Created bool
}

// UpsertLead creates a lead, or updates the one with the same external id
// (else the same email), merging the fields given (API.md POST /leads). An
// email that belongs to a lead with another external id is a conflict. A new
// lead starts in stage new with its first transition; the qualification
// rule may hand it off at once.
func (s *Store) UpsertLead(ctx context.Context, tid tenant.ID, p auth.Principal, in lead.Input, now time.Time) (UpsertResult, error) {
	var res UpsertResult
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		ref, err := loadLeadRefs(ctx, tx, tid)
		if err != nil {
			return err
		}
		res, err = s.upsertLead(ctx, tx, tid, p, in, ref, now)
		return err
	})
	return res, err
}

// leadRefs is the tenant's reference data that lead writes check against.
type leadRefs struct {
	tenant        tenant.Tenant
	segments      []string
	reasons       []string
	qualification lead.Qualification
}

func loadLeadRefs(ctx context.Context, tx pgx.Tx, tid tenant.ID) (leadRefs, error) {
	var ref leadRefs
	t, err := scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, tid))
	if err != nil {
		return ref, fmt.Errorf("find tenant: %w", mapErr(err))
	}
	ref.tenant = t
	if ref.segments, err = findSegments(ctx, tx, tid); err != nil {
		return ref, err
	}
	rs, err := findReasons(ctx, tx, tid)
	if err != nil {
		return ref, err
	}
	ref.reasons = reasonCodes(rs)
	if ref.qualification, err = findQualification(ctx, tx, tid); err != nil {
		return ref, err
	}
	return ref, nil
}

func (s *Store) upsertLead(ctx context.Context, tx pgx.Tx, tid tenant.ID, p auth.Principal, in lead.Input, ref leadRefs, now time.Time) (UpsertResult, error) {
	in.Normalize()
	// A concurrent create of the same key makes the insert fail; the second
	// attempt then finds the new lead and updates it.
	for attempt := 0; ; attempt++ {
		sp, err := tx.Begin(ctx)
		if err != nil {
			return UpsertResult{}, fmt.Errorf("savepoint: %w", err)
		}
		res, err := s.upsertOnce(ctx, sp, tid, p, in, ref, now)
		if err == nil {
			if err := sp.Commit(ctx); err != nil {
				return UpsertResult{}, fmt.Errorf("release savepoint: %w", err)
			}
			return res, nil
		}
		_ = sp.Rollback(ctx)
		var uerr *uniqueRace
		if attempt == 0 && errors.As(err, &uerr) {
			continue
		}
		return UpsertResult{}, err
	}
}

// uniqueRace marks an insert that lost a race for a unique key.
type uniqueRace struct{ err error }

func (e *uniqueRace) Error() string { return e.err.Error() }
func (e *uniqueRace) Unwrap() error { return e.err }

func (s *Store) upsertOnce(ctx context.Context, tx pgx.Tx, tid tenant.ID, p auth.Principal, in lead.Input, ref leadRefs, now time.Time) (UpsertResult, error) {
	existing, found, err := matchLead(ctx, tx, tid, in)
	if err != nil {
		return UpsertResult{}, err
	}
	if !found {
		if errs := in.Validate(ref.segments, true, now); errs != nil {
			return UpsertResult{}, errs
		}
		l, err := insertLead(ctx, tx, tid, p.Actor(), in, ref.tenant.Currency, now)
		if err != nil {
			return UpsertResult{}, err
		}
		if l, err = s.qualify(ctx, tx, tid, l, ref, l.CreatedAt, now); err != nil {
			return UpsertResult{}, err
		}
		return UpsertResult{Lead: l, Created: true}, nil
	}
	if errs := in.Validate(ref.segments, false, now); errs != nil {
		return UpsertResult{}, errs
	}
	merged := in.Apply(existing)
	tag, err := tx.Exec(ctx, `
		UPDATE leads SET external_id = $3, email = $4, first_name = $5, last_name = $6, company = $7, title = $8,
		       phone = $9, country = $10, segment = $11, source = $12, campaign = $13, score = $14, icp_fit = $15,
		       updated_at = $16, version = version + 1
		WHERE tenant_id = $1 AND id = $2 AND version = $17`,
		tid, existing.ID, merged.ExternalID, merged.Email, merged.FirstName, merged.LastName, merged.Company, merged.Title,
		merged.Phone, merged.Country, merged.Segment, merged.Source, merged.Campaign, merged.Score, merged.ICPFit,
		now, existing.Version)
	if err != nil {
		if errors.Is(mapErr(err), ErrConflict) {
			return UpsertResult{}, &ConflictError{Lead: existing, Message: "the email belongs to another lead"}
		}
		return UpsertResult{}, fmt.Errorf("update lead: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		cur, _ := findLead(ctx, tx, tid, existing.ID, false)
		return UpsertResult{}, &ConflictError{Lead: cur, Message: "the lead changed meanwhile"}
	}
	l, err := findLead(ctx, tx, tid, existing.ID, false)
	if err != nil {
		return UpsertResult{}, err
	}
	if (l.Segment == nil) != (existing.Segment == nil) || (l.Segment != nil && *l.Segment != *existing.Segment) || l.Source != existing.Source {
		// Another segment or source may fall under another clause.
		if err := s.syncTimers(ctx, tx, tid, l, now, false); err != nil {
			return UpsertResult{}, err
		}
	}
	if l, err = s.qualify(ctx, tx, tid, l, ref, now, now); err != nil {
		return UpsertResult{}, err
	}
	return UpsertResult{Lead: l}, nil
}

// matchLead finds the lead an input updates: by external id, else by
// email. An email that belongs to a lead with a different external id is a
// conflict (API.md).
func matchLead(ctx context.Context, tx pgx.Tx, tid tenant.ID, in lead.Input) (lead.Lead, bool, error) {
	if in.ExternalID != nil {
		l, err := scanLead(tx.QueryRow(ctx, leadSelect+` WHERE l.tenant_id = $1 AND l.external_id = $2`, tid, *in.ExternalID))
		if err == nil {
			return l, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return lead.Lead{}, false, fmt.Errorf("match lead by external id: %w", err)
		}
	}
	if in.Email != nil {
		l, err := scanLead(tx.QueryRow(ctx, leadSelect+` WHERE l.tenant_id = $1 AND l.email = $2`, tid, *in.Email))
		if err == nil {
			if in.ExternalID != nil && l.ExternalID != nil && *l.ExternalID != *in.ExternalID {
				return lead.Lead{}, false, &ConflictError{Lead: l,
					Message: fmt.Sprintf("the email %s belongs to the lead with external_id %q", *in.Email, *l.ExternalID)}
			}
			return l, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return lead.Lead{}, false, fmt.Errorf("match lead by email: %w", err)
		}
	}
	return lead.Lead{}, false, nil
}

func insertLead(ctx context.Context, tx pgx.Tx, tid tenant.ID, actor auth.Actor, in lead.Input, currency string, now time.Time) (lead.Lead, error) {
	l := in.Apply(lead.Lead{ID: uuid.New(), Stage: lead.StageNew, Currency: currency, CreatedAt: now, Version: 1})
	if in.CreatedAt != nil {
		l.CreatedAt = in.CreatedAt.UTC()
	}
	l.StageChangedAt = l.CreatedAt
	_, err := tx.Exec(ctx, `
		INSERT INTO leads (tenant_id, id, external_id, email, first_name, last_name, company, title, phone, country,
		                   segment, source, campaign, score, icp_fit, stage, stage_changed_at, currency, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'new', $16, $17, $16, $18)`,
		tid, l.ID, l.ExternalID, l.Email, l.FirstName, l.LastName, l.Company, l.Title, l.Phone, l.Country,
		l.Segment, l.Source, l.Campaign, l.Score, l.ICPFit, l.CreatedAt, currency, now)
	if err != nil {
		if errors.Is(mapErr(err), ErrConflict) {
			return lead.Lead{}, &uniqueRace{err: fmt.Errorf("insert lead: %w", mapErr(err))}
		}
		return lead.Lead{}, fmt.Errorf("insert lead: %w", mapErr(err))
	}
	if err := insertTransition(ctx, tx, tid, l.ID, 1, nil, lead.StageNew, l.CreatedAt, now, actor, "", "", nil, nil, nil); err != nil {
		return lead.Lead{}, err
	}
	return findLead(ctx, tx, tid, l.ID, false)
}

func insertTransition(ctx context.Context, tx pgx.Tx, tid tenant.ID, leadID uuid.UUID, seq int, from *lead.Stage, to lead.Stage,
	at, now time.Time, actor auth.Actor, reason, note string, amount *lead.Cents, owner, team *uuid.UUID) error {
	var fromS *string
	if from != nil {
		f := string(*from)
		fromS = &f
	}
	var reasonS *string
	if reason != "" {
		reasonS = &reason
	}
	// seq 0 means "the next one": computed in the insert itself. The unique
	// (lead, seq) key catches two writers who computed the same one.
	_, err := tx.Exec(ctx, `
		INSERT INTO lead_transitions (tenant_id, lead_id, seq, from_stage, to_stage, at, recorded_at, actor_type, actor_id,
		                              actor_name, reason, note, amount_cents, owner_id, team_id)
		VALUES ($1, $2, CASE WHEN $3::int > 0 THEN $3::int
		                     ELSE (SELECT coalesce(max(seq), 0) + 1 FROM lead_transitions WHERE tenant_id = $1 AND lead_id = $2) END,
		        $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		tid, leadID, seq, fromS, string(to), at, now, string(actor.Type), nullUUID(actor.ID), actor.Name, reasonS, note,
		amount, owner, team)
	if err != nil {
		if errors.Is(mapErr(err), ErrConflict) {
			return &ConflictError{Message: "the lead moved meanwhile"}
		}
		return fmt.Errorf("insert transition: %w", mapErr(err))
	}
	return nil
}

// BatchItem is the outcome of one item of a batch upsert.
type BatchItem struct {
	Index   int
	Created bool
	Err     error
}

// UpsertLeads applies each input like UpsertLead, in one transaction with a
// savepoint per item: valid items are stored, invalid ones reported.
func (s *Store) UpsertLeads(ctx context.Context, tid tenant.ID, p auth.Principal, ins []lead.Input, now time.Time) ([]BatchItem, error) {
	out := make([]BatchItem, len(ins))
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		ref, err := loadLeadRefs(ctx, tx, tid)
		if err != nil {
			return err
		}
		for i, in := range ins {
			res, err := s.upsertLead(ctx, tx, tid, p, in, ref, now)
			out[i] = BatchItem{Index: i, Created: res.Created, Err: err}
			if err != nil && !isItemError(err) {
				return err
			}
		}
		return nil
	})
	return out, err
}

// isItemError reports an error that belongs to one item (bad input, a
// conflict), not to the whole batch.
func isItemError(err error) bool {
	var verrs validator.Errors
	return errors.As(err, &verrs) || errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalidReference)
}

// LeadPage is one page of a lead list.
type LeadPage struct {
	Leads      []lead.Lead
	NextCursor string // "" on the last page
}

// FindLeads lists leads of tenant tid by filter, newest first (or, with
// UpdatedSince, oldest change first, for sync), a page at a time.
func (s *Store) FindLeads(ctx context.Context, tid tenant.ID, f lead.Filter) (LeadPage, error) {
	if f.Limit == 0 {
		f.Limit = 50
	}
	var page LeadPage
	var where []string
	args := []any{tid}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	where = append(where, "l.tenant_id = $1")
	if len(f.Stages) > 0 {
		stages := make([]string, len(f.Stages))
		for i, st := range f.Stages {
			stages[i] = string(st)
		}
		where = append(where, "l.stage = ANY("+arg(stages)+")")
	}
	if f.OwnerID != nil {
		where = append(where, "l.owner_id = "+arg(*f.OwnerID))
	}
	if f.TeamID != nil && f.Handoff == nil {
		where = append(where, "l.team_id = "+arg(*f.TeamID))
	}
	if h := f.Handoff; h != nil {
		// The period's handoffs as the figures judge them: the funnel facts
		// (lead_handoffs, kept true at every write by migration 13's
		// triggers), so a drill-down lists exactly the leads a figure
		// counts, and finds them by the handoff's time instead of judging
		// every lead's history.
		conds := []string{"h.tenant_id = $1", "h.at >= " + arg(h.From), "h.at < " + arg(h.To)}
		if f.TeamID != nil {
			conds = append(conds, "h.team_id = "+arg(*f.TeamID))
		}
		switch h.Decision {
		case "accepted", "rejected":
			conds = append(conds, "h.decision = "+arg(h.Decision))
		case "undecided":
			conds = append(conds, "h.decision IS NULL")
		}
		if h.Reached != "" {
			conds = append(conds, "h.reached >= "+arg(h.Reached.Rank()))
		}
		if h.Touched != nil {
			if *h.Touched {
				conds = append(conds, "h.touched_at IS NOT NULL")
			} else {
				conds = append(conds, "h.touched_at IS NULL")
			}
		}
		where = append(where, "l.id IN (SELECT h.lead_id FROM lead_handoffs h WHERE "+strings.Join(conds, " AND ")+")")
	}
	// metric.None, the figures' name for "without one", selects the leads
	// without a segment, source or campaign, so a figure's row drills down.
	switch f.Segment {
	case "":
	case metric.None:
		where = append(where, "l.segment IS NULL")
	default:
		where = append(where, "l.segment = "+arg(f.Segment))
	}
	for _, c := range []struct{ col, v string }{{"l.source", f.Source}, {"l.campaign", f.Campaign}} {
		switch c.v {
		case "":
		case metric.None:
			where = append(where, c.col+" = ''")
		default:
			where = append(where, c.col+" = "+arg(c.v))
		}
	}
	if q := strings.TrimSpace(strings.ToLower(f.Q)); q != "" {
		// The trigram index lives on lead_search (migration 15), which holds
		// the same lower-cased name, email and company as doc; it is read
		// through accord_search_leads (migration 19) so that the index, not
		// a scan of every entry, answers the LIKE.
		where = append(where, "l.id IN (SELECT s.lead_id FROM accord_search_leads("+arg("%"+escapeLike(q)+"%")+") s)")
	}
	switch {
	case f.VisibleOwner != nil && f.VisibleTeam != nil:
		where = append(where, "(l.owner_id = "+arg(*f.VisibleOwner)+" OR l.team_id = "+arg(*f.VisibleTeam)+")")
	case f.VisibleOwner != nil:
		where = append(where, "l.owner_id = "+arg(*f.VisibleOwner))
	}
	order := "l.created_at DESC, l.id DESC"
	if f.UpdatedSince != nil {
		where = append(where, "l.updated_at >= "+arg(*f.UpdatedSince))
		order = "l.updated_at, l.id"
	}
	if f.Cursor != "" {
		at, id, err := decodeLeadCursor(f.Cursor)
		if err != nil {
			return page, validator.Errors{"cursor": "is not one this API returned"}
		}
		if f.UpdatedSince != nil {
			where = append(where, "(l.updated_at, l.id) > ("+arg(at)+", "+arg(id)+")")
		} else {
			where = append(where, "(l.created_at, l.id) < ("+arg(at)+", "+arg(id)+")")
		}
	}
	q := leadSelect + " WHERE " + strings.Join(where, " AND ") + " ORDER BY " + order + " LIMIT " + arg(f.Limit+1)
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("query leads: %w", err)
		}
		page.Leads, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (lead.Lead, error) { return scanLead(r) })
		return err
	})
	if err != nil {
		return page, err
	}
	if len(page.Leads) > f.Limit {
		page.Leads = page.Leads[:f.Limit]
		last := page.Leads[len(page.Leads)-1]
		at := last.CreatedAt
		if f.UpdatedSince != nil {
			at = last.UpdatedAt
		}
		page.NextCursor = encodeLeadCursor(at, last.ID)
	}
	return page, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func encodeLeadCursor(at time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id.String()))
}

func decodeLeadCursor(c string) (time.Time, uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	ts, idS, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, uuid.Nil, fmt.Errorf("bad cursor")
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	id, err := uuid.Parse(idS)
	return at, id, err
}
