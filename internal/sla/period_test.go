package sla

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPeriodBounds(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		require.NoError(t, err)
		return v
	}
	cases := []struct {
		p        Period
		t        string
		from, to string
	}{
		{PeriodMonth, "2026-10-15 12:00", "2026-10-01 00:00", "2026-11-01 00:00"},
		{PeriodMonth, "2026-12-31 23:59", "2026-12-01 00:00", "2027-01-01 00:00"},
		{PeriodMonth, "2026-11-01 00:00", "2026-11-01 00:00", "2026-12-01 00:00"}, // the start belongs to the period
		{PeriodWeek, "2026-11-04 09:00", "2026-11-02 00:00", "2026-11-09 00:00"},  // a Wednesday
		{PeriodWeek, "2026-11-08 23:00", "2026-11-02 00:00", "2026-11-09 00:00"},  // Sunday ends the week
		{PeriodWeek, "2026-11-09 00:00", "2026-11-09 00:00", "2026-11-16 00:00"},  // Monday starts one
		{PeriodQuarter, "2026-11-20 10:00", "2026-10-01 00:00", "2027-01-01 00:00"},
		{PeriodQuarter, "2026-03-31 23:00", "2026-01-01 00:00", "2026-04-01 00:00"},
	}
	for _, c := range cases {
		from, to := PeriodBounds(c.p, at(c.t), berlin)
		require.True(t, at(c.from).Equal(from), "%s %s: from %s", c.p, c.t, from)
		require.True(t, at(c.to).Equal(to), "%s %s: to %s", c.p, c.t, to)
	}
	// October 2026 in Berlin spans the end of summer time: 31 days and an hour.
	from, to := PeriodBounds(PeriodMonth, at("2026-10-10 10:00"), berlin)
	require.Equal(t, 31*24*time.Hour+time.Hour, to.Sub(from))
	// A UTC instant late on the 31st is already November in Berlin.
	from, _ = PeriodBounds(PeriodMonth, time.Date(2026, 10, 31, 23, 30, 0, 0, time.UTC), berlin)
	require.Equal(t, time.November, from.Month())

	require.Equal(t, "Q4 2026", PeriodLabel(PeriodQuarter, at("2026-10-01 00:00")))
	require.Equal(t, "November 2026", PeriodLabel(PeriodMonth, at("2026-11-01 00:00")))
	require.Equal(t, "week of 2 Nov 2026", PeriodLabel(PeriodWeek, at("2026-11-02 00:00")))
}

func TestJudge(t *testing.T) {
	n := func(v int) *int { return &v }
	f := func(v float64) *float64 { return &v }
	c64 := func(v int64) *int64 { return &v }
	volume := Clause{Kind: KindVolume, TargetCount: n(400)}
	icp := Clause{Kind: KindICPQuality, TargetPercent: f(60)}
	acceptance := Clause{Kind: KindAcceptance, TargetPercent: f(80)}
	pipeCount := Clause{Kind: KindPipeline, TargetCount: n(20)}
	pipeAmount := Clause{Kind: KindPipeline, TargetAmount: c64(50_000_00)}

	cases := []struct {
		name    string
		c       Clause
		m       PeriodMeasure
		elapsed float64
		status  PeriodStatus
		actual  *float64
		pace    string
	}{
		{"volume ahead of pace", volume, PeriodMeasure{Handoffs: 190}, 0.45, PeriodOnTrack, f(190), "on pace for 422 of 400"},
		{"volume behind pace", volume, PeriodMeasure{Handoffs: 150}, 0.5, PeriodAtRisk, f(150), "on pace for 300 of 400"},
		{"volume met at the end", volume, PeriodMeasure{Handoffs: 400}, 1, PeriodMet, f(400), ""},
		{"volume missed at the end", volume, PeriodMeasure{Handoffs: 399}, 1, PeriodMissed, f(399), ""},
		{"volume at the start", volume, PeriodMeasure{}, 0, PeriodOnTrack, f(0), ""},
		{"icp share", icp, PeriodMeasure{Handoffs: 10, ICPFit: 6}, 1, PeriodMet, f(60), ""},
		{"icp short", icp, PeriodMeasure{Handoffs: 10, ICPFit: 5}, 0.3, PeriodAtRisk, f(50), ""},
		{"icp without handoffs is not judged", icp, PeriodMeasure{}, 1, PeriodMet, nil, ""},
		{"acceptance ignores undecided", acceptance, PeriodMeasure{Handoffs: 30, Accepted: 8, Rejected: 2}, 1, PeriodMet, f(80), ""},
		{"acceptance missed", acceptance, PeriodMeasure{Handoffs: 10, Accepted: 7, Rejected: 3}, 1, PeriodMissed, f(70), ""},
		{"acceptance with no decision yet", acceptance, PeriodMeasure{Handoffs: 5}, 0.5, PeriodOnTrack, nil, ""},
		{"pipeline count", pipeCount, PeriodMeasure{Opportunities: 12, OpportunityAmount: 1}, 0.5, PeriodOnTrack, f(12), "on pace for 24 of 20"},
		{"pipeline amount", pipeAmount, PeriodMeasure{Opportunities: 1, OpportunityAmount: 10_000_00}, 0.5, PeriodAtRisk, f(10_000_00), "on pace for 20,000 of 50,000"},
	}
	for _, tc := range cases {
		r := tc.c.Judge(tc.m, tc.elapsed)
		require.Equal(t, tc.status, r.Status, tc.name)
		if tc.actual == nil {
			require.Nil(t, r.Actual, tc.name)
		} else {
			require.NotNil(t, r.Actual, tc.name)
			require.InDelta(t, *tc.actual, *r.Actual, 1e-9, tc.name)
		}
		require.Equal(t, tc.pace, tc.c.Pace(r), tc.name)
	}
	require.Equal(t, "50,000", pipeAmount.FormatActual(50_000_00))
	require.Equal(t, "62.5 %", icp.FormatActual(62.5))
}
