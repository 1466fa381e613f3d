package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/sla"
)

// notificationsOf returns the notification kinds and dedupe keys of user.
func notificationsOf(t *testing.T, f *funnel, user uuid.UUID) map[string]int {
	t.Helper()
	ns, _, err := f.store.FindNotifications(context.Background(), f.a.ID, user, 500)
	require.NoError(t, err)
	out := map[string]int{}
	for _, n := range ns {
		out[n.Kind]++
	}
	return out
}

// jobsOf counts River jobs by kind.
func jobsOf(t *testing.T, f *funnel) map[string]int {
	t.Helper()
	conn := f.db.OwnerConn(t)
	rows, err := conn.Query(context.Background(), `SELECT kind, count(*) FROM river.river_job GROUP BY kind`)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		require.NoError(t, rows.Scan(&k, &n))
		out[k] = n
	}
	return out
}

// TestStore_Sweep walks a timer through at risk, breach and both ladder
// steps with repeated sweeps in between: each notice goes out once, to the
// right people, with its e-mail and webhook.
func TestStore_Sweep(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	cals, err := f.store.FindCalendars(ctx, f.a.ID)
	require.NoError(t, err)
	_, err = f.store.UpdateCalendar(ctx, f.a.ID, f.a.Admin(), cals[0].ID, sla.CalendarInput{Name: "24/7", TimeZone: "Europe/Berlin", AlwaysOpen: true}, tuesday9)
	require.NoError(t, err)
	saveAgreement(t, f, 0, sla.Clause{Kind: sla.KindRespond, TargetMinutes: 60, Escalation: []sla.Step{
		{AfterMinutes: 0, Notify: []string{"holder", "manager"}},
		{AfterMinutes: 120, Notify: []string{"role:admin"}, Reassign: true},
	}})
	_, err = f.store.CreateWebhookEndpoint(ctx, f.a.ID, f.a.Admin(), "https://hooks.example.com/s", []string{"timer.at_risk", "breach.created", "breach.escalated"}, "accord", tuesday9)
	require.NoError(t, err)
	res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str("sweep@x.test")}, tuesday9)
	require.NoError(t, err)
	_, err = f.store.Transition(ctx, f.a.ID, f.mktP, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID}, tuesday9)
	require.NoError(t, err)
	opts := postgres.SweepOptions{Email: true, BaseURL: "https://accord.test", StaleAfter: 24 * time.Hour}
	sweep := func(at time.Time) postgres.SweepResult {
		t.Helper()
		r, err := f.store.SweepDueTimers(ctx, at, 100, opts)
		require.NoError(t, err)
		return r
	}

	require.Zero(t, sweep(tuesday9.Add(10*time.Minute)).Claimed, "nothing due yet")
	r := sweep(tuesday9.Add(46 * time.Minute)) // past 75 %
	require.Equal(t, 1, r.AtRisk)
	require.Equal(t, 1, r.Notifications)
	require.Zero(t, sweep(tuesday9.Add(50*time.Minute)).Claimed, "the worker next looks at the due time")
	require.Equal(t, map[string]int{"timer.at_risk": 1}, notificationsOf(t, f, f.rep1.ID))

	r = sweep(tuesday9.Add(61 * time.Minute))
	require.Equal(t, 1, r.Breached)
	require.Equal(t, 1, r.Escalations)
	require.Equal(t, 2, r.Notifications, "the holder and their team's manager")
	ts := timersOf(t, f, res.Lead.ID)
	require.Equal(t, "breached", ts[0].Status)
	require.True(t, tuesday9.Add(time.Hour).Equal(*ts[0].BreachedAt), "breached at the due time, not when found")
	require.True(t, tuesday9.Add(3*time.Hour).Equal(*ts[0].NextCheck), "next: the second step")
	page, err := f.store.FindBreaches(ctx, f.a.ID, postgres.SLAFilter{LeadID: &res.Lead.ID})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.True(t, tuesday9.Add(61*time.Minute).Equal(page.Items[0].DetectedAt))
	require.Equal(t, 1, page.Items[0].EscalationLevel)

	r = sweep(tuesday9.Add(3*time.Hour + time.Minute))
	require.Equal(t, 1, r.Escalations)
	require.Equal(t, 1, r.Notifications, "the admin")
	require.Zero(t, sweep(tuesday9.Add(5*time.Hour)).Claimed, "the ladder is done")
	require.Equal(t, map[string]int{"timer.at_risk": 1, "breach.created": 1}, notificationsOf(t, f, f.rep1.ID))
	require.Equal(t, map[string]int{"breach.created": 1}, notificationsOf(t, f, f.mgr.ID))
	require.Equal(t, 1, breachCount(t, f, res.Lead.ID))

	jobs := jobsOf(t, f)
	require.Equal(t, 4, jobs["mail.send"], "one e-mail per notification")
	require.Equal(t, 3, jobs["webhook.deliver"], "at risk, breach, escalation")
	// The second step reassigned the lead by routing.
	l, err := f.store.FindLead(ctx, f.a.ID, res.Lead.ID)
	require.NoError(t, err)
	require.NotEqual(t, f.rep1.ID, *l.OwnerID)
}

// TestStore_SweepStaleAndStopped: steps long past when found are recorded
// without notifying; once the lead is dealt with the ladder stops.
func TestStore_SweepStaleAndStopped(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	cals, err := f.store.FindCalendars(ctx, f.a.ID)
	require.NoError(t, err)
	_, err = f.store.UpdateCalendar(ctx, f.a.ID, f.a.Admin(), cals[0].ID, sla.CalendarInput{Name: "24/7", TimeZone: "Europe/Berlin", AlwaysOpen: true}, tuesday9)
	require.NoError(t, err)
	saveAgreement(t, f, 0, sla.Clause{Kind: sla.KindRespond, TargetMinutes: 60, Escalation: []sla.Step{
		{AfterMinutes: 0, Notify: []string{"holder"}}, {AfterMinutes: 60, Notify: []string{"manager"}},
	}})
	opts := postgres.SweepOptions{StaleAfter: 24 * time.Hour}
	handoff := func(email string) lead.Lead {
		res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str(email)}, tuesday9)
		require.NoError(t, err)
		l, err := f.store.Transition(ctx, f.a.ID, f.mktP, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID}, tuesday9)
		require.NoError(t, err)
		return l
	}
	old := handoff("old@x.test")
	// A worker down for three days: everything is recorded, nobody paged.
	r, err := f.store.SweepDueTimers(ctx, tuesday9.Add(72*time.Hour), 100, opts)
	require.NoError(t, err)
	require.Equal(t, 1, r.Breached)
	require.Zero(t, r.Notifications)
	ts := timersOf(t, f, old.ID)
	require.Equal(t, "breached", ts[0].Status)
	require.Nil(t, ts[0].NextCheck, "both steps recorded")

	// Dealt with after the breach notice: the second step does not fire.
	fresh := handoff("fresh@x.test")
	handoff("late@x.test")
	r, err = f.store.SweepDueTimers(ctx, tuesday9.Add(61*time.Minute), 100, opts)
	require.NoError(t, err)
	require.Equal(t, 2, r.Breached, "fresh and late")
	_, err = f.store.Transition(ctx, f.a.ID, f.repP, fresh.ID, lead.TransitionInput{To: lead.StageAccepted}, tuesday9.Add(90*time.Minute))
	require.NoError(t, err)
	r, err = f.store.SweepDueTimers(ctx, tuesday9.Add(2*time.Hour+time.Minute), 100, opts)
	require.NoError(t, err)
	require.Equal(t, 1, r.Escalations, "only the lead still waiting escalates")
	require.Equal(t, map[string]int{"breach.escalated": 1}, notificationsOf(t, f, f.mgr.ID))
}
