package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/demo"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/sla"
)

// BenchmarkPreview_100k replays 90 days holding 100,000 handoffs (about
// 170,000 generated leads and their history) under a proposed agreement:
// the RevOps preview, which must answer in under 2 s.
//
//	go test ./internal/postgres/ -run '^$' -bench 'Preview_100k' -benchtime 5x -timeout 30m
func BenchmarkPreview_100k(b *testing.B) {
	bd := setup(b)
	ctx := context.Background()
	cfg := salesFloor(b, bd.store, bd.a, 20)
	cfg.Leads, cfg.Days, cfg.Now = envInt(b, "ACCORD_BENCH_PREVIEW_LEADS", 200_000), 89, t0
	_, err := bd.store.SaveAgreement(ctx, bd.a.ID, bd.a.Admin(), postgres.SaveAgreementInput{Clauses: []sla.Clause{
		{Kind: sla.KindRespond, TargetMinutes: 240}, {Kind: sla.KindFirstTouch, TargetMinutes: 480},
		{Kind: sla.KindAttempts, Attempts: 3, TargetMinutes: 2400}, {Kind: sla.KindRecycle, TargetMinutes: 2400},
	}}, t0.AddDate(0, 0, -120))
	require.NoError(b, err)
	g, err := demo.New(cfg)
	require.NoError(b, err)
	_, err = bd.store.BulkInsertLeadHistory(ctx, bd.a.ID, g, postgres.BulkOptions{})
	require.NoError(b, err)
	_, err = bd.db.OwnerConn(b).Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
	proposed := []sla.Clause{{Kind: sla.KindRespond, TargetMinutes: 120}, {Kind: sla.KindFirstTouch, TargetMinutes: 240}}
	var pv postgres.Preview
	b.ResetTimer()
	for range b.N {
		pv, err = bd.store.PreviewAgreement(ctx, bd.a.ID, proposed, t0)
		require.NoError(b, err)
	}
	b.StopTimer()
	var handoffs int
	owner := bd.db.OwnerConn(b)
	_, err = owner.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, false)`, bd.a.ID.String())
	require.NoError(b, err)
	require.NoError(b, owner.QueryRow(ctx, `SELECT count(*) FROM lead_transitions WHERE tenant_id = $1 AND to_stage = 'mql' AND at >= $2`,
		bd.a.ID, t0.AddDate(0, 0, -postgres.PreviewDays)).Scan(&handoffs))
	b.ReportMetric(float64(handoffs), "handoffs")
	b.ReportMetric(float64(pv.Leads), "leads")
	b.ReportMetric(float64(pv.Current.Met+pv.Current.Breached), "timers")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/preview")
}
