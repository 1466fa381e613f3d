package worker

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
)

// TestWorker_CompactsRollups: a running worker folds the funnel deltas a
// handoff appends into the rollups (migration 16), so dashboards read few
// deltas; without its compaction loop the deltas would stay.
func TestWorker_CompactsRollups(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	ctx := context.Background()
	now := time.Now()
	tn := postgrestest.CreateTenant(t, db.Store, "acme", now)
	api := auth.Principal{Type: auth.ActorToken, ID: uuid.New(), Name: "CRM sync", Scope: auth.ScopeIngest, Tenant: tn.Tenant}
	for _, email := range []string{"ana@example.com", "bo@example.com"} {
		res, err := db.Store.UpsertLead(ctx, tn.ID, api, lead.Input{Email: &email}, now)
		require.NoError(t, err)
		_, err = db.Store.Transition(ctx, tn.ID, api, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL}, now)
		require.NoError(t, err)
	}
	conn, err := db.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, false)`, tn.ID.String())
	require.NoError(t, err)
	count := func(sql string) int64 {
		var n int64
		require.NoError(t, conn.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	require.EqualValues(t, 2, count(`SELECT coalesce(sum(n), 0) FROM lead_handoff_deltas`), "the handoffs' deltas")
	require.Zero(t, count(`SELECT count(*) FROM lead_cohort_rollup`))

	runWorker(t, db.Store, time.Now)
	deadline := time.Now().Add(30 * time.Second)
	for count(`SELECT count(*) FROM lead_handoff_deltas`) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the worker did not fold the deltas within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.EqualValues(t, 2, count(`SELECT handoffs FROM lead_cohort_rollup WHERE fdim = 0 AND level = 0 AND sdim = 0`),
		"the day's total holds both handoffs")
}
