package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// AdminInput is the first admin of a new tenant. An existing user with that
// email joins the tenant as admin and keeps their password.
type AdminInput struct {
	Email        string
	Name         string
	PasswordHash string
}

const tenantColumns = `id, slug, name, time_zone, currency, created_at`

func scanTenant(row pgx.Row) (tenant.Tenant, error) {
	var t tenant.Tenant
	err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.TimeZone, &t.Currency, &t.CreatedAt)
	return t, err
}

// CreateTenant creates a tenant with its default calendar (Mon–Fri
// 09:00–17:00 in its zone) and its first admin, in one transaction.
func (s *Store) CreateTenant(ctx context.Context, in tenant.Input, admin AdminInput, now time.Time) (tenant.Tenant, uuid.UUID, error) {
	t := tenant.Tenant{ID: tenant.NewID(), Slug: in.Slug, Name: in.Name, TimeZone: in.TimeZone, Currency: in.Currency, CreatedAt: now}
	var adminID uuid.UUID
	err := s.inTenant(ctx, t.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenants (`+tenantColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.ID, t.Slug, t.Name, t.TimeZone, t.Currency, t.CreatedAt)
		if err != nil {
			if errors.Is(mapErr(err), ErrConflict) {
				return validator.Errors{"slug": "is taken by another tenant"}
			}
			return fmt.Errorf("insert tenant: %w", err)
		}
		if err := insertTenantDefaults(ctx, tx, t.ID, now); err != nil {
			return err
		}
		if _, err := insertCalendar(ctx, tx, t.ID, sla.CalendarInput{
			Name: "Business hours", TimeZone: t.TimeZone, Hours: sla.DefaultWeek(),
		}, true, now); err != nil {
			return err
		}
		adminID, err = ensureUser(ctx, tx, admin.Email, admin.Name, admin.PasswordHash, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, 'admin', $3)`,
			t.ID, adminID, now); err != nil {
			return fmt.Errorf("insert admin membership: %w", err)
		}
		return insertAudit(ctx, tx, t.ID, auth.SystemActor, now, "tenant.created", "tenant", t.ID.String(), nil,
			map[string]any{"slug": t.Slug, "name": t.Name, "time_zone": t.TimeZone, "currency": t.Currency, "admin": admin.Email})
	})
	if err != nil {
		return tenant.Tenant{}, uuid.Nil, err
	}
	return t, adminID, nil
}

// ensureUser returns the id of the user with email, creating it when missing.
// An existing user without a password gets passwordHash (if given).
func ensureUser(ctx context.Context, tx pgx.Tx, email, name, passwordHash string, now time.Time) (uuid.UUID, error) {
	var hash *string
	if passwordHash != "" {
		hash = &passwordHash
	}
	var id uuid.UUID
	err := tx.QueryRow(ctx, `
		INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (email) DO UPDATE SET password_hash = coalesce(users.password_hash, excluded.password_hash)
		RETURNING id`, uuid.New(), email, name, hash, now).Scan(&id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("upsert user: %w", err)
	}
	return id, nil
}

// FindTenantBySlug returns the tenant with slug.
func (s *Store) FindTenantBySlug(ctx context.Context, slug string) (tenant.Tenant, error) {
	t, err := scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE slug = $1`, slug))
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("find tenant %q: %w", slug, mapErr(err))
	}
	return t, nil
}

// FindTenantByID returns tenant tid.
func (s *Store) FindTenantByID(ctx context.Context, tid tenant.ID) (tenant.Tenant, error) {
	t, err := scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, tid))
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("find tenant: %w", mapErr(err))
	}
	return t, nil
}

// CountTenants reports how many tenants exist (seed demo runs on an empty database).
func (s *Store) CountTenants(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM tenants`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tenants: %w", err)
	}
	return n, nil
}
