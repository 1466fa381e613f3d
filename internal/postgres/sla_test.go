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
	"github.com/accordhq/accord/internal/validator"
)

// tuesday9 is a working morning in the tenants' zone (Europe/Berlin).
var tuesday9 = time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)

func respondClause(minutes int) sla.Clause {
	return sla.Clause{Kind: sla.KindRespond, TargetMinutes: minutes}
}

func saveAgreement(t *testing.T, f *funnel, base int, cs ...sla.Clause) sla.Agreement {
	t.Helper()
	a, err := f.store.SaveAgreement(context.Background(), f.a.ID, f.a.Admin(), postgres.SaveAgreementInput{BaseVersion: base, Clauses: cs}, tuesday9.Add(-24*time.Hour))
	require.NoError(t, err)
	return a
}

type timerRow struct {
	Kind, Status          string
	Version               int
	DueAt                 time.Time
	StoppedAt, BreachedAt *time.Time
	Holder                *uuid.UUID
	NextCheck             *time.Time
}

func timersOf(t *testing.T, f *funnel, leadID uuid.UUID) []timerRow {
	t.Helper()
	ctx := context.Background()
	conn := f.db.OwnerConn(t)
	_, err := conn.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, false)`, f.a.ID.String())
	require.NoError(t, err)
	rows, err := conn.Query(ctx, `SELECT kind, status, agreement_version, due_at, stopped_at, breached_at, holder_id, next_check_at
		FROM sla_timers WHERE lead_id = $1 ORDER BY kind, start_seq`, leadID)
	require.NoError(t, err)
	var out []timerRow
	for rows.Next() {
		var r timerRow
		require.NoError(t, rows.Scan(&r.Kind, &r.Status, &r.Version, &r.DueAt, &r.StoppedAt, &r.BreachedAt, &r.Holder, &r.NextCheck))
		out = append(out, r)
	}
	return out
}

func breachCount(t *testing.T, f *funnel, leadID uuid.UUID) int {
	t.Helper()
	conn := f.db.OwnerConn(t)
	ctx := context.Background()
	_, err := conn.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, false)`, f.a.ID.String())
	require.NoError(t, err)
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM sla_breaches WHERE lead_id = $1`, leadID).Scan(&n))
	return n
}

func TestStore_Agreement(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	a0, err := f.store.FindAgreement(ctx, f.a.ID)
	require.NoError(t, err)
	require.Equal(t, 0, a0.Version, "a new tenant is at version 0 with no clauses")
	require.Empty(t, a0.Clauses)

	a1 := saveAgreement(t, f, 0, respondClause(240), sla.Clause{Kind: sla.KindVolume, TargetCount: num(400)})
	require.Equal(t, 1, a1.Version)
	require.Len(t, a1.Clauses, 2)
	require.Equal(t, 75, a1.Clauses[0].WarnAtPercent, "defaults applied")

	_, err = f.store.SaveAgreement(ctx, f.a.ID, f.a.Admin(), postgres.SaveAgreementInput{BaseVersion: 0, Clauses: nil}, tuesday9)
	require.ErrorIs(t, err, postgres.ErrConflict, "a stale base version")

	keep := a1.Clauses[0]
	keep.TargetMinutes = 120
	a2, err := f.store.SaveAgreement(ctx, f.a.ID, f.a.Admin(), postgres.SaveAgreementInput{BaseVersion: 1, Clauses: []sla.Clause{keep}}, tuesday9)
	require.NoError(t, err)
	require.Equal(t, 2, a2.Version)
	require.Equal(t, keep.ID, a2.Clauses[0].ID, "a clause keeps its id across versions")
	versions, err := f.store.FindAgreementVersions(ctx, f.a.ID, 10)
	require.NoError(t, err)
	require.Len(t, versions, 2)
	audit, err := f.store.FindAuditEntries(ctx, f.a.ID, "agreement", 10)
	require.NoError(t, err)
	require.Len(t, audit, 2)

	_, err = f.store.SaveAgreement(ctx, f.a.ID, f.a.Admin(), postgres.SaveAgreementInput{BaseVersion: 2,
		Clauses: []sla.Clause{{Kind: sla.KindRespond, TargetMinutes: 0}, {Kind: sla.KindRespond, TargetMinutes: 60, Scope: sla.Scope{Segment: str("galactic")}}}}, tuesday9)
	var verrs validator.Errors
	require.ErrorAs(t, err, &verrs)
	require.Contains(t, verrs, "clauses.0.target_minutes")
	require.Contains(t, verrs, "clauses.1.scope.segment")
	cur, err := f.store.FindAgreement(ctx, f.a.ID)
	require.NoError(t, err)
	require.Equal(t, 2, cur.Version, "nothing saved half-way")

	t.Run("OtherTenantSeesNone", func(t *testing.T) {
		b, err := f.store.FindAgreement(ctx, f.b.ID)
		require.NoError(t, err)
		require.Equal(t, 0, b.Version)
	})
}

func TestStore_TimersFollowEvents(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	saveAgreement(t, f, 0, respondClause(240), sla.Clause{Kind: sla.KindFirstTouch, TargetMinutes: 60})

	res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str("timer@x.test")}, tuesday9)
	require.NoError(t, err)
	l := res.Lead
	require.Empty(t, timersOf(t, f, l.ID), "no timer before the handoff")

	handoff := tuesday9.Add(time.Minute)
	mql, err := f.store.Transition(ctx, f.a.ID, f.mktP, l.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID}, handoff)
	require.NoError(t, err)
	ts := timersOf(t, f, l.ID)
	require.Len(t, ts, 2)
	require.Equal(t, "first_touch", ts[0].Kind)
	require.Equal(t, "running", ts[0].Status)
	require.True(t, handoff.Add(time.Hour).Equal(ts[0].DueAt))
	require.Equal(t, "respond", ts[1].Kind)
	require.True(t, handoff.Add(4*time.Hour).Equal(ts[1].DueAt))
	require.Equal(t, f.rep1.ID, *ts[1].Holder)
	require.True(t, handoff.Add(3*time.Hour).Equal(*ts[1].NextCheck), "the worker looks again at the warning")

	touchAt := handoff.Add(20 * time.Minute)
	_, _, err = f.store.AddActivity(ctx, f.a.ID, f.repP, l.ID, lead.ActivityInput{Kind: lead.ActCall, At: &touchAt}, handoff.Add(30*time.Minute))
	require.NoError(t, err)
	ts = timersOf(t, f, l.ID)
	require.Equal(t, "met", ts[0].Status)
	require.True(t, touchAt.Equal(*ts[0].StoppedAt))
	require.Nil(t, ts[0].NextCheck)

	_, err = f.store.Transition(ctx, f.a.ID, f.repP, mql.ID, lead.TransitionInput{To: lead.StageAccepted}, handoff.Add(time.Hour))
	require.NoError(t, err)
	ts = timersOf(t, f, l.ID)
	require.Equal(t, "met", ts[1].Status)
	require.Zero(t, breachCount(t, f, l.ID))
}

// TestStore_HistoryYieldsBreaches: history with past times gives the
// breaches it contains, breached at their due times.
func TestStore_HistoryYieldsBreaches(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	saveAgreement(t, f, 0, respondClause(60))
	now := tuesday9.Add(72 * time.Hour)
	created := tuesday9.Add(-time.Hour)
	res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str("old@x.test"), CreatedAt: &created}, now)
	require.NoError(t, err)
	handoff := tuesday9
	_, err = f.store.Transition(ctx, f.a.ID, f.api, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID, At: &handoff}, now)
	require.NoError(t, err)
	ts := timersOf(t, f, res.Lead.ID)
	require.Len(t, ts, 1)
	require.Equal(t, "breached", ts[0].Status)
	require.True(t, handoff.Add(time.Hour).Equal(*ts[0].BreachedAt))
	require.Equal(t, 1, breachCount(t, f, res.Lead.ID))

	// Accepting late keeps the breach and notes when it was dealt with.
	late := handoff.Add(5 * time.Hour)
	_, err = f.store.Transition(ctx, f.a.ID, f.api, res.Lead.ID, lead.TransitionInput{To: lead.StageAccepted, At: &late}, now)
	require.NoError(t, err)
	ts = timersOf(t, f, res.Lead.ID)
	require.Equal(t, "breached", ts[0].Status)
	require.True(t, late.Equal(*ts[0].StoppedAt))
	require.Equal(t, 1, breachCount(t, f, res.Lead.ID), "exactly one breach per timer")
}

func TestStore_TimersPinnedAndSnoozed(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	a1 := saveAgreement(t, f, 0, respondClause(240))
	res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str("pin@x.test")}, tuesday9)
	require.NoError(t, err)
	_, err = f.store.Transition(ctx, f.a.ID, f.api, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID}, tuesday9)
	require.NoError(t, err)

	// Version 2 halves the target; the running timer keeps version 1.
	tighter := a1.Clauses[0]
	tighter.TargetMinutes = 120
	_, err = f.store.SaveAgreement(ctx, f.a.ID, f.a.Admin(), postgres.SaveAgreementInput{BaseVersion: 1, Clauses: []sla.Clause{tighter}}, tuesday9.Add(time.Minute))
	require.NoError(t, err)
	until := tuesday9.Add(25 * time.Hour) // Wednesday 10:00 Berlin
	_, err = f.store.Snooze(ctx, f.a.ID, f.repP, res.Lead.ID, lead.SnoozeInput{Until: until, Reason: "call back tomorrow"}, tuesday9.Add(time.Hour))
	require.NoError(t, err)
	ts := timersOf(t, f, res.Lead.ID)
	require.Equal(t, 1, ts[0].Version, "pinned to the version it started under")
	// 4 h target; paused from 10:00 Tuesday to 10:00 Wednesday = 8 business
	// hours (capped at the default 40 h): due Wednesday 13:00 Berlin.
	require.True(t, time.Date(2026, 11, 4, 12, 0, 0, 0, time.UTC).Equal(ts[0].DueAt), "due %s", ts[0].DueAt)
}

func TestStore_PreviewAgreement(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	saveAgreement(t, f, 0, respondClause(240))
	now := tuesday9.Add(7 * 24 * time.Hour)
	// Three leads handed off Tuesday 09:00, accepted after 30 min, 2 h and 5 h.
	for i, after := range []time.Duration{30 * time.Minute, 2 * time.Hour, 5 * time.Hour} {
		created := tuesday9.Add(-time.Hour)
		res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str(uuid.NewString() + "@pv.test"), CreatedAt: &created}, now)
		require.NoError(t, err)
		owner := f.rep1.ID
		if i == 2 {
			owner = f.rep2.ID
		}
		at := tuesday9
		_, err = f.store.Transition(ctx, f.a.ID, f.api, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &owner, At: &at}, now)
		require.NoError(t, err)
		acc := tuesday9.Add(after)
		_, err = f.store.Transition(ctx, f.a.ID, f.api, res.Lead.ID, lead.TransitionInput{To: lead.StageAccepted, At: &acc}, now)
		require.NoError(t, err)
	}
	pv, err := f.store.PreviewAgreement(ctx, f.a.ID, []sla.Clause{respondClause(60)}, now)
	require.NoError(t, err)
	require.Equal(t, 3, pv.Leads)
	require.Equal(t, postgres.Outcome{Met: 2, Breached: 1}, pv.Current, "4 h: only the 5 h acceptance breaches")
	require.Equal(t, postgres.Outcome{Met: 1, Breached: 2}, pv.Proposed, "1 h: the 2 h one breaches too")
	reps := map[string]postgres.PreviewRow{}
	for _, r := range pv.ByRep {
		reps[r.Name] = r
	}
	require.Equal(t, postgres.Outcome{Met: 2}, reps["Rep One"].Current)
	require.Equal(t, postgres.Outcome{Met: 1, Breached: 1}, reps["Rep One"].Proposed)
	require.Equal(t, postgres.Outcome{Breached: 1}, reps["Rep Two"].Proposed)
	require.Len(t, pv.ByTeam, 1)

	_, err = f.store.PreviewAgreement(ctx, f.a.ID, []sla.Clause{{Kind: sla.KindRespond}}, now)
	var verrs validator.Errors
	require.ErrorAs(t, err, &verrs)
	require.Contains(t, verrs, "clauses.0.target_minutes")

	other, err := f.store.PreviewAgreement(ctx, f.b.ID, []sla.Clause{respondClause(60)}, now)
	require.NoError(t, err)
	require.Zero(t, other.Leads, "another tenant's history is not replayed")
}

// TestStore_DecisionWebhooks: accepting and rejecting queue lead.accepted
// and lead.rejected deliveries in the decision's transaction, only to the
// endpoints subscribed, with an event id stable for the decision.
func TestStore_DecisionWebhooks(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	both, err := f.store.CreateWebhookEndpoint(ctx, f.a.ID, f.a.Admin(), "https://hooks.example.com/a", []string{"lead.accepted", "lead.rejected"}, "accord", tuesday9)
	require.NoError(t, err)
	_, err = f.store.CreateWebhookEndpoint(ctx, f.a.ID, f.a.Admin(), "https://hooks.example.com/b", []string{"breach.created"}, "accord", tuesday9)
	require.NoError(t, err)
	_, err = f.store.CreateWebhookEndpoint(ctx, f.b.ID, f.b.Admin(), "https://hooks.example.com/other", []string{"lead.accepted"}, "accord", tuesday9)
	require.NoError(t, err)

	handoff := func(email string) lead.Lead {
		res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str(email)}, tuesday9)
		require.NoError(t, err)
		l, err := f.store.Transition(ctx, f.a.ID, f.mktP, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID}, tuesday9)
		require.NoError(t, err)
		return l
	}
	acc, rej := handoff("acc@x.test"), handoff("rej@x.test")
	_, err = f.store.Transition(ctx, f.a.ID, f.repP, acc.ID, lead.TransitionInput{To: lead.StageAccepted}, tuesday9.Add(time.Minute))
	require.NoError(t, err)
	_, err = f.store.Transition(ctx, f.a.ID, f.repP, rej.ID, lead.TransitionInput{To: lead.StageRejected, Reason: "no_budget"}, tuesday9.Add(time.Minute))
	require.NoError(t, err)
	// A failed decision queues nothing.
	_, err = f.store.Transition(ctx, f.a.ID, f.repP, rej.ID, lead.TransitionInput{To: lead.StageAccepted}, tuesday9.Add(time.Minute))
	require.Error(t, err)

	conn := f.db.OwnerConn(t)
	rows, err := conn.Query(ctx, `SELECT args->>'endpoint_id', args->'event'->>'type', args->'event'->'data'->>'lead_id',
		args->'event'->'data'->>'reason', args->'event'->>'tenant' FROM river.river_job WHERE kind = 'webhook.deliver' ORDER BY id`)
	require.NoError(t, err)
	type job struct{ endpoint, typ, leadID, reason, tenant string }
	var jobs []job
	for rows.Next() {
		var j job
		var reason *string
		require.NoError(t, rows.Scan(&j.endpoint, &j.typ, &j.leadID, &reason, &j.tenant))
		if reason != nil {
			j.reason = *reason
		}
		jobs = append(jobs, j)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []job{
		{both.ID.String(), "lead.accepted", acc.ID.String(), "", f.a.Slug},
		{both.ID.String(), "lead.rejected", rej.ID.String(), "no_budget", f.a.Slug},
	}, jobs, "only the subscribed endpoint of this tenant, once per decision")
}

// TestStore_BackfillTimers: history stored before any agreement gets its
// timers (and breaches, at their due times) when backfilled, once.
func TestStore_BackfillTimers(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	now := tuesday9.Add(72 * time.Hour)
	created := tuesday9.Add(-time.Hour)
	res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str("bulk@x.test"), CreatedAt: &created}, now)
	require.NoError(t, err)
	at := tuesday9
	_, err = f.store.Transition(ctx, f.a.ID, f.api, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID, At: &at}, now)
	require.NoError(t, err)
	other, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str("never@x.test"), CreatedAt: &created}, now)
	require.NoError(t, err)
	require.Empty(t, timersOf(t, f, res.Lead.ID), "no agreement, no timer")

	saveAgreement(t, f, 0, respondClause(60))
	n, err := f.store.BackfillTimers(ctx, f.a.ID, now)
	require.NoError(t, err)
	require.Equal(t, 2, n, "every lead of the tenant is looked at")
	ts := timersOf(t, f, res.Lead.ID)
	require.Len(t, ts, 1)
	require.Equal(t, "breached", ts[0].Status)
	require.True(t, at.Add(time.Hour).Equal(*ts[0].BreachedAt), "breached at its due time")
	require.Empty(t, timersOf(t, f, other.Lead.ID), "a lead never handed off starts no timer")
	_, err = f.store.BackfillTimers(ctx, f.a.ID, now)
	require.NoError(t, err)
	require.Equal(t, 1, breachCount(t, f, res.Lead.ID), "running it twice records nothing twice")
}
