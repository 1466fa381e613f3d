package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/tenant"
)

// CreateAPIToken stores a new token of tenant tid by its hash; the plain
// token exists only in the caller's hands.
func (s *Store) CreateAPIToken(ctx context.Context, tid tenant.ID, actor auth.Actor, in auth.TokenInput, hash []byte, hint string, now time.Time) (auth.APIToken, error) {
	t := auth.APIToken{ID: uuid.New(), Name: in.Name, Scope: in.Scope, Hint: hint, CreatedBy: actor.Name, CreatedAt: now}
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO api_tokens (tenant_id, id, name, scope, token_hash, hint, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			tid, t.ID, t.Name, string(t.Scope), hash, hint, nullUUID(actor.ID), now); err != nil {
			return fmt.Errorf("insert api token: %w", mapErr(err))
		}
		return insertAudit(ctx, tx, tid, actor, now, "token.created", "api_token", t.ID.String(), nil,
			map[string]any{"name": t.Name, "scope": t.Scope})
	})
	return t, err
}

// FindAPITokens lists the tokens of tenant tid, newest first.
func (s *Store) FindAPITokens(ctx context.Context, tid tenant.ID) ([]auth.APIToken, error) {
	var out []auth.APIToken
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT t.id, t.name, t.scope, t.hint, coalesce(u.name, 'command line'), t.created_at, t.last_used_at, t.revoked_at
			FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by
			WHERE t.tenant_id = $1
			ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC`, tid)
		if err != nil {
			return fmt.Errorf("query api tokens: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.APIToken, error) {
			var t auth.APIToken
			var scope string
			err := r.Scan(&t.ID, &t.Name, &scope, &t.Hint, &t.CreatedBy, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt)
			t.Scope = auth.Scope(scope)
			return t, err
		})
		return err
	})
	return out, err
}

// RevokeAPIToken stops token id of tenant tid from working. Revoking twice
// is not an error.
func (s *Store) RevokeAPIToken(ctx context.Context, tid tenant.ID, actor auth.Actor, id uuid.UUID, now time.Time) error {
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $3) WHERE tenant_id = $1 AND id = $2`, tid, id, now)
		if err != nil {
			return fmt.Errorf("revoke api token: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("revoke api token: %w", ErrNotFound)
		}
		return insertAudit(ctx, tx, tid, actor, now, "token.revoked", "api_token", id.String(), nil, nil)
	})
	// Forgotten whatever the outcome (a failed commit may still have
	// committed): the tenant's next requests in this process read their
	// tokens again, and a lookup that began before the commit is not cached.
	s.tokens.forgetTenant(tid)
	return err
}

// tokenTouchEvery limits last_used_at writes to one a minute per token, so
// authenticating a burst of API calls does not write on every one.
const tokenTouchEvery = time.Minute

// FindTokenPrincipal returns the principal of the live token of tenant tid
// whose hash is hash. Revoked and unknown tokens are not found. It runs on
// every API request, so it is one round trip: a pipelined batch (one
// implicit transaction) that sets the tenant, reads the token and notes its
// use at most once a minute; and a live token found is trusted for
// tokenCacheTTL without asking again.
func (s *Store) FindTokenPrincipal(ctx context.Context, tid tenant.ID, hash []byte, now time.Time) (auth.Principal, error) {
	p := auth.Principal{Type: auth.ActorToken}
	if tid.IsZero() {
		return p, fmt.Errorf("find api token: %w", ErrNotFound)
	}
	cached, gen, ok := s.tokens.get(tid, hash)
	if ok {
		return cached, nil
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('accord.tenant_id', $1, true), set_config('accord.user_id', '', true)`, tid.String())
	b.Queue(`
		SELECT k.id, k.name, k.scope, t.id, t.slug, t.name, t.time_zone, t.currency, t.created_at
		FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id
		WHERE k.tenant_id = $1 AND k.token_hash = $2 AND k.revoked_at IS NULL`, tid, hash)
	b.Queue(`
		UPDATE api_tokens SET last_used_at = $3
		WHERE tenant_id = $1 AND token_hash = $2 AND revoked_at IS NULL
		  AND (last_used_at IS NULL OR last_used_at <= $4)`, tid, hash, now, now.Add(-tokenTouchEvery))
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return p, fmt.Errorf("set scope: %w", err)
	}
	var scope string
	err := br.QueryRow().Scan(&p.ID, &p.Name, &scope, &p.Tenant.ID, &p.Tenant.Slug, &p.Tenant.Name, &p.Tenant.TimeZone, &p.Tenant.Currency, &p.Tenant.CreatedAt)
	if err != nil {
		return p, fmt.Errorf("find api token: %w", mapErr(err))
	}
	if _, err := br.Exec(); err != nil {
		return p, fmt.Errorf("touch api token: %w", err)
	}
	p.Scope = auth.Scope(scope)
	if err := br.Close(); err != nil {
		return p, fmt.Errorf("find api token: %w", err)
	}
	s.tokens.put(tid, hash, p, gen)
	return p, nil
}
