package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"

	"github.com/accordhq/accord/internal/postgres/postgrestest"
)

// BenchmarkPage_SignedIn measures the server time of a signed-in page (the
// layout with navigation, the tenant switcher and the session): the whole
// handler chain, database included, without the network. It reports p50
// and p99 beside the mean.
func BenchmarkPage_SignedIn(b *testing.B) {
	h := newHarness(b)
	br := h.browser()
	br.login(h.a.AdminEmail, postgrestest.Password)
	cookie := br.sessionCookie()
	var durations []time.Duration
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.srv.ServeHTTP(rec, req)
		durations = append(durations, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkAPI_Accept is the load figure: accept handed-off leads
// through the real HTTP API (token auth, JSON, one transaction each) from
// 8, 16 and 32 concurrent clients on loopback, each accept a different
// lead. It reports requests per second and the p50 and p99 latency. The
// clients send the next request as soon as the last one is answered, so
// at the machine's capacity a request waits behind the other clients' (a
// latency of about clients ÷ throughput): the fewer clients that keep the
// cores busy, the closer p99 is to the service time.
//
// ACCORD_BENCH_ACCEPT_BARE=1 measures the ceiling of the request path
// itself: in the benchmark's own database it disables the funnel facts'
// trigger (and so the rollups' deltas) and drops the lead indexes an
// accept does not read, keeping the primary key, the unique email and
// external id, and the owner's inbox. =facts or =indexes does one of the
// two. The figures are then not Accord's, only what each costs.
func BenchmarkAPI_Accept(b *testing.B) {
	for _, workers := range []int{8, 16, 32} {
		b.Run(fmt.Sprintf("clients=%d", workers), func(b *testing.B) { benchmarkAccept(b, workers) })
	}
}

func benchmarkAccept(b *testing.B, workers int) {
	h := newHarness(b)
	ctx := context.Background()
	rep := h.member(h.a, "rep@alpha.test", tenant.RoleRep)
	token := h.token(h.a, auth.ScopeIngest)
	ids := seedHandedOff(b, h, rep.ID, b.N)
	bare := os.Getenv("ACCORD_BENCH_ACCEPT_BARE")
	if bare == "1" || bare == "facts" {
		_, err := h.db.OwnerConn(b).Exec(ctx, `ALTER TABLE lead_transitions DISABLE TRIGGER lead_transitions_facts`)
		require.NoError(b, err)
	}
	if bare == "1" || bare == "indexes" {
		_, err := h.db.OwnerConn(b).Exec(ctx, `
			DROP INDEX leads_stage_idx, leads_updated_idx, leads_owner_idx, leads_team_idx, leads_created_idx,
			           leads_owner_created_idx, leads_open_pipeline_idx, leads_snoozed_owner_idx, leads_snoozed_team_idx,
			           leads_inbox_team_idx, lead_transitions_stage_idx`)
		require.NoError(b, err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	latencies := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.ts.URL+"/api/v1/leads/"+ids[i]+"/transitions",
					strings.NewReader(`{"to":"accepted"}`))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				latencies[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d accepts failed", n, b.N)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}

// seedHandedOff writes n leads already handed off to owner straight in SQL
// (the benchmark measures accepting, not creating).
func seedHandedOff(b *testing.B, h *harness, owner uuid.UUID, n int) []string {
	b.Helper()
	ctx := context.Background()
	conn := h.db.OwnerConn(b)
	_, err := conn.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, false)`, h.a.ID.String())
	require.NoError(b, err)
	now := h.clock.Now()
	rows, err := conn.Query(ctx, `
		WITH ins AS (
			INSERT INTO leads (tenant_id, id, email, stage, stage_changed_at, owner_id, currency, created_at, updated_at, version)
			SELECT $1, gen_random_uuid(), 'bench' || g || '@load.test', 'mql', $3, $2, 'EUR', $3, $3, 2
			FROM generate_series(1, $4) g
			RETURNING id)
		SELECT id::text FROM ins`, h.a.ID, owner, now.Add(-time.Hour), n)
	require.NoError(b, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(b, err)
	_, err = conn.Exec(ctx, `
		INSERT INTO lead_transitions (tenant_id, lead_id, seq, from_stage, to_stage, at, recorded_at, actor_type, actor_name)
		SELECT tenant_id, id, 1, NULL, 'new', created_at, created_at, 'system', 'bench' FROM leads WHERE tenant_id = $1
		UNION ALL
		SELECT tenant_id, id, 2, 'new', 'mql', created_at, created_at, 'system', 'bench' FROM leads WHERE tenant_id = $1`, h.a.ID)
	require.NoError(b, err)
	_, err = conn.Exec(ctx, `ANALYZE leads; ANALYZE lead_transitions`)
	require.NoError(b, err)
	return ids
}

// BenchmarkRepPages_1M is the figure for a big tenant: the inbox
// and the lead list of one rep in a tenant of 1,000,000 leads (20 reps, and
// 100,000 more with a running timer),
// server time through the whole handler chain. ACCORD_BENCH_LEADS changes
// the size.
func BenchmarkRepPages_1M(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("ACCORD_BENCH_LEADS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("ACCORD_BENCH_LEADS: %v", err)
		}
	}
	h := newHarness(b)
	ctx := context.Background()
	var reps []uuid.UUID
	for i := 0; i < 20; i++ {
		reps = append(reps, h.member(h.a, fmt.Sprintf("rep%d@alpha.test", i), tenant.RoleRep).ID)
	}
	conn := h.db.OwnerConn(b)
	_, err := conn.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, false)`, h.a.ID.String())
	require.NoError(b, err)
	start := time.Now()
	_, err = conn.Exec(ctx, `
		INSERT INTO leads (tenant_id, id, email, first_name, last_name, company, segment, source, campaign, stage,
		                   stage_changed_at, owner_id, currency, created_at, updated_at)
		SELECT $1, gen_random_uuid(), 'lead' || g || '@big.test', 'First' || g, 'Last' || (g % 5000), 'Company ' || (g % 20000),
		       (ARRAY['smb', 'mid', 'enterprise'])[1 + g % 3], (ARRAY['paid_search', 'organic', 'webinar', 'events'])[1 + g % 4],
		       'campaign-' || (g % 40),
		       (ARRAY['new', 'mql', 'accepted', 'rejected', 'sql', 'opportunity', 'won', 'lost', 'recycled'])[1 + g % 9],
		       $3::timestamptz - make_interval(mins => g), ($2::uuid[])[1 + g % 20], 'EUR', $3::timestamptz - make_interval(mins => g), $3
		FROM generate_series(1, $4) g`, h.a.ID, reps, h.clock.Now(), n)
	require.NoError(b, err)
	// A respond clause and 100,000 more leads with a running timer, 5,000
	// per rep, so the inbox orders by time left as it does in use.
	team, err := h.db.Store.CreateTeam(ctx, h.a.ID, h.a.Admin(), tenant.TeamInput{Name: "Sales", Side: tenant.SideSales}, h.clock.Now())
	require.NoError(b, err)
	a, err := h.db.Store.SaveAgreement(ctx, h.a.ID, h.a.Admin(), postgres.SaveAgreementInput{Clauses: []sla.Clause{{Kind: sla.KindRespond, TargetMinutes: 240}}}, h.clock.Now())
	require.NoError(b, err)
	postgrestest.InsertRunningTimers(b, conn, postgrestest.RunningTimers{Tenant: uuid.UUID(h.a.ID), ClauseID: a.Clauses[0].ID, TeamID: team.ID,
		Holders: reps, N: 100_000, Due: h.clock.Now().Add(time.Hour), Spread: time.Second})
	_, err = conn.Exec(ctx, `ANALYZE leads`)
	require.NoError(b, err)
	b.Logf("seeded %d leads in %s", n, time.Since(start).Round(time.Second))

	br := h.browser()
	br.login("rep0@alpha.test", postgrestest.Password)
	cookie := br.sessionCookie()
	// Two searches: one name (a rare term), and one whose trigrams are in
	// every lead ("company" is in all their companies), the trigram
	// index's worst case.
	for _, path := range []string{"/inbox", "/leads", "/leads?q=lead777777", "/leads?q=company+123"} {
		b.Run(strings.NewReplacer("/", "", "?", "-", "=", "-", "+", "-").Replace(path), func(b *testing.B) {
			var durations []time.Duration
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				t0 := time.Now()
				h.srv.ServeHTTP(rec, req)
				durations = append(durations, time.Since(t0))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: status %d", path, rec.Code)
				}
			}
			sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
			b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(durations[len(durations)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
