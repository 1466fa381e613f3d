package postgrestest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// RunningTimers describes leads, each handed off an hour before its due
// time with one running respond timer, that benchmarks pour into a tenant.
type RunningTimers struct {
	Tenant   uuid.UUID
	ClauseID uuid.UUID // a respond clause of agreement version 1
	TeamID   uuid.UUID
	Holders  []uuid.UUID // the i-th lead goes to Holders[i % len]
	N        int
	Due      time.Time     // the first timer's due time
	Spread   time.Duration // the i-th is due at Due + i*Spread
}

// InsertRunningTimers writes rt by SQL as the schema owner (owner, from
// OwnerConn, with accord.tenant_id set to rt.Tenant for the policies
// that bind the owner too): fixture speed, a million in about a minute, for benchmarks
// that measure what happens to the timers afterwards, not their creation.
// Its already warned timers (at_risk_notified) next need a look at their
// due time.
func InsertRunningTimers(t testing.TB, owner *pgx.Conn, rt RunningTimers) {
	t.Helper()
	ctx := context.Background()
	tag := uuid.NewString()[:8]
	_, err := owner.Exec(ctx, `
		WITH l AS (
		  INSERT INTO leads (tenant_id, id, email, first_name, stage, stage_changed_at, owner_id, team_id, currency, created_at, updated_at, version)
		  SELECT $1, gen_random_uuid(), 'b' || $7 || '-' || g || '@bench.test', 'Lead ' || g, 'mql', $2, ($5::uuid[])[1 + g % array_length($5, 1)], $6, 'EUR', $2, $2, 2
		  FROM generate_series(0, $3 - 1) g
		  RETURNING id, owner_id, team_id, (regexp_match(email, '-([0-9]+)@'))[1]::int AS g)
		INSERT INTO sla_timers (tenant_id, id, lead_id, kind, side, start_seq, clause_id, agreement_version, status, started_at, due_at,
		                        warn_at, holder_id, team_id, next_check_at, at_risk_notified, holders, updated_at)
		SELECT $1, gen_random_uuid(), l.id, 'respond', 'sales', 2, $8, 1, 'running', $2,
		       $4::timestamptz + l.g * $9::interval, $4::timestamptz + l.g * $9::interval, l.owner_id, l.team_id,
		       $4::timestamptz + l.g * $9::interval, true, '[]', $2
		FROM l`,
		rt.Tenant, rt.Due.Add(-time.Hour), rt.N, rt.Due, rt.Holders, rt.TeamID, tag, rt.ClauseID, rt.Spread)
	if err != nil {
		t.Fatalf("postgrestest: insert running timers: %v", err)
	}
	if _, err := owner.Exec(ctx, `ANALYZE sla_timers`); err != nil {
		t.Fatalf("postgrestest: analyze: %v", err)
	}
}
