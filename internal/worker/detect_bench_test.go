package worker

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/postgres/postgrestest"
)

// BenchmarkBreachDetection runs the breach loop (real clock) over a tenant
// with N running timers due over the next 30 days, adds 500 timers due one
// every 10 ms starting 2 s later, and reports how late each was marked
// breached: detected_at − due_at, p50, p99 and max. DESIGN's figure: p99
// ≤ 1 s with 1,000,000 running timers (ACCORD_BENCH_TIMERS changes N).
//
//	go test ./internal/worker/ -run '^$' -bench 'BreachDetection' -benchtime 1x
func BenchmarkBreachDetection(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("ACCORD_BENCH_TIMERS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err)
	}
	const due = 500
	ctx := context.Background()
	now := time.Now()
	f := newSLAFixture(b, now.Add(-time.Hour))
	owner := f.owner(b)
	_, err := owner.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, false)`, f.tn.ID.String())
	require.NoError(b, err)
	a, err := f.db.Store.FindAgreement(ctx, f.tn.ID)
	require.NoError(b, err)
	teams, err := f.db.Store.FindTeams(ctx, f.tn.ID)
	require.NoError(b, err)
	rt := postgrestest.RunningTimers{Tenant: uuid.UUID(f.tn.ID), ClauseID: a.Clauses[0].ID, TeamID: teams[0].ID, Holders: []uuid.UUID{f.rep.ID},
		N: n, Due: now.Add(time.Hour), Spread: 30 * 24 * time.Hour / time.Duration(n)}
	postgrestest.InsertRunningTimers(b, owner, rt)

	w, err := New(Options{Logger: discard, Store: f.db.Store, Now: time.Now, NoBreachLoop: true})
	require.NoError(b, err)
	loopCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.runSLA(loopCtx) }()
	defer func() { stop(); <-done }()

	var lags []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		start := time.Now().Add(2 * time.Second)
		rt.N, rt.Due, rt.Spread = due, start, 10*time.Millisecond
		postgrestest.InsertRunningTimers(b, owner, rt)
		b.StartTimer()
		end := start.Add(due * rt.Spread)
		waitFor(b, end.Sub(time.Now())+30*time.Second, "the breaches", func() bool {
			return count(b, owner, `SELECT count(*) FROM sla_breaches WHERE due_at >= $1`, start) == due
		})
		rows, err := owner.Query(ctx, `SELECT detected_at - due_at FROM sla_breaches WHERE due_at >= $1 AND due_at < $2`, start, end)
		require.NoError(b, err)
		for rows.Next() {
			var d time.Duration
			require.NoError(b, rows.Scan(&d))
			lags = append(lags, d)
		}
		require.NoError(b, rows.Err())
		// The next round's timers must not be mistaken for this one's.
		_, err = owner.Exec(ctx, `DELETE FROM sla_breaches WHERE due_at >= $1`, start)
		require.NoError(b, err)
	}
	slices.Sort(lags)
	at := func(q float64) float64 { return float64(lags[int(q*float64(len(lags)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(at(1), "max-ms")
}
