package metric_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/sla"
)

func clause(kind sla.Kind) sla.Clause {
	return sla.Clause{ID: uuid.MustParse("7f0c5a4e-1b2d-4e3f-8a9b-0c1d2e3f4a5b"), Side: kind.Side(), Kind: kind, Period: sla.PeriodMonth}
}

func TestScorePeriodClause(t *testing.T) {
	t.Parallel()
	oct := period(t, "2026-10-01", "2026-11-01")

	volume := clause(sla.KindVolume)
	volume.TargetCount = ptr(400)
	enterprise := "enterprise"
	volume.Scope.Segment = &enterprise
	icp := clause(sla.KindICPQuality)
	icp.TargetPercent = ptr(60.0)
	pipeline := clause(sla.KindPipeline)
	pipeline.TargetAmount = ptr(int64(5_000_000)) // 50,000.00

	for _, tc := range []struct {
		name    string
		c       sla.Clause
		m       sla.PeriodMeasure
		elapsed float64
		unit    string
		target  float64
		actual  *float64
		status  sla.PeriodStatus
		pace    string
	}{
		{"volume behind pace", volume, sla.PeriodMeasure{Handoffs: 190}, 0.5, metric.UnitCount, 400, ptr(190.0), sla.PeriodAtRisk, "on pace for 380 of 400"},
		{"volume on pace", volume, sla.PeriodMeasure{Handoffs: 210}, 0.5, metric.UnitCount, 400, ptr(210.0), sla.PeriodOnTrack, "on pace for 420 of 400"},
		{"volume ended short", volume, sla.PeriodMeasure{Handoffs: 399}, 1, metric.UnitCount, 400, ptr(399.0), sla.PeriodMissed, ""},
		{"icp met", icp, sla.PeriodMeasure{Handoffs: 50, ICPFit: 30}, 1, metric.UnitPercent, 60, ptr(60.0), sla.PeriodMet, ""},
		{"icp nothing to judge yet", icp, sla.PeriodMeasure{}, 0.2, metric.UnitPercent, 60, nil, sla.PeriodOnTrack, ""},
		{"pipeline amount in major units", pipeline, sla.PeriodMeasure{OpportunityAmount: 3_000_000}, 1, metric.UnitAmount, 50_000, ptr(30_000.0), sla.PeriodMissed, ""},
		{"pipeline amount pace", pipeline, sla.PeriodMeasure{OpportunityAmount: 2_000_000}, 0.5, metric.UnitAmount, 50_000, ptr(20_000.0), sla.PeriodAtRisk, "on pace for 40,000 of 50,000"},
	} {
		e := metric.ScorePeriodClause(tc.c, tc.m, tc.elapsed, oct)
		require.Equal(t, tc.unit, e.Unit, tc.name)
		require.Equal(t, tc.target, e.Target, tc.name)
		require.Equal(t, tc.actual, e.Actual, tc.name)
		require.Equal(t, tc.status, e.Status, tc.name)
		require.Equal(t, tc.pace, e.Pace, tc.name)
		require.Equal(t, tc.c.Pace(tc.c.Judge(tc.m, tc.elapsed)), e.Pace, "the wording is sla's")
		require.Equal(t, string(tc.c.Kind.Side()), e.Side, tc.name)
		require.Equal(t, "2026-10-01", e.From)
		require.Equal(t, "2026-11-01", e.To)
		require.Nil(t, e.TargetMinutes)
	}
}

func TestScoreLeadClause(t *testing.T) {
	t.Parallel()
	oct := period(t, "2026-10-01", "2026-11-01")
	respond := clause(sla.KindRespond)
	respond.TargetMinutes = 240
	for _, tc := range []struct {
		name   string
		k      metric.KindCompliance
		done   bool
		actual *float64
		status sla.PeriodStatus
	}{
		{"all met, running", metric.KindCompliance{Met: 10}, false, ptr(100.0), sla.PeriodOnTrack},
		{"all met, ended", metric.KindCompliance{Met: 10}, true, ptr(100.0), sla.PeriodMet},
		{"a breach, running", metric.KindCompliance{Met: 9, Breached: 1}, false, ptr(90.0), sla.PeriodAtRisk},
		{"a breach, ended", metric.KindCompliance{Met: 9, Breached: 1}, true, ptr(90.0), sla.PeriodMissed},
		{"nothing resolved, running", metric.KindCompliance{}, false, nil, sla.PeriodOnTrack},
		{"nothing resolved, ended", metric.KindCompliance{}, true, nil, sla.PeriodMet},
	} {
		e := metric.ScoreLeadClause(respond, tc.k, tc.done, oct)
		require.Equal(t, metric.UnitPercent, e.Unit, tc.name)
		require.Equal(t, 100.0, e.Target, tc.name)
		require.Equal(t, 240, *e.TargetMinutes, tc.name)
		require.Equal(t, tc.actual, e.Actual, tc.name)
		require.Equal(t, tc.status, e.Status, tc.name)
		require.Equal(t, "", e.Pace, tc.name)
	}
}

func TestScorecard_JSON(t *testing.T) {
	t.Parallel()
	oct := period(t, "2026-10-01", "2026-11-01")
	volume := clause(sla.KindVolume)
	volume.TargetCount = ptr(400)
	source := "paid_search"
	volume.Scope.Source = &source
	sc := metric.Scorecard{Period: oct.Key(), Clauses: []metric.ScorecardEntry{
		metric.ScorePeriodClause(volume, sla.PeriodMeasure{Handoffs: 190}, 0.5, oct),
		metric.ScorePeriodClause(clause(sla.KindVolume), sla.PeriodMeasure{}, 1, oct),
	}}
	b, err := json.Marshal(sc)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, "2026-10", got["period"])
	c := got["clauses"].([]any)[0].(map[string]any)
	for k, v := range map[string]any{
		"clause_id": "7f0c5a4e-1b2d-4e3f-8a9b-0c1d2e3f4a5b", "side": "marketing", "kind": "volume",
		"scope": map[string]any{"segment": nil, "source": "paid_search"}, "target": 400.0, "actual": 190.0,
		"status": "at_risk", "pace": "on pace for 380 of 400", "unit": "count",
	} {
		require.Equal(t, v, c[k], k)
	}
	require.NotContains(t, c, "target_minutes")
	require.Nil(t, got["clauses"].([]any)[1].(map[string]any)["scope"], "an unscoped clause has scope null")
}

func TestClausePeriod(t *testing.T) {
	t.Parallel()
	loc := zone(t, "America/New_York")
	now := time.Date(2026, 11, 4, 10, 0, 0, 0, loc)
	require.Equal(t, [2]string{"2026-11-02", "2026-11-09"}, dates(metric.ClausePeriod(sla.PeriodWeek, now, loc)))
	require.Equal(t, [2]string{"2026-11-01", "2026-12-01"}, dates(metric.ClausePeriod(sla.PeriodMonth, now, loc)))
	require.Equal(t, [2]string{"2026-10-01", "2027-01-01"}, dates(metric.ClausePeriod(sla.PeriodQuarter, now, loc)))
}
