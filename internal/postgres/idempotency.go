package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/tenant"
)

// IdempotencyTTL is how long a key's first response is replayed (API.md).
const IdempotencyTTL = 24 * time.Hour

// ErrIdempotencyMismatch reports a key reused with a different request.
var ErrIdempotencyMismatch = errors.New("this Idempotency-Key was used with a different request")

// Response is a recorded HTTP response, replayed for a repeated key.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// Idempotent runs fn at most once per key of tenant tid. fn runs inside one
// transaction with the key's record: store calls made with the context it is
// given join that transaction, so the effect and the stored response commit
// together or not at all. A repeated key with the same request hash gets the
// stored response (replayed true); with another hash, ErrIdempotencyMismatch.
// A request still running under the same key makes the second wait up to 5 s
// for it, then ErrConflict. Responses of 500 and above are not stored.
func (s *Store) Idempotent(ctx context.Context, tid tenant.ID, key string, hash []byte, now time.Time,
	fn func(ctx context.Context) (Response, error)) (Response, bool, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: scopedBegin("BEGIN", tid.String(), "") + ", set_config('lock_timeout', '5s', true)"})
	if err != nil {
		return Response{}, false, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	tag, err := tx.Exec(ctx, `
		INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, content_type, body, created_at)
		VALUES ($1, $2, $3, 0, '', '', $4)
		ON CONFLICT (tenant_id, key) DO UPDATE
		  SET request_hash = excluded.request_hash, status = 0, content_type = '', body = '', created_at = excluded.created_at
		  WHERE idempotency_keys.created_at <= $5`,
		tid, key, hash, now, now.Add(-IdempotencyTTL))
	if err != nil {
		if isLockTimeout(err) {
			return Response{}, false, fmt.Errorf("idempotency key in flight: %w", ErrConflict)
		}
		return Response{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		// The key was used within 24 hours: replay its response.
		var stored Response
		var storedHash []byte
		if err := tx.QueryRow(ctx, `SELECT request_hash, status, content_type, body FROM idempotency_keys WHERE tenant_id = $1 AND key = $2`,
			tid, key).Scan(&storedHash, &stored.Status, &stored.ContentType, &stored.Body); err != nil {
			return Response{}, false, fmt.Errorf("read idempotency key: %w", mapErr(err))
		}
		if !bytes.Equal(storedHash, hash) {
			return Response{}, false, ErrIdempotencyMismatch
		}
		return stored, true, nil
	}
	resp, err := fn(context.WithValue(ctx, outerTxKey{}, &outerTx{tx: tx, tenant: tid.String()}))
	if err != nil {
		return Response{}, false, err
	}
	if resp.Status >= 500 {
		return resp, false, nil // rolled back by the deferred Rollback
	}
	if _, err := tx.Exec(ctx, `UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 WHERE tenant_id = $1 AND key = $2`,
		tid, key, resp.Status, resp.ContentType, resp.Body); err != nil {
		return Response{}, false, fmt.Errorf("store idempotent response: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Response{}, false, fmt.Errorf("commit: %w", mapErr(err))
	}
	return resp, false, nil
}

func isLockTimeout(err error) bool {
	return constraintCode(err) == "55P03"
}

// DeleteOldIdempotencyKeys removes keys past their 24 hours; the worker runs it.
// It must see every tenant, so it runs tenant by tenant.
func (s *Store) DeleteOldIdempotencyKeys(ctx context.Context, now time.Time) (int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM tenants`)
	if err != nil {
		return 0, fmt.Errorf("list tenants: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[tenant.ID])
	if err != nil {
		return 0, fmt.Errorf("scan tenants: %w", err)
	}
	var total int64
	for _, tid := range ids {
		err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND created_at <= $2`, tid, now.Add(-IdempotencyTTL))
			total += tag.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("delete old idempotency keys: %w", err)
		}
	}
	return total, nil
}
