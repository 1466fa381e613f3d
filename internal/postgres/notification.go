package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/tenant"
)

// Notification is an in-app message for one user (the bell).
type Notification struct {
	ID        int64
	UserID    uuid.UUID
	Kind      string
	Title     string
	Body      string
	Link      string
	DedupeKey string // a second notification with the same key is dropped
	CreatedAt time.Time
	ReadAt    *time.Time
}

func insertNotification(ctx context.Context, tx pgx.Tx, tid tenant.ID, n Notification, now time.Time) error {
	var key *string
	if n.DedupeKey != "" {
		key = &n.DedupeKey
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO notifications (tenant_id, user_id, kind, title, body, link, dedupe_key, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT DO NOTHING`, tid, n.UserID, n.Kind, n.Title, n.Body, n.Link, key, now)
	if err != nil {
		return fmt.Errorf("insert notification: %w", err)
	}
	return nil
}

// FindNotifications returns user uid's newest notifications and the number unread.
func (s *Store) FindNotifications(ctx context.Context, tid tenant.ID, uid uuid.UUID, limit int) ([]Notification, int, error) {
	var out []Notification
	var unread int
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL`,
			tid, uid).Scan(&unread); err != nil {
			return fmt.Errorf("count notifications: %w", err)
		}
		rows, err := tx.Query(ctx, `
			SELECT id, user_id, kind, title, body, link, created_at, read_at FROM notifications
			WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`, tid, uid, limit)
		if err != nil {
			return fmt.Errorf("query notifications: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notification, error) {
			var n Notification
			return n, r.Scan(&n.ID, &n.UserID, &n.Kind, &n.Title, &n.Body, &n.Link, &n.CreatedAt, &n.ReadAt)
		})
		return err
	})
	return out, unread, err
}

// CountUnreadNotifications is the bell's number.
func (s *Store) CountUnreadNotifications(ctx context.Context, tid tenant.ID, uid uuid.UUID) (int, error) {
	var n int
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL`,
			tid, uid).Scan(&n)
	})
	return n, err
}

// MarkNotificationsRead marks all of user uid's notifications read.
func (s *Store) MarkNotificationsRead(ctx context.Context, tid tenant.ID, uid uuid.UUID, now time.Time) error {
	return s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE notifications SET read_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL`, tid, uid, now)
		return err
	})
}
