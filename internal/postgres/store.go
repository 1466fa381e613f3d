package postgres

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/accordhq/accord/internal/tenant"
)

// Store is Accord's data store over a pool of the application role.
type Store struct {
	pool   *pgxpool.Pool
	jobs   *river.Client[pgx.Tx]
	logger *slog.Logger
	tokens *tokenCache
}

// NewStore returns a store over pool. Jobs (emails, webhooks, imports) are
// inserted with an insert-only River client in the same transaction as the
// change that causes them, so a job exists if and only if its cause does.
func NewStore(pool *pgxpool.Pool, logger *slog.Logger) (*Store, error) {
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: RiverSchema, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("river insert client: %w", err)
	}
	return &Store{pool: pool, jobs: jobs, logger: logger, tokens: newTokenCache()}, nil
}

// Pool returns the underlying pool, for health checks and pool metrics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// inTenant runs fn in one transaction whose row-level security scope is
// tenant tid. Every tenant-owned store method goes through here.
func (s *Store) inTenant(ctx context.Context, tid tenant.ID, fn func(pgx.Tx) error) error {
	if tid.IsZero() {
		return fmt.Errorf("tenant transaction without a tenant: %w", ErrNotFound)
	}
	return s.inScope(ctx, tid.String(), "", fn)
}

// inTenantSnapshot is inTenant for a read that must see one snapshot
// across its statements (REPEATABLE READ, READ ONLY): figures summed from
// rollups, their deltas and the facts beside them agree only if no write
// commits between the statements that read them.
func (s *Store) inTenantSnapshot(ctx context.Context, tid tenant.ID, fn func(pgx.Tx) error) error {
	if tid.IsZero() {
		return fmt.Errorf("tenant transaction without a tenant: %w", ErrNotFound)
	}
	return s.inScopeBegin(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", tid.String(), "", fn)
}

// inTenantAsUser is inTenant that also names the signed-in user, so that the
// user's own memberships of other tenants are readable (for the switcher).
func (s *Store) inTenantAsUser(ctx context.Context, tid tenant.ID, uid uuid.UUID, fn func(pgx.Tx) error) error {
	if tid.IsZero() {
		return fmt.Errorf("tenant transaction without a tenant: %w", ErrNotFound)
	}
	return s.inScope(ctx, tid.String(), uid.String(), fn)
}

// inGlobal runs fn in a transaction without a tenant: only global tables
// (users, sessions, tenants) are visible, plus, with uid, the user's own
// memberships.
func (s *Store) inGlobal(ctx context.Context, uid uuid.UUID, fn func(pgx.Tx) error) error {
	user := ""
	if uid != uuid.Nil {
		user = uid.String()
	}
	return s.inScope(ctx, "", user, fn)
}

func (s *Store) inScope(ctx context.Context, tid, uid string, fn func(pgx.Tx) error) error {
	return s.inScopeBegin(ctx, "BEGIN", tid, uid, fn)
}

// inScopeBegin is inScope whose transaction starts with begin (a BEGIN
// statement with its modes). Inside an outer transaction the outer one's
// modes hold.
func (s *Store) inScopeBegin(ctx context.Context, begin, tid, uid string, fn func(pgx.Tx) error) error {
	// Inside an outer transaction (an idempotent request), join it with a
	// savepoint, so the effect and its idempotency record commit together.
	if outer, ok := ctx.Value(outerTxKey{}).(*outerTx); ok {
		if outer.tenant != tid {
			return fmt.Errorf("store call for another tenant inside a tenant transaction")
		}
		sp, err := outer.tx.Begin(ctx)
		if err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		if err := fn(sp); err != nil {
			_ = sp.Rollback(context.WithoutCancel(ctx))
			return err
		}
		if err := sp.Commit(ctx); err != nil {
			return fmt.Errorf("release savepoint: %w", mapErr(err))
		}
		return nil
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: scopedBegin(begin, tid, uid)})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

type outerTxKey struct{}

// outerTx is a tenant transaction that store calls made under its context join.
type outerTx struct {
	tx     pgx.Tx
	tenant string
}

// scopedBegin starts a transaction and sets its tenant and user in one round
// trip. The values are canonical UUIDs (or empty), checked here, so writing
// them into the statement cannot inject anything.
func scopedBegin(begin, tid, uid string) string {
	if !canonicalUUID(tid) || !canonicalUUID(uid) {
		// Never reached with ids made by tenant.ID and uuid.UUID; refuse
		// anything else rather than quote it.
		tid, uid = "00000000-0000-0000-0000-000000000000", ""
	}
	return begin + "; SELECT set_config('accord.tenant_id', '" + tid + "', true), set_config('accord.user_id', '" + uid + "', true)"
}

// canonicalUUID reports whether s is "" or a lower-case canonical UUID.
func canonicalUUID(s string) bool {
	if s == "" {
		return true
	}
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
				return false
			}
		}
	}
	return true
}
