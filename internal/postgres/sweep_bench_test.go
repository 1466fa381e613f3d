package postgres_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// sweepFixture is a tenant with a sales team, its reps, a respond clause
// with a two-step ladder, and a webhook endpoint, into which benchmarks
// pour timers by SQL (as the owner: fixture speed, not what is measured).
type sweepFixture struct {
	db     *postgrestest.DB
	tn     postgrestest.Tenant
	reps   []auth.Member
	team   tenant.Team
	clause sla.Clause
	owner  *pgx.Conn
}

func newSweepFixture(b *testing.B) *sweepFixture {
	b.Helper()
	ctx := context.Background()
	db := postgrestest.NewDB(b)
	f := &sweepFixture{db: db, owner: db.OwnerConn(b)}
	now := time.Now()
	f.tn = postgrestest.CreateTenant(b, db.Store, "sweep", now.Add(-time.Hour))
	mgr := postgrestest.CreateMember(b, db.Store, f.tn, "mgr@sweep.test", "Manager", tenant.RoleManager, now.Add(-time.Hour))
	var err error
	f.team, err = db.Store.CreateTeam(ctx, f.tn.ID, f.tn.Admin(), tenant.TeamInput{Name: "Sales", Side: tenant.SideSales, ManagerID: &mgr.ID}, now.Add(-time.Hour))
	require.NoError(b, err)
	for i := range 20 {
		m := postgrestest.CreateMember(b, db.Store, f.tn, "rep"+strconv.Itoa(i)+"@sweep.test", "Rep "+strconv.Itoa(i), tenant.RoleRep, now.Add(-time.Hour))
		_, err := db.Store.UpdateMember(ctx, f.tn.ID, f.tn.Admin(), m.ID, auth.MemberUpdate{TeamID: &f.team.ID}, now.Add(-time.Hour))
		require.NoError(b, err)
		f.reps = append(f.reps, m)
	}
	a, err := db.Store.SaveAgreement(ctx, f.tn.ID, f.tn.Admin(), postgres.SaveAgreementInput{Clauses: []sla.Clause{{
		Kind: sla.KindRespond, TargetMinutes: 60,
		Escalation: []sla.Step{{AfterMinutes: 0, Notify: []string{"holder", "manager"}}, {AfterMinutes: 240, Notify: []string{"role:admin"}}},
	}}}, now.Add(-time.Hour))
	require.NoError(b, err)
	f.clause = a.Clauses[0]
	_, err = db.Store.CreateWebhookEndpoint(ctx, f.tn.ID, f.tn.Admin(), "https://hooks.example.com/sweep", []string{"breach.created"}, "accord", now)
	require.NoError(b, err)
	_, err = f.owner.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, false)`, f.tn.ID.String())
	require.NoError(b, err)
	return f
}

// addTimers inserts n handed-off leads with a running respond timer each,
// due at due plus i*spread for the i-th.
func (f *sweepFixture) addTimers(b *testing.B, n int, due time.Time, spread time.Duration) {
	b.Helper()
	reps := make([]uuid.UUID, len(f.reps))
	for i, r := range f.reps {
		reps[i] = r.ID
	}
	postgrestest.InsertRunningTimers(b, f.owner, postgrestest.RunningTimers{
		Tenant: uuid.UUID(f.tn.ID), ClauseID: f.clause.ID, TeamID: f.team.ID, Holders: reps, N: n, Due: due, Spread: spread})
}

func envInt(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		return n
	}
	return def
}

// BenchmarkSweep_Tick measures one sweep that finds 10 timers due among N
// running ones that are not: the worker's per-tick cost, which must not
// grow with N.
//
//	go test ./internal/postgres/ -run '^$' -bench 'Sweep_Tick' -benchtime 200x
func BenchmarkSweep_Tick(b *testing.B) {
	for _, n := range []int{10_000, envInt(b, "ACCORD_BENCH_TIMERS", 1_000_000)} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			f := newSweepFixture(b)
			now := time.Now()
			// N running timers due over the next 30 days, none due now.
			f.addTimers(b, n, now.Add(time.Hour), 30*24*time.Hour/time.Duration(n))
			f.addTimers(b, 10*b.N, now.Add(-time.Minute), 0)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				res, err := f.db.Store.SweepDueTimers(ctx, now, 10, postgres.SweepOptions{})
				require.NoError(b, err)
				require.Equal(b, 10, res.Breached)
			}
		})
	}
}

// BenchmarkSweep_Burst measures how long the worker takes to breach and
// notify 10,000 timers due in the same second, with 2 sweepers at once
// (two worker processes on this 2-core machine).
//
//	go test ./internal/postgres/ -run '^$' -bench 'Sweep_Burst' -benchtime 1x
func BenchmarkSweep_Burst(b *testing.B) {
	n := envInt(b, "ACCORD_BENCH_BURST", 10_000)
	f := newSweepFixture(b)
	ctx := context.Background()
	var total time.Duration
	for range b.N {
		b.StopTimer()
		now := time.Now()
		f.addTimers(b, n, now.Add(-time.Second), 0)
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		breached := 0
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					res, err := f.db.Store.SweepDueTimers(ctx, now, 500, postgres.SweepOptions{Email: true, BaseURL: "http://accord.test"})
					require.NoError(b, err)
					mu.Lock()
					breached += res.Breached
					mu.Unlock()
					if res.Claimed == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		total += time.Since(start)
		require.Equal(b, n, breached)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/burst")
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "breaches/s")
}
