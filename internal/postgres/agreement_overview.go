package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// AgreementOverview is what the Agreement page shows, read in one
// transaction: the version in force, the latest versions for the history,
// the calendars and the teams on them, and how each period clause stands.
type AgreementOverview struct {
	Agreement sla.Agreement
	Versions  []sla.Agreement // newest first
	Calendars []sla.Calendar
	Teams     []tenant.Team
	Periods   []PeriodStanding
}

// FindAgreementOverview returns tenant tid's agreement overview at now,
// with at most versions versions of history.
func (s *Store) FindAgreementOverview(ctx context.Context, tid tenant.ID, now time.Time, versions int) (AgreementOverview, error) {
	var o AgreementOverview
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		if o.Agreement, err = findAgreement(ctx, tx, tid); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, agreementSelect+` WHERE tenant_id = $1 ORDER BY version DESC LIMIT $2`, tid, versions)
		if err != nil {
			return fmt.Errorf("query agreement versions: %w", err)
		}
		if o.Versions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (sla.Agreement, error) { return scanAgreement(r) }); err != nil {
			return fmt.Errorf("scan agreement versions: %w", err)
		}
		if o.Calendars, err = findCalendars(ctx, tx, tid, uuid.Nil); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, teamSelect+` WHERE tm.tenant_id = $1 ORDER BY tm.side, tm.name`, tid)
		if err != nil {
			return fmt.Errorf("query teams: %w", err)
		}
		if o.Teams, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.Team, error) { return scanTeam(r) }); err != nil {
			return fmt.Errorf("scan teams: %w", err)
		}
		o.Periods, err = findPeriodStandings(ctx, tx, tid, now, 6)
		return err
	})
	return o, err
}
