package postgres_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/demo"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
)

// salesFloor gives tenant tn a sales team of n reps (the third one slow),
// a manager and a marketer, and returns the generator config that uses them.
func salesFloor(t testing.TB, store *postgres.Store, tn postgrestest.Tenant, n int) demo.Config {
	t.Helper()
	ctx := context.Background()
	mgr := postgrestest.CreateMember(t, store, tn, "mgr@"+tn.Slug+".test", "Manager", tenant.RoleManager, t0)
	mkt := postgrestest.CreateMember(t, store, tn, "mkt@"+tn.Slug+".test", "Marketer", tenant.RoleMarketing, t0)
	team, err := store.CreateTeam(ctx, tn.ID, tn.Admin(), tenant.TeamInput{Name: "Sales", Side: tenant.SideSales, ManagerID: &mgr.ID}, t0)
	require.NoError(t, err)
	require.NoError(t, store.ReplaceRouting(ctx, tn.ID, tn.Admin(), lead.Routing{DefaultTeamID: &team.ID}, t0))
	reasons, err := store.FindReasons(ctx, tn.ID)
	require.NoError(t, err)
	cfg := demo.Config{Seed: 1, Now: t0, Days: 60, Location: tn.Location(), Segments: postgres.DefaultSegments,
		Marketer: auth.Actor{Type: auth.ActorUser, ID: mkt.ID, Name: mkt.Name}, Website: "https://www." + tn.Slug + ".test"}
	for _, r := range reasons {
		cfg.Reasons = append(cfg.Reasons, r.Code)
	}
	for k := 0; k < n; k++ {
		m := postgrestest.CreateMember(t, store, tn, fmt.Sprintf("rep%d@%s.test", k+1, tn.Slug), fmt.Sprintf("Rep %d", k+1), tenant.RoleRep, t0)
		_, err := store.UpdateMember(ctx, tn.ID, tn.Admin(), m.ID, auth.MemberUpdate{TeamID: &team.ID, ManagerID: &mgr.ID}, t0)
		require.NoError(t, err)
		cfg.Reps = append(cfg.Reps, demo.Rep{ID: m.ID, Name: m.Name, TeamID: team.ID, TeamName: team.Name, Slow: k == 2})
	}
	return cfg
}

// requireHistoryShape asserts what every bulk-loaded history promises: no
// broken invariant, one campaign rejected far more than the others, and
// one rep far slower than the others to decide and to touch.
func requireHistoryShape(t *testing.T, c postgres.HistoryCheck, slow uuid.UUID) {
	t.Helper()
	require.Empty(t, c.Problems)
	bad := c.RejectionRate[demo.RejectedCampaign]
	require.Greater(t, bad, 0.6, "rates %v", c.RejectionRate)
	for campaign, rate := range c.RejectionRate {
		if campaign != demo.RejectedCampaign {
			require.Less(t, rate, bad-0.2, "campaign %q against %v", campaign, c.RejectionRate)
		}
	}
	require.Contains(t, c.MedianRespond, slow)
	for owner, d := range c.MedianRespond {
		if owner != slow {
			require.Greater(t, c.MedianRespond[slow], 4*d)
			require.Greater(t, c.MedianFirstTouch[slow], 4*c.MedianFirstTouch[owner])
		}
	}
}

func TestStore_BulkInsertLeadHistory(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()
	cfg := salesFloor(t, bd.store, bd.a, 4)
	cfg.Leads = 2000
	g, err := demo.New(cfg)
	require.NoError(t, err)
	var progress []int64
	stats, err := bd.store.BulkInsertLeadHistory(ctx, bd.a.ID, g, postgres.BulkOptions{ChunkSize: 700, Workers: 2,
		Progress: func(s postgres.BulkStats) { progress = append(progress, s.Leads) }})
	require.NoError(t, err)
	require.EqualValues(t, 2000, stats.Leads)
	require.Len(t, progress, 3, "one call per chunk")
	require.EqualValues(t, 2000, progress[2])
	// The chunks' search entries are merged: none is left pending for a
	// user's next insert to merge (migration 18).
	requireNoSearchPending(t, bd.db.Pool)

	// The rows are what the generator made.
	var want postgres.BulkStats
	var l demo.Lead
	for i := 0; i < g.Len(); i++ {
		g.Lead(i, &l)
		want.Transitions += int64(len(l.Transitions))
		want.Activities += int64(len(l.Activities))
		want.Assignments += int64(len(l.Assignments))
		want.Pauses += int64(len(l.Pauses))
	}
	require.Equal(t, want.Transitions, stats.Transitions)
	require.Equal(t, want.Activities, stats.Activities)
	require.Equal(t, want.Assignments, stats.Assignments)
	require.Equal(t, want.Pauses, stats.Pauses)

	c, err := bd.store.CheckLeadHistories(ctx, bd.a.ID, t0)
	require.NoError(t, err)
	require.Equal(t, 2000, c.Leads)
	require.EqualValues(t, stats.Transitions, c.Transitions)
	requireHistoryShape(t, c, cfg.Reps[2].ID)
	for _, st := range lead.Stages {
		require.Positive(t, c.Stages[string(st)], "stage %s in %v", st, c.Stages)
	}

	// A lead reads back like any other, timeline included.
	g.Lead(1234, &l)
	got, err := bd.store.FindLead(ctx, bd.a.ID, l.ID)
	require.NoError(t, err)
	require.Equal(t, l.Stage, got.Stage)
	require.Equal(t, l.Email, *got.Email)
	require.Equal(t, "EUR", got.Currency)
	require.Equal(t, l.Version, got.Version)
	timeline, err := bd.store.FindTimeline(ctx, bd.a.ID, l.ID)
	require.NoError(t, err)
	require.Len(t, timeline, len(l.Transitions)+len(l.Activities)+len(l.Assignments)+len(l.Pauses))

	t.Run("OtherTenantSeesNothing", func(t *testing.T) {
		c, err := bd.store.CheckLeadHistories(ctx, bd.b.ID, t0)
		require.NoError(t, err)
		require.Zero(t, c.Leads)
		require.Zero(t, c.Transitions)
		_, err = bd.store.FindLead(ctx, bd.b.ID, l.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		page, err := bd.store.FindLeads(ctx, bd.b.ID, lead.Filter{})
		require.NoError(t, err)
		require.Empty(t, page.Leads)
	})

	t.Run("SkipExisting", func(t *testing.T) {
		again, err := bd.store.BulkInsertLeadHistory(ctx, bd.a.ID, g, postgres.BulkOptions{SkipExisting: true})
		require.NoError(t, err)
		require.Zero(t, again.Leads)
		require.EqualValues(t, 2000, again.Skipped)
		require.Zero(t, again.Rows())

		more := cfg
		more.Leads, more.Offset, more.Seed = 300, 2000, 2
		g2, err := demo.New(more)
		require.NoError(t, err)
		added, err := bd.store.BulkInsertLeadHistory(ctx, bd.a.ID, g2, postgres.BulkOptions{SkipExisting: true})
		require.NoError(t, err)
		require.EqualValues(t, 300, added.Leads)
		n, err := bd.store.CountLeads(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, 2300, n)
	})

	t.Run("CheckFindsBrokenHistories", func(t *testing.T) {
		// The check reads through the store, so the damage is committed
		// (as the owner, scoped to the tenant) and repaired afterwards.
		owner := bd.db.OwnerConn(t)
		exec := func(q string, args ...any) {
			t.Helper()
			_, err := owner.Exec(ctx, q, args...)
			require.NoError(t, err)
		}
		exec(`SELECT set_config('accord.tenant_id', $1, false)`, bd.a.ID.String())
		g.Lead(7, &l)
		exec(`UPDATE leads SET stage = 'won' WHERE tenant_id = $1 AND id = $2`, bd.a.ID, l.ID)
		exec(`INSERT INTO lead_transitions (tenant_id, lead_id, seq, from_stage, to_stage, at, recorded_at, actor_type, actor_name, reason)
			VALUES ($1, $2, 99, 'new', 'lost', $3, $3, 'system', 'test', 'no_such_reason')`, bd.a.ID, l.ID, t0.Add(time.Hour))
		c, err := bd.store.CheckLeadHistories(ctx, bd.a.ID, t0)
		exec(`DELETE FROM lead_transitions WHERE tenant_id = $1 AND lead_id = $2 AND seq = 99`, bd.a.ID, l.ID)
		exec(`UPDATE leads SET stage = $3 WHERE tenant_id = $1 AND id = $2`, bd.a.ID, l.ID, string(l.Stage))
		require.NoError(t, err)
		for _, want := range []string{"seq not gapless from 1", "stage, stage_changed_at or owner not the latest transition's",
			"transition not from the previous stage, not later than it, or not an allowed move", "transition or activity not in the past",
			"reason missing where required, or not one of the tenant's"} {
			require.Contains(t, c.Problems, want)
		}
		c, err = bd.store.CheckLeadHistories(ctx, bd.a.ID, t0)
		require.NoError(t, err)
		require.Empty(t, c.Problems, "repaired")
	})

	t.Run("DuplicateFailsTheChunk", func(t *testing.T) {
		_, err := bd.store.BulkInsertLeadHistory(ctx, bd.a.ID, g, postgres.BulkOptions{})
		require.ErrorIs(t, err, postgres.ErrConflict)
		n, err := bd.store.CountLeads(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, 2300, n, "the failed chunk left nothing")
	})
}

func TestStore_CreateNotifications(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()
	at := t0.Add(-time.Hour)
	require.NoError(t, bd.store.CreateNotifications(ctx, bd.a.ID, []postgres.BulkNotification{
		{Notification: postgres.Notification{UserID: bd.a.AdminID, Kind: "lead.assigned", Title: "Old", CreatedAt: at.Add(-time.Hour)}, Read: true},
		{Notification: postgres.Notification{UserID: bd.a.AdminID, Kind: "lead.assigned", Title: "New", Link: "/leads", CreatedAt: at}},
	}))
	ns, unread, err := bd.store.FindNotifications(ctx, bd.a.ID, bd.a.AdminID, 10)
	require.NoError(t, err)
	require.Equal(t, 1, unread)
	require.Len(t, ns, 2)
	require.Equal(t, "New", ns[0].Title)
	require.True(t, ns[0].CreatedAt.Equal(at))
	require.NotNil(t, ns[1].ReadAt)
	_, unread, err = bd.store.FindNotifications(ctx, bd.b.ID, bd.a.AdminID, 10)
	require.NoError(t, err)
	require.Zero(t, unread)
}

// BenchmarkBulkInsertLeadHistory is the figure of `accord seed synthetic`:
// 1,000,000 leads with their history (ACCORD_BENCH_LEADS overrides the
// number, ACCORD_BENCH_WORKERS the workers) into a fresh tenant, as the
// seed does it. It reports the rows per
// second of the whole load and, per table, over the time spent on it.
// Benchmarks run only when -bench selects them:
//
//	go test ./internal/postgres/ -run '^$' -bench BulkInsertLeadHistory -benchtime 1x -timeout 30m
func BenchmarkBulkInsertLeadHistory(b *testing.B) {
	n, workers := 1_000_000, min(runtime.NumCPU(), 4)
	for name, into := range map[string]*int{"ACCORD_BENCH_LEADS": &n, "ACCORD_BENCH_WORKERS": &workers} {
		if v := os.Getenv(name); v != "" {
			var err error
			if *into, err = strconv.Atoi(v); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
		}
	}
	db := postgrestest.NewDB(b)
	ctx := context.Background()
	iteration := 0
	var stats postgres.BulkStats
	for b.Loop() {
		b.StopTimer()
		iteration++
		tn := postgrestest.CreateTenant(b, db.Store, fmt.Sprintf("bench-%d", iteration), t0)
		cfg := salesFloor(b, db.Store, tn, 20)
		cfg.Leads, cfg.Days = n, 365
		g, err := demo.New(cfg)
		require.NoError(b, err)
		b.StartTimer()
		stats, err = db.Store.BulkInsertLeadHistory(ctx, tn.ID, g, postgres.BulkOptions{Workers: workers})
		require.NoError(b, err)
	}
	b.ReportMetric(stats.Elapsed.Seconds(), "s/load")
	b.ReportMetric(float64(stats.Rows())/stats.Elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(stats.Rows())/float64(stats.Leads), "rows/lead")
	tables := stats.TableRows()
	names := make([]string, 0, len(tables))
	for name := range tables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if busy := stats.Copy[name] + stats.Insert[name]; busy > 0 {
			b.ReportMetric(float64(tables[name])/busy.Seconds(), name+"-rows/s")
		}
		b.Logf("%-17s %9d rows, copy %6.1fs, insert %6.1fs", name, tables[name], stats.Copy[name].Seconds(), stats.Insert[name].Seconds())
	}
}

// requireNoSearchPending asserts that the trigram search index has no
// entries in its pending list: merging it again cleans no page.
func requireNoSearchPending(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var pages int64
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT accord_flush_lead_search()`).Scan(&pages))
	require.Zero(t, pages, "pages of search entries left pending")
}
