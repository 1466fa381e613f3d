package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/sla"
)

// TestStore_ClosePeriods: October's period clauses are judged once, by the
// §5 definitions, when October ends in the tenant's zone (Europe/Berlin).
func TestStore_ClosePeriods(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	oct := func(day, hour int) time.Time { return time.Date(2026, 10, day, hour, 0, 0, 0, berlin) }
	// The agreement predates October.
	_, err = f.store.SaveAgreement(ctx, f.a.ID, f.a.Admin(), postgres.SaveAgreementInput{Clauses: []sla.Clause{
		{Kind: sla.KindVolume, TargetCount: num(4)},
		{Kind: sla.KindICPQuality, TargetPercent: ptrTo(60.0)},
		{Kind: sla.KindAcceptance, TargetPercent: ptrTo(75.0)},
		{Kind: sla.KindPipeline, TargetCount: num(2)},
		{Kind: sla.KindVolume, TargetCount: num(1), Scope: sla.Scope{Source: str("webinar")}, Period: sla.PeriodWeek},
	}}, oct(1, 0).Add(-48*time.Hour))
	require.NoError(t, err)

	now := time.Date(2026, 11, 1, 10, 0, 0, 0, berlin)
	mk := func(email string, icp bool, created time.Time) lead.Lead {
		res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str(email), ICPFit: &icp, CreatedAt: &created}, now)
		require.NoError(t, err)
		return res.Lead
	}
	move := func(l lead.Lead, in lead.TransitionInput, at time.Time) {
		in.At = &at
		if in.To == lead.StageMQL {
			in.OwnerID = &f.rep1.ID
		}
		_, err := f.store.Transition(ctx, f.a.ID, f.api, l.ID, in, now)
		require.NoError(t, err)
	}
	// Five handoffs in October, three of ICP fit:
	a := mk("a@p.test", true, oct(1, 8)) // accepted, then an opportunity in October
	move(a, lead.TransitionInput{To: lead.StageMQL}, oct(1, 9))
	move(a, lead.TransitionInput{To: lead.StageAccepted}, oct(1, 10))
	amount := lead.Cents(12_000_00)
	move(a, lead.TransitionInput{To: lead.StageOpportunity, Amount: &amount}, oct(20, 10))
	b := mk("b@p.test", true, oct(2, 8)) // rejected, handed off again, accepted in November
	move(b, lead.TransitionInput{To: lead.StageMQL}, oct(2, 9))
	move(b, lead.TransitionInput{To: lead.StageRejected, Reason: "no_budget"}, oct(2, 11))
	move(b, lead.TransitionInput{To: lead.StageMQL}, oct(30, 9))
	c := mk("c@p.test", false, oct(3, 8)) // undecided
	move(c, lead.TransitionInput{To: lead.StageMQL}, oct(3, 9))
	d := mk("d@p.test", true, time.Date(2026, 9, 20, 8, 0, 0, 0, berlin)) // handed off in September, opportunity in October
	move(d, lead.TransitionInput{To: lead.StageMQL}, time.Date(2026, 9, 21, 9, 0, 0, 0, berlin))
	move(d, lead.TransitionInput{To: lead.StageAccepted}, oct(5, 9))
	move(d, lead.TransitionInput{To: lead.StageOpportunity, Amount: &amount}, oct(6, 9))
	// A handoff late on 31 October in Berlin, already 1 November in no zone
	// east of it, still October here.
	e := mk("e@p.test", false, oct(31, 8))
	move(e, lead.TransitionInput{To: lead.StageMQL}, time.Date(2026, 10, 31, 23, 30, 0, 0, berlin))
	// November: not October's.
	late := mk("late@p.test", true, now.Add(-time.Hour))
	move(late, lead.TransitionInput{To: lead.StageMQL}, now.Add(-30*time.Minute))

	res, err := f.store.ClosePeriods(ctx, now, postgres.SweepOptions{})
	require.NoError(t, err)
	again, err := f.store.ClosePeriods(ctx, now, postgres.SweepOptions{})
	require.NoError(t, err)
	require.Zero(t, again.Recorded, "each period is recorded once")

	standings, err := f.store.FindPeriodStandings(ctx, f.a.ID, now, 12)
	require.NoError(t, err)
	got := map[string]postgres.PeriodStanding{}
	for _, s := range standings {
		if s.Recorded && s.From.Month() == time.October && s.Clause.Period == sla.PeriodMonth {
			got[string(s.Clause.Kind)] = s
		}
	}
	require.Len(t, got, 4, "one result per monthly clause for October")
	check := func(kind string, status sla.PeriodStatus, actual float64) {
		t.Helper()
		r := got[kind].Result
		require.Equal(t, status, r.Status, kind)
		require.NotNil(t, r.Actual, kind)
		require.InDelta(t, actual, *r.Actual, 0.01, kind)
	}
	// a, b (twice: a re-handoff counts again), c, e.
	check("volume", sla.PeriodMet, 5)
	// a, b, b fit; c, e do not: 3 of 5.
	check("icp_quality", sla.PeriodMet, 60)
	// a accepted; b's first handoff rejected, its second undecided in
	// October (accepted only in November counts for that handoff — but it
	// has not happened); c and e undecided: 1 of 2.
	check("acceptance", sla.PeriodMissed, 50)
	// a and d opened opportunities in October, both handed off before.
	check("pipeline", sla.PeriodMet, 2)
	require.Equal(t, 4, res.Recorded-weeklyResults(standings), "four monthly results")

	// The weekly webinar clause: every ended October week without a
	// webinar handoff is missed.
	require.NotZero(t, weeklyResults(standings))
	require.Equal(t, res.Missed, 1+weeklyResults(standings), "acceptance and every weekly webinar result missed")

	t.Run("CurrentPeriodStanding", func(t *testing.T) {
		var cur *postgres.PeriodStanding
		for i, s := range standings {
			if !s.Recorded && s.Clause.Kind == sla.KindVolume && s.Clause.Period == sla.PeriodMonth {
				cur = &standings[i]
			}
		}
		require.NotNil(t, cur)
		require.Equal(t, time.November, cur.From.Month())
		require.Equal(t, 1, cur.Measure.Handoffs)
	})

	t.Run("Notified", func(t *testing.T) {
		ns, _, err := f.store.FindNotifications(ctx, f.a.ID, f.mkt.ID, 50)
		require.NoError(t, err)
		var missed int
		for _, n := range ns {
			if n.Kind == "period.missed" {
				missed++
			}
		}
		want := 0
		for _, s := range standings {
			if s.Recorded && s.Result.Status == sla.PeriodMissed && now.Sub(s.To) <= 7*24*time.Hour {
				want++
			}
		}
		require.Equal(t, 2, want, "October's acceptance and the last week's webinar volume")
		require.Equal(t, want, missed, "marketing hears once of each missed period that ended this week; older ones are recorded quietly")
		ns, _, err = f.store.FindNotifications(ctx, f.a.ID, f.rep1.ID, 50)
		require.NoError(t, err)
		for _, n := range ns {
			require.NotContains(t, n.Kind, "period.", "reps are not told")
		}
	})

	t.Run("OtherTenant", func(t *testing.T) {
		s, err := f.store.FindPeriodStandings(ctx, f.b.ID, now, 12)
		require.NoError(t, err)
		require.Empty(t, s)
	})
}

func weeklyResults(ss []postgres.PeriodStanding) int {
	n := 0
	for _, s := range ss {
		if s.Recorded && s.Clause.Period == sla.PeriodWeek {
			n++
		}
	}
	return n
}

func ptrTo[T any](v T) *T { return &v }
