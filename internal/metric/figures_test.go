package metric_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/metric"
)

func period(t *testing.T, from, to string) metric.Period {
	t.Helper()
	p, errs := metric.ParsePeriod("", from, to, zone(t, "Europe/Berlin"), time.Now())
	require.Nil(t, errs)
	return p
}

// sample is a month of figures as the store would fill them: counts,
// amounts and quantiles only, no rates.
func sample(t *testing.T) metric.Figures {
	t.Helper()
	target := metric.Amount(50_000_000) // 500,000.00
	f := metric.Figures{
		Period:   period(t, "2026-10-01", "2026-11-01"),
		Handoffs: 412, Accepted: 340, Rejected: 49, Undecided: 23,
		Wins: 31, Losses: 69, MedianDaysToClose: ptr(41.5),
		SpeedToLead: metric.SpeedToLead{MedianMinutes: ptr(52.0), P90Minutes: ptr(380.0), Touched: 395, Within1h: 217, Untouched: 17},
		SLACompliance: metric.SLACompliance{ByKind: map[string]metric.KindCompliance{
			"respond":     {Met: 300, Breached: 61},
			"first_touch": {Met: 100, Breached: 39},
			"recycle":     {Met: 91, Breached: 9},
		}},
		PipelineCreated: 125_000_000, RevenueWon: 31_000_000,
		OpenPipeline: 270_000_000, OpenOpportunities: 60, RevenueTarget: &target,
		Funnel: metric.Funnel{Accepted: 340, SQL: 120, Opportunity: 78, Won: 12},
		BySource: []metric.SourceRow{
			{Source: "events", Slice: metric.Slice{Handoffs: 92, Accepted: 70, Rejected: 9, Undecided: 13, Opportunities: 20, PipelineCreated: 30_000_000}},
			{Source: "paid_search", Slice: metric.Slice{Handoffs: 120, Accepted: 95, Rejected: 20, Undecided: 5, Opportunities: 25, PipelineCreated: 40_000_000, RevenueWon: 9_000_000}},
			{Source: "", Slice: metric.Slice{Handoffs: 200, Accepted: 175, Rejected: 20, Undecided: 5, Opportunities: 33, PipelineCreated: 55_000_000, RevenueWon: 22_000_000}},
		},
		ByCampaign: []metric.CampaignRow{{Campaign: "q4-launch", Slice: metric.Slice{Handoffs: 10}}},
		RejectionReasons: []metric.ReasonRow{
			{Reason: "bad_fit", Count: 29, BySource: map[string]int64{"": 21, "events": 8}},
			{Reason: "no_budget", Count: 20, BySource: map[string]int64{"paid_search": 12, "events": 8}, ByCampaign: map[string]int64{"q4-launch": 3}},
		},
		Content: metric.Content{ActiveAssets: 40, UsedAssets: 17, WonWithContent: 9},
	}
	prev := metric.Figures{
		Period:   f.Period.Previous(),
		Handoffs: 380, Accepted: 300, Rejected: 60, Undecided: 20,
		Wins: 0, Losses: 0,
		SLACompliance: metric.SLACompliance{ByKind: map[string]metric.KindCompliance{"respond": {Met: 0, Breached: 0}}},
		Funnel:        metric.Funnel{Accepted: 300, SQL: 90, Opportunity: 60},
		BySource:      []metric.SourceRow{{Source: "webinar", Slice: metric.Slice{Handoffs: 380, Accepted: 300, Rejected: 60, Undecided: 20}}},
	}
	f.Previous = &prev
	f.Derive()
	return f
}

func TestFigures_Derive(t *testing.T) {
	t.Parallel()
	f := sample(t)
	require.NoError(t, f.Check())

	require.Equal(t, 340.0/389.0, *f.LeadAcceptanceRate)
	require.Equal(t, int64(412), f.Funnel.MQL, "mql is the number of handoffs")
	require.Equal(t, 78.0/412.0, *f.LeadToOpportunityRate)
	require.Equal(t, 0.31, *f.WinRate)
	require.Equal(t, 217.0/395.0, *f.SpeedToLead.Within1hShare)

	// Sales: respond + first_touch = 400 met of 500; marketing: recycle 91 of 100.
	require.Equal(t, 0.8, *f.SLACompliance.Sales)
	require.Equal(t, 0.91, *f.SLACompliance.Marketing)
	require.Equal(t, 300.0/361.0, *f.SLACompliance.ByKind["respond"].Rate)

	// 310,000.00 over 31 wins.
	require.Equal(t, metric.Amount(1_000_000), *f.AverageWonAmount)
	// 2,700,000 ÷ (500,000 − 310,000) = 14.2105…
	require.Equal(t, 270_000_000.0/19_000_000.0, *f.PipelineCoverage)
	// 60 × 0.31 × 10,000.00 ÷ 41.5 = 4,481.927… per day → 4,481.93.
	require.Equal(t, metric.Amount(448_193), *f.PipelineVelocity)

	require.Equal(t, 0.425, *f.Content.UsageShare)

	// Breakdowns: empty keys named, most handoffs first, rates filled.
	require.Equal(t, []string{metric.None, "paid_search", "events"}, []string{f.BySource[0].Source, f.BySource[1].Source, f.BySource[2].Source})
	require.Equal(t, 95.0/115.0, *f.BySource[1].LeadAcceptanceRate)
	require.Equal(t, 25.0/120.0, *f.BySource[1].LeadToOpportunityRate)
	require.Equal(t, map[string]int64{metric.None: 21, "events": 8}, f.RejectionReasons[0].BySource)
	require.Equal(t, "bad_fit", f.RejectionReasons[0].Reason, "most rejections first")

	// The previous period is derived too, with its own nulls.
	p := f.Previous
	require.Nil(t, p.WinRate, "no wins or losses: unknown, not 0 %")
	require.Nil(t, p.AverageWonAmount)
	require.Nil(t, p.PipelineCoverage, "no target")
	require.Nil(t, p.PipelineVelocity)
	require.Nil(t, p.SLACompliance.Sales)
	require.Nil(t, p.SLACompliance.Marketing)
	require.Nil(t, p.Content.UsageShare)
	require.Equal(t, 300.0/360.0, *p.LeadAcceptanceRate)

	unset := metric.Figures{Period: f.Period, Previous: &metric.Figures{}}
	unset.Derive()
	require.Equal(t, [2]string{"2026-08-31", "2026-10-01"}, dates(unset.Previous.Period), "Derive fills a missing previous period")

	again := sample(t)
	again.Derive()
	require.Equal(t, f, again, "Derive is idempotent")
}

func TestFigures_Check(t *testing.T) {
	t.Parallel()
	f := sample(t)
	f.Funnel.Won = f.Funnel.Opportunity + 1
	f.Undecided++
	f.Previous.Content.UsedAssets = 99
	err := f.Check()
	require.ErrorContains(t, err, "accepted 340 + rejected 49 + undecided 24 != handoffs 412")
	require.ErrorContains(t, err, "funnel won 79 > opportunity 78")
	require.ErrorContains(t, err, "previous: used assets 99 > active assets 0")
}

func TestFigures_JSON(t *testing.T) {
	t.Parallel()
	f := sample(t)
	b, err := json.Marshal(f)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))

	// Every key of API.md's example is there.
	for _, k := range []string{"from", "to", "handoffs", "lead_acceptance_rate", "accepted", "rejected", "undecided",
		"lead_to_opportunity_rate", "win_rate", "median_days_to_close", "speed_to_lead", "sla_compliance",
		"pipeline_created", "revenue_won", "pipeline_coverage", "funnel", "by_source", "rejection_reasons", "content", "previous"} {
		require.Contains(t, got, k)
	}
	require.Equal(t, "2026-10-01", got["from"])
	require.Equal(t, "2026-11-01", got["to"])
	require.True(t, strings.HasPrefix(string(b), `{"from":"2026-10-01","to":"2026-11-01","handoffs":412,`), "from and to lead the object")
	require.Equal(t, 1250000.0, got["pipeline_created"], "money in major units, as a lead's amount")
	require.Equal(t, 4481.93, got["pipeline_velocity"])
	for _, k := range []string{"median_minutes", "p90_minutes", "within_1h_share", "untouched"} {
		require.Contains(t, got["speed_to_lead"], k)
	}
	sc := got["sla_compliance"].(map[string]any)
	require.Equal(t, 0.8, sc["sales"])
	require.Equal(t, map[string]any{"met": 300.0, "breached": 61.0, "rate": 300.0 / 361.0}, sc["by_kind"].(map[string]any)["respond"])
	require.Equal(t, []any{
		map[string]any{"stage": "mql", "count": 412.0},
		map[string]any{"stage": "accepted", "count": 340.0},
		map[string]any{"stage": "sql", "count": 120.0},
		map[string]any{"stage": "opportunity", "count": 78.0},
		map[string]any{"stage": "won", "count": 12.0},
	}, got["funnel"])
	row := got["by_source"].([]any)[1].(map[string]any)
	for k, v := range map[string]any{"source": "paid_search", "handoffs": 120.0, "accepted": 95.0, "rejected": 20.0,
		"opportunities": 25.0, "pipeline_created": 400000.0, "revenue_won": 90000.0} {
		require.Equal(t, v, row[k], k)
	}
	reason := got["rejection_reasons"].([]any)[1].(map[string]any)
	require.Equal(t, map[string]any{"paid_search": 12.0, "events": 8.0}, reason["by_source"])
	require.Equal(t, map[string]any{"q4-launch": 3.0}, reason["by_campaign"])
	require.Equal(t, map[string]any{}, got["rejection_reasons"].([]any)[0].(map[string]any)["by_campaign"], "empty maps are {}, not null")
	require.Equal(t, map[string]any{"active_assets": 40.0, "used_assets": 17.0, "usage_share": 0.425, "won_with_content": 9.0}, got["content"])

	prev := got["previous"].(map[string]any)
	require.Equal(t, "2026-08-31", prev["from"])
	require.Equal(t, "2026-10-01", prev["to"])
	require.NotContains(t, prev, "previous", "previous is omitted when nil")
	for _, k := range []string{"win_rate", "pipeline_coverage", "median_days_to_close", "average_won_amount", "revenue_target"} {
		require.Contains(t, prev, k)
		require.Nil(t, prev[k], "%s: null, not left out", k)
	}
	require.Equal(t, []any{}, prev["by_campaign"], "empty lists are [], not null")
	require.Equal(t, []any{}, prev["rejection_reasons"])

	// An empty Figures still encodes every list and map.
	b, err = json.Marshal(metric.Figures{Period: f.Period})
	require.NoError(t, err)
	require.Contains(t, string(b), `"by_kind":{}`)
	require.Contains(t, string(b), `"by_source":[]`)
	require.NotContains(t, string(b), `"previous"`)
}

func TestFunnel_JSONRoundTrip(t *testing.T) {
	t.Parallel()
	in := metric.Funnel{MQL: 5, Accepted: 4, SQL: 3, Opportunity: 2, Won: 1}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var out metric.Funnel
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, in, out)
	require.Error(t, json.Unmarshal([]byte(`[{"stage":"lost","count":1}]`), &out))
}

func TestAmount(t *testing.T) {
	t.Parallel()
	for cents, text := range map[metric.Amount]string{
		0: "0", 5: "0.05", 50: "0.5", 100: "1", 125_000_000: "1250000", 125_050: "1250.5", 125_001: "1250.01", -300: "-3", -5: "-0.05",
	} {
		require.Equal(t, text, cents.String())
		b, err := json.Marshal(cents)
		require.NoError(t, err)
		require.Equal(t, text, string(b))
		var back metric.Amount
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, cents, back)
	}
	var a metric.Amount
	require.Error(t, json.Unmarshal([]byte(`1.005`), &a), "no fractions of a cent")
	require.Error(t, json.Unmarshal([]byte(`"12"`), &a))
	require.Equal(t, 12.5, metric.Amount(1250).Major())
}

func TestRevenueTarget(t *testing.T) {
	t.Parallel()
	monthly := map[string]int64{
		"2026-02": 14,
		"2026-09": 300_000,
		"2026-10": 310_000,
		"2026-11": 300_000,
		"2026-12": 620_000,
	}
	for _, tc := range []struct {
		name     string
		from, to string
		want     int64
		ok       bool
	}{
		{"a whole month", "2026-10-01", "2026-11-01", 310_000, true},
		// 310,000 × 14/31 = 140,000.
		{"half a month", "2026-10-01", "2026-10-15", 140_000, true},
		// 310,000 × 17/31 + 300,000 × 14/30 = 170,000 + 140,000.
		{"across two months", "2026-10-15", "2026-11-15", 310_000, true},
		// The 25-hour DST day is one day: 310,000 × 7/31 = 70,000.
		{"a week with the DST day", "2026-10-25", "2026-11-01", 70_000, true},
		{"a quarter", "2026-10-01", "2027-01-01", 1_230_000, true},
		// 310,000 × 1/31 + 300,000 × 1/30 = 10,000 + 10,000.
		{"one day each side", "2026-10-31", "2026-11-02", 20_000, true},
		// 14 × 1/28 = 0.5 → 1: half a cent rounds up.
		{"half a cent", "2026-02-10", "2026-02-11", 1, true},
		// 14 × 3/28 = 1.5 → 2.
		{"one and a half cents", "2026-02-10", "2026-02-13", 2, true},
		{"a month without a target", "2026-08-01", "2026-09-01", 0, false},
		{"partly without a target", "2026-08-15", "2026-09-15", 0, false},
		{"the previous period of October", "2026-08-31", "2026-10-01", 0, false},
	} {
		got, ok := metric.RevenueTarget(monthly, period(t, tc.from, tc.to))
		require.Equal(t, tc.ok, ok, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}
	got, ok := metric.RevenueTarget(map[string]int64{"2026-03": 0}, period(t, "2026-03-01", "2026-04-01"))
	require.True(t, ok, "an explicit 0 is a target")
	require.Equal(t, int64(0), got)
	// 11 × 1/28 + 12 × 1/31 = 0.39 + 0.39: rounded once it is 1, per month 0.
	got, ok = metric.RevenueTarget(map[string]int64{"2026-02": 11, "2026-03": 12}, period(t, "2026-02-28", "2026-03-02"))
	require.True(t, ok)
	require.Equal(t, int64(1), got, "rounded once, not per month")
	_, ok = metric.RevenueTarget(nil, period(t, "2026-10-01", "2026-11-01"))
	require.False(t, ok)
}

func TestPipelineCoverage(t *testing.T) {
	t.Parallel()
	require.Equal(t, 2.7, *metric.PipelineCoverage(270, 200, 100))
	require.Equal(t, 0.0, *metric.PipelineCoverage(0, 200, 100))
	require.Nil(t, metric.PipelineCoverage(270, 200, 200), "target reached: nothing left to cover")
	require.Nil(t, metric.PipelineCoverage(270, 200, 300))
	require.Nil(t, metric.PipelineCoverage(270, 0, 0))
}

func TestPipelineVelocity(t *testing.T) {
	t.Parallel()
	// 10 × 0.25 × 4000 ÷ 20 = 500.
	require.Equal(t, 500.0, *metric.PipelineVelocity(10, ptr(0.25), ptr(4000.0), ptr(20.0)))
	require.Equal(t, 0.0, *metric.PipelineVelocity(0, ptr(0.25), ptr(4000.0), ptr(20.0)))
	require.Nil(t, metric.PipelineVelocity(10, nil, ptr(4000.0), ptr(20.0)))
	require.Nil(t, metric.PipelineVelocity(10, ptr(0.25), nil, ptr(20.0)))
	require.Nil(t, metric.PipelineVelocity(10, ptr(0.25), ptr(4000.0), nil))
	require.Nil(t, metric.PipelineVelocity(10, ptr(0.25), ptr(4000.0), ptr(0.0)), "no division by zero days")
}
