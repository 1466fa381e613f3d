package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/tenant"
)

// InboxFilter chooses whose inbox: a rep's own leads, or a manager's team.
type InboxFilter struct {
	OwnerID uuid.UUID
	TeamID  *uuid.UUID // a manager: the team's leads and its queue too
	Limit   int
	// RefsOnly reads only the reasons and members of an inbox page, to
	// re-render one row after an action.
	RefsOnly bool
}

// InboxLimit is how many leads an inbox page holds when its filter names
// no limit: a page that is full may have more behind it.
const InboxLimit = 200

// FindInbox returns the leads sales is working for the filter, those
// waiting longest first, then the snoozed ones by when they wake. Each part
// reads a partial index in order (000004_inbox), so a rep with a huge
// backlog still gets the first page at once.
func (s *Store) FindInbox(ctx context.Context, tid tenant.ID, f InboxFilter, now time.Time) ([]lead.Lead, error) {
	var out []lead.Lead
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		out, err = findInbox(ctx, tx, tid, f, now)
		return err
	})
	return out, err
}

func findInbox(ctx context.Context, tx pgx.Tx, tid tenant.ID, f InboxFilter, now time.Time) ([]lead.Lead, error) {
	if f.Limit == 0 {
		f.Limit = InboxLimit
	}
	const open = `l.stage IN ('mql', 'accepted', 'sql', 'opportunity')`
	const awake = `(l.snoozed_until IS NULL OR l.snoozed_until <= $3)`
	const asleep = `l.snoozed_until > $3`
	part := func(who, state, order string) string {
		return `(` + leadSelect + ` WHERE l.tenant_id = $1 AND ` + who + ` AND ` + open + ` AND ` + state + ` ORDER BY ` + order + ` LIMIT $4)`
	}
	args := []any{tid, f.OwnerID, now, f.Limit}
	// unionOrder names the same order by column position of leadSelect
	// (16 stage_changed_at, 25 snoozed_until, 1 id).
	q := func(state, order, unionOrder string) string {
		if f.TeamID == nil {
			return part(`l.owner_id = $2`, state, order)
		}
		return part(`l.owner_id = $2`, state, order) + ` UNION ` + part(`l.team_id = $5`, state, order) + ` ORDER BY ` + unionOrder + ` LIMIT $4`
	}
	if f.TeamID != nil {
		args = append(args, *f.TeamID)
	}
	var out []lead.Lead
	{
		for _, sql := range []string{q(awake, `l.stage_changed_at, l.id`, `16, 1`), q(asleep, `l.snoozed_until, l.id`, `25, 1`)} {
			rows, err := tx.Query(ctx, sql, args...)
			if err != nil {
				return nil, fmt.Errorf("query inbox: %w", err)
			}
			part, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lead.Lead, error) { return scanLead(r) })
			if err != nil {
				return nil, fmt.Errorf("scan inbox: %w", err)
			}
			out = append(out, part...)
		}
	}
	return out, nil
}

// InboxPage is everything the inbox shows, read in one transaction: the
// leads, the reasons a rejection may give, and the members a manager may
// reassign to.
type InboxPage struct {
	Leads   []lead.Lead
	Reasons []Reason
	Members []auth.Member
	// Assets are the library's active assets, for the share picker.
	Assets []AssetOption
	// Timers are the running timers of the leads, soonest due first.
	Timers map[uuid.UUID][]Timer
}

// FindInboxPage reads the inbox of the filter; withMembers adds the active
// reps and managers (of the filter's team, or all for TeamID nil).
func (s *Store) FindInboxPage(ctx context.Context, tid tenant.ID, f InboxFilter, withMembers bool, now time.Time) (InboxPage, error) {
	var pg InboxPage
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		if !f.RefsOnly {
			if pg.Leads, pg.Timers, err = findInboxByTimeLeft(ctx, tx, tid, f, now); err != nil {
				return err
			}
		}
		if pg.Assets, err = findAssetOptions(ctx, tx, tid); err != nil {
			return err
		}
		if pg.Reasons, err = findReasons(ctx, tx, tid); err != nil {
			return err
		}
		if !withMembers {
			return nil
		}
		rows, err := tx.Query(ctx, memberSelect+`
			WHERE m.tenant_id = $1 AND m.active AND m.role IN ('rep', 'manager') AND ($2::uuid IS NULL OR m.team_id = $2)
			ORDER BY u.name, u.email`, tid, nullIfNil(f.TeamID))
		if err != nil {
			return fmt.Errorf("query members: %w", err)
		}
		pg.Members, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Member, error) { return scanMember(r) })
		return err
	})
	return pg, err
}

// findInboxByTimeLeft orders the inbox by time left: leads with running
// timers first, soonest due first (read from the open-timers index of the
// holder or team), then the rest by time waiting.
func findInboxByTimeLeft(ctx context.Context, tx pgx.Tx, tid tenant.ID, f InboxFilter, now time.Time) ([]lead.Lead, map[uuid.UUID][]Timer, error) {
	if f.Limit == 0 {
		f.Limit = InboxLimit
	}
	who := `t.holder_id = $2`
	args := []any{tid, f.OwnerID, f.Limit}
	if f.TeamID != nil {
		who = `(t.holder_id = $2 OR t.team_id = $4)`
		args = append(args, *f.TeamID)
	}
	// Straight down the open-timers index by due time (a lead with two
	// running timers comes twice: twice the limit is read); the leads'
	// stages are checked once they are loaded.
	args[2] = 2 * f.Limit
	rows, err := tx.Query(ctx, `
		SELECT t.lead_id FROM sla_timers t
		WHERE t.tenant_id = $1 AND `+who+` AND t.status IN ('running', 'at_risk')
		ORDER BY t.due_at, t.lead_id LIMIT $3`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("inbox by time left: %w", err)
	}
	due, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, nil, fmt.Errorf("scan inbox by time left: %w", err)
	}
	var timed []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, id := range due {
		if !seen[id] && len(timed) < f.Limit {
			seen[id] = true
			timed = append(timed, id)
		}
	}
	rest, err := findInbox(ctx, tx, tid, f, now)
	if err != nil {
		return nil, nil, err
	}
	byID := map[uuid.UUID]lead.Lead{}
	for _, l := range rest {
		byID[l.ID] = l
	}
	// Timed leads beyond the first page by waiting are read in one query,
	// not one each.
	var missing []uuid.UUID
	for _, id := range timed {
		if _, ok := byID[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		rows, err := tx.Query(ctx, leadSelect+` WHERE l.tenant_id = $1 AND l.id = ANY($2)`, tid, missing)
		if err != nil {
			return nil, nil, fmt.Errorf("query timed leads: %w", err)
		}
		more, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lead.Lead, error) { return scanLead(r) })
		if err != nil {
			return nil, nil, fmt.Errorf("scan timed leads: %w", err)
		}
		for _, l := range more {
			byID[l.ID] = l
		}
	}
	var out []lead.Lead
	placed := map[uuid.UUID]bool{}
	for _, id := range timed {
		l, ok := byID[id]
		if !ok || !l.Stage.Open() {
			continue // gone, or moved on, since the timers were read
		}
		if l.SnoozedUntil != nil && l.SnoozedUntil.After(now) {
			continue // snoozed leads keep their place at the end
		}
		out = append(out, l)
		placed[id] = true
	}
	for _, l := range rest {
		if !placed[l.ID] && len(out) < f.Limit {
			out = append(out, l)
			placed[l.ID] = true
		}
	}
	ids := make([]uuid.UUID, 0, len(out))
	for _, l := range out {
		ids = append(ids, l.ID)
	}
	timers := map[uuid.UUID][]Timer{}
	if len(ids) > 0 {
		rows, err := tx.Query(ctx, timerSelect+` WHERE t.tenant_id = $1 AND t.lead_id = ANY($2) AND t.status IN ('running', 'at_risk') ORDER BY t.due_at`,
			tid, ids)
		if err != nil {
			return nil, nil, fmt.Errorf("inbox timers: %w", err)
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Timer, error) { return scanTimer(r) })
		if err != nil {
			return nil, nil, fmt.Errorf("scan inbox timers: %w", err)
		}
		for _, t := range list {
			timers[t.LeadID] = append(timers[t.LeadID], t)
		}
	}
	return out, timers, nil
}
