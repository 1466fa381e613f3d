package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/webhook"
)

// WebhookEndpoint is a URL a tenant registered for some event types.
type WebhookEndpoint struct {
	ID        uuid.UUID
	URL       string
	Events    []string
	Format    string
	Secret    string
	Active    bool
	CreatedAt time.Time
}

const webhookSelect = `SELECT id, url, events, format, secret, active, created_at FROM webhook_endpoints`

func scanWebhook(r pgx.Row) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	err := r.Scan(&e.ID, &e.URL, &e.Events, &e.Format, &e.Secret, &e.Active, &e.CreatedAt)
	return e, err
}

// CreateWebhookEndpoint registers an endpoint with a new signing secret.
// Inputs are validated by the caller (webhook.ValidateURL, webhook.ValidType).
func (s *Store) CreateWebhookEndpoint(ctx context.Context, tid tenant.ID, actor auth.Actor, url string, events []string, format string, now time.Time) (WebhookEndpoint, error) {
	e := WebhookEndpoint{ID: uuid.New(), URL: url, Events: events, Format: format, Secret: webhook.NewSecret(), Active: true, CreatedAt: now}
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_endpoints (tenant_id, id, url, events, format, secret, active, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, true, $7)`, tid, e.ID, e.URL, e.Events, e.Format, e.Secret, now); err != nil {
			return fmt.Errorf("insert webhook endpoint: %w", mapErr(err))
		}
		return insertAudit(ctx, tx, tid, actor, now, "webhook.created", "webhook", e.ID.String(), nil,
			map[string]any{"url": e.URL, "events": e.Events, "format": e.Format})
	})
	return e, err
}

// FindWebhookEndpoints lists tenant tid's endpoints, newest first.
func (s *Store) FindWebhookEndpoints(ctx context.Context, tid tenant.ID) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, webhookSelect+` WHERE tenant_id = $1 ORDER BY created_at DESC`, tid)
		if err != nil {
			return fmt.Errorf("query webhook endpoints: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (WebhookEndpoint, error) { return scanWebhook(r) })
		return err
	})
	return out, err
}

// FindWebhookEndpoint returns endpoint id of tenant tid.
func (s *Store) FindWebhookEndpoint(ctx context.Context, tid tenant.ID, id uuid.UUID) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		e, err = scanWebhook(tx.QueryRow(ctx, webhookSelect+` WHERE tenant_id = $1 AND id = $2`, tid, id))
		if err != nil {
			return fmt.Errorf("find webhook endpoint: %w", mapErr(err))
		}
		return nil
	})
	return e, err
}

// WebhookUpdate changes an endpoint; nil fields stay.
type WebhookUpdate struct {
	URL    *string
	Events []string
	Format *string
	Active *bool
	// ToggleActive flips the endpoint on or off from what it is now (the
	// settings page's button), so a double submit cannot fight itself.
	ToggleActive bool
}

// UpdateWebhookEndpoint changes endpoint id of tenant tid.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, tid tenant.ID, actor auth.Actor, id uuid.UUID, u WebhookUpdate, now time.Time) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		before, err := scanWebhook(tx.QueryRow(ctx, webhookSelect+` WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tid, id))
		if err != nil {
			return fmt.Errorf("find webhook endpoint: %w", mapErr(err))
		}
		e = before
		if u.URL != nil {
			e.URL = *u.URL
		}
		if u.Events != nil {
			e.Events = u.Events
		}
		if u.Format != nil {
			e.Format = *u.Format
		}
		if u.Active != nil {
			e.Active = *u.Active
		}
		if u.ToggleActive {
			e.Active = !before.Active
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET url = $3, events = $4, format = $5, active = $6 WHERE tenant_id = $1 AND id = $2`,
			tid, id, e.URL, e.Events, e.Format, e.Active); err != nil {
			return fmt.Errorf("update webhook endpoint: %w", err)
		}
		return insertAudit(ctx, tx, tid, actor, now, "webhook.updated", "webhook", id.String(),
			map[string]any{"url": before.URL, "events": before.Events, "format": before.Format, "active": before.Active},
			map[string]any{"url": e.URL, "events": e.Events, "format": e.Format, "active": e.Active})
	})
	return e, err
}

// DeleteWebhookEndpoint removes endpoint id; deliveries queued for it stop.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, tid tenant.ID, actor auth.Actor, id uuid.UUID, now time.Time) error {
	return s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tid, id)
		if err != nil {
			return fmt.Errorf("delete webhook endpoint: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("delete webhook endpoint: %w", ErrNotFound)
		}
		return insertAudit(ctx, tx, tid, actor, now, "webhook.deleted", "webhook", id.String(), nil, nil)
	})
}
