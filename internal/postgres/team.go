package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

const teamSelect = `
	SELECT tm.id, tm.name, tm.side, tm.manager_id, coalesce(mu.name, ''), tm.calendar_id, coalesce(c.name, ''),
	       (SELECT count(*) FROM memberships m WHERE m.tenant_id = tm.tenant_id AND m.team_id = tm.id AND m.active),
	       tm.created_at
	FROM teams tm
	LEFT JOIN users mu ON mu.id = tm.manager_id
	LEFT JOIN calendars c ON c.tenant_id = tm.tenant_id AND c.id = tm.calendar_id`

func scanTeam(r pgx.Row) (tenant.Team, error) {
	var t tenant.Team
	var side string
	err := r.Scan(&t.ID, &t.Name, &side, &t.ManagerID, &t.ManagerName, &t.CalendarID, &t.CalendarName, &t.Members, &t.CreatedAt)
	t.Side = tenant.Side(side)
	return t, err
}

// FindTeams returns the teams of tenant tid by side and name.
func (s *Store) FindTeams(ctx context.Context, tid tenant.ID) ([]tenant.Team, error) {
	var out []tenant.Team
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		out, err = findTeams(ctx, tx, tid)
		return err
	})
	return out, err
}

func findTeams(ctx context.Context, tx pgx.Tx, tid tenant.ID) ([]tenant.Team, error) {
	rows, err := tx.Query(ctx, teamSelect+` WHERE tm.tenant_id = $1 ORDER BY tm.side, tm.name`, tid)
	if err != nil {
		return nil, fmt.Errorf("query teams: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.Team, error) { return scanTeam(r) })
	if err != nil {
		return nil, fmt.Errorf("scan teams: %w", err)
	}
	return out, nil
}

// FindTeam returns team id of tenant tid.
func (s *Store) FindTeam(ctx context.Context, tid tenant.ID, id uuid.UUID) (tenant.Team, error) {
	var t tenant.Team
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		t, err = findTeam(ctx, tx, tid, id)
		return err
	})
	return t, err
}

func findTeam(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID) (tenant.Team, error) {
	t, err := scanTeam(tx.QueryRow(ctx, teamSelect+` WHERE tm.tenant_id = $1 AND tm.id = $2`, tid, id))
	if err != nil {
		return tenant.Team{}, fmt.Errorf("find team: %w", mapErr(err))
	}
	return t, nil
}

// teamWriteError turns constraint failures into messages on the fields that
// caused them.
func teamWriteError(err error) error {
	mapped := mapErr(err)
	switch {
	case errors.Is(mapped, ErrConflict):
		return validator.Errors{"name": "another team already has this name"}
	case errors.Is(mapped, ErrInvalidReference):
		switch constraintOf(err) {
		case "teams_tenant_id_manager_id_fkey":
			return validator.Errors{"manager_id": "is not a member of this tenant"}
		case "teams_tenant_id_calendar_id_fkey":
			return validator.Errors{"calendar_id": "is not a calendar of this tenant"}
		}
	}
	return fmt.Errorf("write team: %w", mapped)
}

// CreateTeam adds a team to tenant tid.
func (s *Store) CreateTeam(ctx context.Context, tid tenant.ID, actor auth.Actor, in tenant.TeamInput, now time.Time) (tenant.Team, error) {
	var t tenant.Team
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		id := uuid.New()
		if _, err := tx.Exec(ctx, `
			INSERT INTO teams (tenant_id, id, name, side, manager_id, calendar_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			tid, id, in.Name, string(in.Side), in.ManagerID, in.CalendarID, now); err != nil {
			return teamWriteError(err)
		}
		var err error
		if t, err = findTeam(ctx, tx, tid, id); err != nil {
			return err
		}
		return insertAudit(ctx, tx, tid, actor, now, "team.created", "team", id.String(), nil, teamAudit(t))
	})
	return t, err
}

// UpdateTeam replaces name, side, manager and calendar of team id.
func (s *Store) UpdateTeam(ctx context.Context, tid tenant.ID, actor auth.Actor, id uuid.UUID, in tenant.TeamInput, now time.Time) (tenant.Team, error) {
	var after tenant.Team
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		before, err := findTeam(ctx, tx, tid, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE teams SET name = $3, side = $4, manager_id = $5, calendar_id = $6
			WHERE tenant_id = $1 AND id = $2`,
			tid, id, in.Name, string(in.Side), in.ManagerID, in.CalendarID); err != nil {
			return teamWriteError(err)
		}
		if after, err = findTeam(ctx, tx, tid, id); err != nil {
			return err
		}
		return insertAudit(ctx, tx, tid, actor, now, "team.updated", "team", id.String(), teamAudit(before), teamAudit(after))
	})
	return after, err
}

func teamAudit(t tenant.Team) map[string]any {
	return map[string]any{"name": t.Name, "side": t.Side, "manager_id": t.ManagerID, "calendar_id": t.CalendarID}
}
