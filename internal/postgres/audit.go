package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/tenant"
)

// AuditEntry is one line of a tenant's audit log.
type AuditEntry struct {
	ID        int64
	At        time.Time
	ActorType auth.ActorType
	ActorID   *uuid.UUID
	ActorName string
	Action    string
	Entity    string
	EntityID  string
	Before    json.RawMessage
	After     json.RawMessage
}

// insertAudit records who changed what, with the state before and after, in
// the transaction of the change itself.
func insertAudit(ctx context.Context, tx pgx.Tx, tid tenant.ID, actor auth.Actor, now time.Time,
	action, entity, entityID string, before, after any) error {
	b, err := jsonOrNil(before)
	if err != nil {
		return err
	}
	a, err := jsonOrNil(after)
	if err != nil {
		return err
	}
	var actorID *uuid.UUID
	if actor.ID != uuid.Nil {
		actorID = &actor.ID
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO audit_log (tenant_id, at, actor_type, actor_id, actor_name, action, entity, entity_id, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		tid, now, string(actor.Type), actorID, actor.Name, action, entity, entityID, b, a)
	if err != nil {
		return fmt.Errorf("insert audit entry: %w", err)
	}
	return nil
}

func jsonOrNil(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode audit state: %w", err)
	}
	return b, nil
}

// FindAuditEntries returns the newest audit entries of tenant tid, at most
// limit, optionally only those about one entity kind ("" for all).
func (s *Store) FindAuditEntries(ctx context.Context, tid tenant.ID, entity string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT id, at, actor_type, actor_id, actor_name, action, entity, entity_id, before, after
			FROM audit_log
			WHERE tenant_id = $1 AND ($2 = '' OR entity = $2)
			ORDER BY id DESC
			LIMIT $3`, tid, entity, limit)
		if err != nil {
			return fmt.Errorf("query audit log: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
			var e AuditEntry
			var at string
			err := r.Scan(&e.ID, &e.At, &at, &e.ActorID, &e.ActorName, &e.Action, &e.Entity, &e.EntityID, &e.Before, &e.After)
			e.ActorType = auth.ActorType(at)
			return e, err
		})
		return err
	})
	return out, err
}
