package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/tenant"
)

// BreachNotice is what channel accord_breaches carries: a tenant that has
// just recorded Count breaches (migration 000010's trigger, on commit).
type BreachNotice struct {
	TenantID tenant.ID
	Count    int
}

// ListenBreaches holds one connection listening on accord_breaches and
// calls fn with every notice until ctx ends or the connection fails (the
// caller reconnects). ready, when not nil, is called once the LISTEN is in
// place, so a caller can tell that no later breach will be missed.
func (s *Store) ListenBreaches(ctx context.Context, ready func(), fn func(BreachNotice)) error {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire listener: %w", err)
	}
	// A LISTENing connection must not go back to the pool: it is taken out
	// of it, and closed when done.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN accord_breaches`); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if ready != nil {
		ready()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for breaches: %w", err)
		}
		var b struct {
			TenantID uuid.UUID `json:"tenant_id"`
			Count    int       `json:"count"`
		}
		if err := json.Unmarshal([]byte(n.Payload), &b); err != nil {
			continue // not ours to read: ignore rather than stop listening
		}
		fn(BreachNotice{TenantID: tenant.ID(b.TenantID), Count: b.Count})
	}
}
