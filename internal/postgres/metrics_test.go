package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// TestStore_FindMetrics: October 2026 in Europe/Berlin (a DST change on the
// 25th) over a small history whose every figure is computed by hand below:
// a re-handoff, a lead decided in November, undecided leads, a won amount
// that replaces the opportunity's, handoffs either side of the month's end
// in the tenant's zone, and a filter.
func TestStore_FindMetrics(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	at := func(m time.Month, day, hour, min int) time.Time {
		return time.Date(2026, m, day, hour, min, 0, 0, berlin)
	}
	now := at(time.November, 5, 10, 0)
	mk := func(email, source string, created time.Time) lead.Lead {
		res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str(email), Source: str(source), CreatedAt: &created}, now)
		require.NoError(t, err)
		return res.Lead
	}
	move := func(l lead.Lead, in lead.TransitionInput, when time.Time) {
		t.Helper()
		in.At = &when
		if in.To == lead.StageMQL {
			in.OwnerID = &f.rep1.ID
		}
		_, err := f.store.Transition(ctx, f.a.ID, f.api, l.ID, in, now)
		require.NoError(t, err)
	}
	touch := func(l lead.Lead, kind lead.ActivityKind, when time.Time) {
		t.Helper()
		in := lead.ActivityInput{Kind: kind, At: &when}
		if kind == lead.ActPageView {
			in.URL = "https://acme.test/pricing"
		}
		_, _, err := f.store.AddActivity(ctx, f.a.ID, f.api, l.ID, in, now)
		require.NoError(t, err)
	}
	cents := func(c int64) *lead.Cents { v := lead.Cents(c); return &v }

	// a: handed off 1 Oct 09:00, called 30 min later, accepted, an
	// opportunity of 12,000 on 20 Oct; still open.
	a := mk("a@m.test", "webinar", at(time.October, 1, 8, 0))
	move(a, lead.TransitionInput{To: lead.StageMQL}, at(time.October, 1, 9, 0))
	touch(a, lead.ActCall, at(time.October, 1, 9, 30))
	move(a, lead.TransitionInput{To: lead.StageAccepted}, at(time.October, 1, 10, 0))
	move(a, lead.TransitionInput{To: lead.StageOpportunity, Amount: cents(12_000_00)}, at(time.October, 20, 10, 0))
	// b: handed off 2 Oct, rejected (no budget) untouched; handed off again
	// 30 Oct, e-mailed 2 h later, accepted only in November.
	b := mk("b@m.test", "paid_search", at(time.October, 2, 8, 0))
	move(b, lead.TransitionInput{To: lead.StageMQL}, at(time.October, 2, 9, 0))
	move(b, lead.TransitionInput{To: lead.StageRejected, Reason: "no_budget"}, at(time.October, 2, 11, 0))
	move(b, lead.TransitionInput{To: lead.StageMQL}, at(time.October, 30, 9, 0))
	touch(b, lead.ActEmail, at(time.October, 30, 11, 0))
	move(b, lead.TransitionInput{To: lead.StageAccepted}, at(time.November, 2, 9, 0))
	// c: handed off 3 Oct, called exactly an hour later, undecided; a page
	// view is no touch.
	c := mk("c@m.test", "paid_search", at(time.October, 3, 8, 0))
	move(c, lead.TransitionInput{To: lead.StageMQL}, at(time.October, 3, 9, 0))
	touch(c, lead.ActPageView, at(time.October, 3, 9, 5))
	touch(c, lead.ActCall, at(time.October, 3, 10, 0))
	// d: handed off 20 Sep (the previous period), an opportunity of 5,000
	// on 5 Oct, won on 25 Oct (after the clocks went back) for 6,000.
	d := mk("d@m.test", "webinar", at(time.September, 19, 8, 0))
	move(d, lead.TransitionInput{To: lead.StageMQL}, at(time.September, 20, 9, 0))
	move(d, lead.TransitionInput{To: lead.StageAccepted}, at(time.September, 21, 9, 0))
	move(d, lead.TransitionInput{To: lead.StageOpportunity, Amount: cents(5_000_00)}, at(time.October, 5, 9, 0))
	move(d, lead.TransitionInput{To: lead.StageWon, Amount: cents(6_000_00)}, at(time.October, 25, 9, 0))
	// e: handed off 31 Oct 23:30 in Berlin (22:30 UTC): October's.
	e := mk("e@m.test", "organic", at(time.October, 31, 8, 0))
	move(e, lead.TransitionInput{To: lead.StageMQL}, at(time.October, 31, 23, 30))
	// g: handed off 1 Nov 00:30 in Berlin (31 Oct 23:30 UTC): not October's.
	g := mk("g@m.test", "organic", at(time.October, 31, 8, 0))
	move(g, lead.TransitionInput{To: lead.StageMQL}, at(time.November, 1, 0, 30))
	// h: an opportunity since August, lost on 10 Oct.
	h := mk("h@m.test", "organic", at(time.August, 1, 8, 0))
	move(h, lead.TransitionInput{To: lead.StageMQL}, at(time.August, 2, 9, 0))
	move(h, lead.TransitionInput{To: lead.StageAccepted}, at(time.August, 3, 9, 0))
	move(h, lead.TransitionInput{To: lead.StageOpportunity, Amount: cents(1_000_00)}, at(time.August, 10, 9, 0))
	move(h, lead.TransitionInput{To: lead.StageLost, Reason: "no_budget"}, at(time.October, 10, 9, 0))
	_, err = f.store.UpdateTargets(ctx, f.a.ID, f.a.Admin(), []postgres.TargetChange{{Period: "2026-10", Revenue: cents(100_000_00)}}, now)
	require.NoError(t, err)

	october, errs := metric.ParsePeriod("", "2026-10-01", "2026-11-01", berlin, now)
	require.Nil(t, errs)
	m, err := f.store.FindMetrics(ctx, f.a.ID, october, metric.Filter{}, now)
	require.NoError(t, err)
	require.NoError(t, m.Check())

	// a, b twice, c, e.
	require.EqualValues(t, 5, m.Handoffs)
	// a and b's second handoff accepted (b's in November: cohort figures
	// use every event known now); b's first rejected; c and e undecided.
	require.EqualValues(t, 2, m.Accepted)
	require.EqualValues(t, 1, m.Rejected)
	require.EqualValues(t, 2, m.Undecided)
	require.InDelta(t, 2.0/3, *m.LeadAcceptanceRate, 1e-9)
	require.Equal(t, metric.Funnel{MQL: 5, Accepted: 2, SQL: 1, Opportunity: 1, Won: 0}, m.Funnel, "a skipped sql: it counts")
	require.InDelta(t, 0.2, *m.LeadToOpportunityRate, 1e-9)
	// Touches after 30, 120 and 60 minutes; b's first handoff and e untouched.
	require.EqualValues(t, 3, m.SpeedToLead.Touched)
	require.EqualValues(t, 2, m.SpeedToLead.Untouched)
	require.EqualValues(t, 2, m.SpeedToLead.Within1h, "60:00 is within the hour")
	require.InDelta(t, 60, *m.SpeedToLead.MedianMinutes, 1e-9)
	require.InDelta(t, 108, *m.SpeedToLead.P90Minutes, 1e-9, "60 + 0.8 × (120 − 60)")
	require.InDelta(t, 2.0/3, *m.SpeedToLead.Within1hShare, 1e-9)
	// d won, h lost.
	require.EqualValues(t, 1, m.Wins)
	require.EqualValues(t, 1, m.Losses)
	require.InDelta(t, 0.5, *m.WinRate, 1e-9)
	// 20 Sep 09:00 CEST to 25 Oct 09:00 CET: 35 days and an hour.
	require.InDelta(t, 35+1.0/24, *m.MedianDaysToClose, 1e-9)
	require.EqualValues(t, 17_000_00, m.PipelineCreated, "a's 12,000 and d's 5,000")
	require.EqualValues(t, 6_000_00, m.RevenueWon, "the won amount replaces the opportunity's")
	require.EqualValues(t, 1, m.OpenOpportunities)
	require.EqualValues(t, 12_000_00, m.OpenPipeline)
	require.EqualValues(t, 100_000_00, *m.RevenueTarget)
	require.InDelta(t, 12_000.0/(100_000-6_000), *m.PipelineCoverage, 1e-9)
	require.Nil(t, m.SLACompliance.Sales, "no agreement: no data, not 0 %")

	bySource := map[string]metric.SourceRow{}
	for _, r := range m.BySource {
		bySource[r.Source] = r
	}
	require.EqualValues(t, 1, bySource["webinar"].Handoffs)
	require.EqualValues(t, 1, bySource["webinar"].Opportunities)
	require.EqualValues(t, 17_000_00, bySource["webinar"].PipelineCreated)
	require.EqualValues(t, 6_000_00, bySource["webinar"].RevenueWon)
	require.EqualValues(t, 3, bySource["paid_search"].Handoffs)
	require.EqualValues(t, 1, bySource["paid_search"].Accepted)
	require.EqualValues(t, 1, bySource["paid_search"].Rejected)
	require.EqualValues(t, 1, bySource["paid_search"].Undecided)
	require.EqualValues(t, 1, bySource["organic"].Handoffs)
	require.Len(t, m.RejectionReasons, 1)
	require.Equal(t, "no_budget", m.RejectionReasons[0].Reason)
	require.Equal(t, map[string]int64{"paid_search": 1}, m.RejectionReasons[0].BySource)

	// The previous period: the 31 days before October (31 Aug – 30 Sep):
	// d's handoff, which went all the way to won.
	p := m.Previous
	require.NotNil(t, p)
	from, to := p.Period.Dates()
	require.Equal(t, []string{"2026-08-31", "2026-10-01"}, []string{from, to})
	require.EqualValues(t, 1, p.Handoffs)
	require.Equal(t, metric.Funnel{MQL: 1, Accepted: 1, SQL: 1, Opportunity: 1, Won: 1}, p.Funnel)
	require.Nil(t, p.WinRate, "no wins or losses in September")
	require.Nil(t, p.RevenueTarget, "no September target")

	t.Run("Filter", func(t *testing.T) {
		m, err := f.store.FindMetrics(ctx, f.a.ID, october, metric.Filter{Source: "webinar"}, now)
		require.NoError(t, err)
		require.EqualValues(t, 1, m.Handoffs)
		require.EqualValues(t, 17_000_00, m.PipelineCreated)
		require.EqualValues(t, 1, m.Wins)
		require.Zero(t, m.Losses)
		m, err = f.store.FindMetrics(ctx, f.a.ID, october, metric.Filter{TeamID: &f.team.ID}, now)
		require.NoError(t, err)
		require.EqualValues(t, 5, m.Handoffs, "every handoff went to the sales team")
	})

	t.Run("SLACompliance", func(t *testing.T) {
		// A 60-minute respond clause on an always-open calendar, applied
		// to the whole history.
		cals, err := f.store.FindCalendars(ctx, f.a.ID)
		require.NoError(t, err)
		_, err = f.store.UpdateCalendar(ctx, f.a.ID, f.a.Admin(), cals[0].ID, sla.CalendarInput{Name: "24/7", TimeZone: "Europe/Berlin", AlwaysOpen: true}, now)
		require.NoError(t, err)
		_, err = f.store.SaveAgreement(ctx, f.a.ID, f.a.Admin(), postgres.SaveAgreementInput{Clauses: []sla.Clause{{Kind: sla.KindRespond, TargetMinutes: 60}}}, now)
		require.NoError(t, err)
		_, err = f.store.BackfillTimers(ctx, f.a.ID, now)
		require.NoError(t, err)
		m, err := f.store.FindMetrics(ctx, f.a.ID, october, metric.Filter{}, now)
		require.NoError(t, err)
		// Due in October: a (met at 10:00, 1 h: met), b's first (rejected
		// after 2 h: breached), b's second (accepted in November:
		// breached), c (undecided: breached), e (due 1 Nov 00:30: not
		// October's).
		require.Equal(t, metric.KindCompliance{Met: 1, Breached: 3, Rate: m.SLACompliance.ByKind["respond"].Rate}, m.SLACompliance.ByKind["respond"])
		require.InDelta(t, 0.25, *m.SLACompliance.Sales, 1e-9)
		require.Nil(t, m.SLACompliance.Marketing)

		// An excused breach leaves the denominator.
		page, err := f.store.FindBreaches(ctx, f.a.ID, postgres.SLAFilter{LeadID: &c.ID})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		_, err = f.store.RequestExcuse(ctx, f.a.ID, f.mgrP, page.Items[0].ID, "duplicate", now)
		require.NoError(t, err)
		admin := auth.Principal{Type: auth.ActorUser, ID: f.a.AdminID, Name: "Admin", Role: tenant.RoleAdmin, Tenant: f.a.Tenant}
		_, err = f.store.ApproveExcuse(ctx, f.a.ID, admin, page.Items[0].ID, now)
		require.NoError(t, err)
		m, err = f.store.FindMetrics(ctx, f.a.ID, october, metric.Filter{}, now)
		require.NoError(t, err)
		require.InDelta(t, 1.0/3, *m.SLACompliance.Sales, 1e-9)

		// The drill-down lists exactly the timers counted: a's met, b's
		// two breached; not c's excused one nor e's, due in November.
		counted, err := f.store.FindTimers(ctx, f.a.ID, postgres.SLAFilter{Side: "sales", Resolved: &postgres.TimeRange{From: october.From, To: october.To}})
		require.NoError(t, err)
		got := map[uuid.UUID][]string{}
		for _, x := range counted.Items {
			got[x.LeadID] = append(got[x.LeadID], x.Status)
		}
		require.Equal(t, map[uuid.UUID][]string{a.ID: {"met"}, b.ID: {"breached", "breached"}}, got)
	})

	t.Run("Scorecard", func(t *testing.T) {
		// Needs SLACompliance's respond clause and excused breach; adds a
		// monthly volume clause of 4 handoffs.
		cur, err := f.store.FindAgreement(ctx, f.a.ID)
		require.NoError(t, err)
		clauses := append(cur.Clauses, sla.Clause{Kind: sla.KindVolume, TargetCount: num(4)})
		_, err = f.store.SaveAgreement(ctx, f.a.ID, f.a.Admin(), postgres.SaveAgreementInput{BaseVersion: cur.Version, Clauses: clauses}, now)
		require.NoError(t, err)
		card, err := f.store.FindScorecard(ctx, f.a.ID, october, now)
		require.NoError(t, err)
		require.Equal(t, "2026-10", card.Period)
		got := map[string]metric.ScorecardEntry{}
		for _, e := range card.Clauses {
			got[e.Kind] = e
		}
		require.Len(t, got, 2)
		v := got["volume"]
		require.Equal(t, sla.PeriodMet, v.Status, "5 handoffs of 4")
		require.InDelta(t, 5, *v.Actual, 1e-9)
		require.Equal(t, "marketing", v.Side)
		require.Equal(t, []string{"2026-10-01", "2026-11-01"}, []string{v.From, v.To})
		r := got["respond"]
		require.Equal(t, sla.PeriodMissed, r.Status, "October has ended with breaches")
		require.InDelta(t, 100.0/3, *r.Actual, 1e-9, "1 met of 3, the excused breach left out")
		require.Equal(t, "sales", r.Side)

		// The same in November, still running: volume on track by pace.
		nov, errs := metric.ParsePeriod("2026-11", "", "", berlin, now)
		require.Nil(t, errs)
		card, err = f.store.FindScorecard(ctx, f.a.ID, nov, now)
		require.NoError(t, err)
		for _, e := range card.Clauses {
			if e.Kind == "volume" {
				require.Contains(t, []sla.PeriodStatus{sla.PeriodOnTrack, sla.PeriodAtRisk}, e.Status)
				require.NotEmpty(t, e.Pace)
			}
		}
		other, err := f.store.FindScorecard(ctx, f.b.ID, october, now)
		require.NoError(t, err)
		require.Empty(t, other.Clauses, "tenant b has no agreement of a's")
	})

	t.Run("Dashboard", func(t *testing.T) {
		// After SLACompliance: every timer is resolved, c's breach excused.
		d, err := f.store.FindDashboard(ctx, f.a.ID, october, metric.Filter{}, now)
		require.NoError(t, err)
		require.EqualValues(t, 5, d.Figures.Handoffs, "the same figures as FindMetrics")
		// Touched after 30, 60 and 120 minutes; two untouched.
		require.Equal(t, []int64{0, 1, 1, 1, 0, 0, 0, 0, 2}, d.Speed)
		require.Len(t, d.ByTeam, 1)
		require.Equal(t, "Sales", d.ByTeam[0].Name)
		require.Equal(t, [2]int64{1, 2}, [2]int64{d.ByTeam[0].Met, d.ByTeam[0].Breached})
		require.Len(t, d.ByRep, 1)
		require.Equal(t, "Rep One", d.ByRep[0].Name)
		require.Zero(t, d.Running+d.AtRisk, "nothing is open")
		require.NotEmpty(t, d.Scorecard.Clauses)
		require.Len(t, d.Teams, 1)

		other, err := f.store.FindDashboard(ctx, f.b.ID, october, metric.Filter{}, now)
		require.NoError(t, err)
		require.Empty(t, other.ByTeam)
		require.Empty(t, other.ByRep)
		require.Zero(t, other.Figures.Handoffs)
	})

	t.Run("OtherTenant", func(t *testing.T) {
		m, err := f.store.FindMetrics(ctx, f.b.ID, october, metric.Filter{}, now)
		require.NoError(t, err)
		require.Zero(t, m.Handoffs, "tenant b sees none of a's history")
		require.Nil(t, m.LeadAcceptanceRate)
		require.Zero(t, m.OpenOpportunities)
	})
}
