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

// InboxFilter chooses whose inbox: a rep's own leads, or a manager's team.
type InboxFilter struct {
	OwnerID uuid.UUID
	TeamID  *uuid.UUID // a manager: the team's leads and its queue too
	Limit   int
}

// FindInbox returns the leads sales is working for the filter, those
// waiting longest first; snoozed leads come last, by when they wake.
func (s *Store) FindInbox(ctx context.Context, tid tenant.ID, f InboxFilter, now time.Time) ([]lead.Lead, error) {
	if f.Limit == 0 {
		f.Limit = 200
	}
	var out []lead.Lead
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		who := `l.owner_id = $2`
		args := []any{tid, f.OwnerID, now, f.Limit}
		if f.TeamID != nil {
			who = `(l.owner_id = $2 OR l.team_id = $5)`
			args = append(args, *f.TeamID)
		}
		rows, err := tx.Query(ctx, leadSelect+`
			WHERE l.tenant_id = $1 AND `+who+` AND l.stage IN ('mql', 'accepted', 'sql', 'opportunity')
			ORDER BY (l.snoozed_until IS NOT NULL AND l.snoozed_until > $3), coalesce(l.snoozed_until, l.stage_changed_at), l.stage_changed_at, l.id
			LIMIT $4`, args...)
		if err != nil {
			return fmt.Errorf("query inbox: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (lead.Lead, error) { return scanLead(r) })
		return err
	})
	return out, err
}
