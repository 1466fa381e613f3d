package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

func str(s string) *string { return &s }
func num(n int) *int       { return &n }

// funnel is a tenant with a sales team of two reps, a manager, a marketer
// and routing that sends everything to the team.
type funnel struct {
	*bundle
	team                    tenant.Team
	mgr, rep1, rep2, mkt    auth.Member
	api, system             auth.Principal
	repP, rep2P, mgrP, mktP auth.Principal
}

func setupFunnel(t *testing.T) *funnel {
	t.Helper()
	bd := setup(t)
	ctx := context.Background()
	f := &funnel{bundle: bd}
	f.mgr = postgrestest.CreateMember(t, bd.store, bd.a, "mgr@alpha.test", "Manager", tenant.RoleManager, t0)
	f.rep1 = postgrestest.CreateMember(t, bd.store, bd.a, "rep1@alpha.test", "Rep One", tenant.RoleRep, t0)
	f.rep2 = postgrestest.CreateMember(t, bd.store, bd.a, "rep2@alpha.test", "Rep Two", tenant.RoleRep, t0)
	f.mkt = postgrestest.CreateMember(t, bd.store, bd.a, "mkt@alpha.test", "Marketer", tenant.RoleMarketing, t0)
	var err error
	f.team, err = bd.store.CreateTeam(ctx, bd.a.ID, bd.a.Admin(), tenant.TeamInput{Name: "Sales", Side: tenant.SideSales, ManagerID: &f.mgr.ID}, t0)
	require.NoError(t, err)
	for _, m := range []auth.Member{f.rep1, f.rep2, f.mgr} {
		_, err := bd.store.UpdateMember(ctx, bd.a.ID, bd.a.Admin(), m.ID, auth.MemberUpdate{TeamID: &f.team.ID}, t0)
		require.NoError(t, err)
	}
	require.NoError(t, bd.store.ReplaceRouting(ctx, bd.a.ID, bd.a.Admin(), lead.Routing{DefaultTeamID: &f.team.ID}, t0))
	tn := bd.a.Tenant
	f.api = auth.Principal{Type: auth.ActorToken, ID: uuid.New(), Name: "CRM sync", Scope: auth.ScopeIngest, Tenant: tn}
	f.system = auth.Principal{Type: auth.ActorSystem, Name: "Accord", Tenant: tn}
	user := func(m auth.Member) auth.Principal {
		return auth.Principal{Type: auth.ActorUser, ID: m.ID, Name: m.Name, Role: m.Role, Tenant: tn, TeamID: &f.team.ID}
	}
	f.repP, f.rep2P, f.mgrP, f.mktP = user(f.rep1), user(f.rep2), user(f.mgr), user(f.mkt)
	return f
}

func (f *funnel) create(t *testing.T, in lead.Input) lead.Lead {
	t.Helper()
	res, err := f.store.UpsertLead(context.Background(), f.a.ID, f.api, in, t0)
	require.NoError(t, err)
	return res.Lead
}

func (f *funnel) move(t *testing.T, p auth.Principal, l lead.Lead, in lead.TransitionInput) (lead.Lead, error) {
	t.Helper()
	return f.store.Transition(context.Background(), f.a.ID, p, l.ID, in, t0.Add(time.Hour))
}

func TestStore_UpsertLead(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	created := f.create(t, lead.Input{ExternalID: str("hs-1"), Email: str(" Ana@Example.COM "), FirstName: str("Ana"),
		Segment: str("Enterprise"), Score: num(40), Source: str("paid_search")})
	require.Equal(t, lead.StageNew, created.Stage)
	require.Equal(t, "ana@example.com", *created.Email)
	require.Equal(t, "enterprise", *created.Segment)
	require.Equal(t, "EUR", created.Currency)
	require.Equal(t, 1, created.Version)

	t.Run("UpdateByExternalIDMerges", func(t *testing.T) {
		res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{ExternalID: str("hs-1"), LastName: str("Ruiz")}, t0)
		require.NoError(t, err)
		require.False(t, res.Created)
		require.Equal(t, created.ID, res.Lead.ID)
		require.Equal(t, "Ana", res.Lead.FirstName, "fields left out keep their values")
		require.Equal(t, "Ruiz", res.Lead.LastName)
		require.Equal(t, 2, res.Lead.Version)
	})

	t.Run("UpdateByEmail", func(t *testing.T) {
		res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str("ana@example.com"), Company: str("Example GmbH")}, t0)
		require.NoError(t, err)
		require.False(t, res.Created)
		require.Equal(t, "Example GmbH", res.Lead.Company)
	})

	t.Run("EmailOfAnotherExternalIDConflicts", func(t *testing.T) {
		_, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{ExternalID: str("hs-2"), Email: str("ana@example.com")}, t0)
		require.ErrorIs(t, err, postgres.ErrConflict)
	})

	t.Run("Invalid", func(t *testing.T) {
		_, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str("nope"), Segment: str("galactic"), Score: num(101)}, t0)
		var verrs validator.Errors
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs, "email")
		require.Contains(t, verrs["segment"], "smb, mid, enterprise")
		require.Contains(t, verrs, "score")
		_, err = f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{FirstName: str("No key")}, t0)
		require.ErrorAs(t, err, &verrs)
	})

	t.Run("OtherTenantNotFound", func(t *testing.T) {
		_, err := f.store.FindLead(ctx, f.b.ID, created.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		_, err = f.store.FindTimeline(ctx, f.b.ID, created.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		_, err = f.store.Transition(ctx, f.b.ID, f.api, created.ID, lead.TransitionInput{To: lead.StageMQL}, t0)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		_, _, err = f.store.AddActivity(ctx, f.b.ID, f.api, created.ID, lead.ActivityInput{Kind: lead.ActCall}, t0)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		page, err := f.store.FindLeads(ctx, f.b.ID, lead.Filter{})
		require.NoError(t, err)
		require.Empty(t, page.Leads)
		// The same external id in another tenant is another lead.
		res, err := f.store.UpsertLead(ctx, f.b.ID, f.api, lead.Input{ExternalID: str("hs-1")}, t0)
		require.NoError(t, err)
		require.True(t, res.Created)
	})
}

func TestStore_HandoffRoutingRoundRobin(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	owners := map[uuid.UUID]int{}
	for i := 0; i < 4; i++ {
		l := f.create(t, lead.Input{Email: str(uuid.NewString() + "@x.test")})
		moved, err := f.move(t, f.mktP, l, lead.TransitionInput{To: lead.StageMQL})
		require.NoError(t, err)
		require.Equal(t, lead.StageMQL, moved.Stage)
		require.NotNil(t, moved.OwnerID)
		require.Equal(t, f.team.ID, *moved.TeamID)
		owners[*moved.OwnerID]++
	}
	require.Equal(t, map[uuid.UUID]int{f.rep1.ID: 2, f.rep2.ID: 2}, owners, "round-robin among the team's reps")

	// Away reps are skipped; with nobody left the lead waits in the team's
	// queue and the manager is alerted.
	away := true
	for _, r := range []auth.Member{f.rep1, f.rep2} {
		_, err := f.store.UpdateMember(ctx, f.a.ID, f.a.Admin(), r.ID, auth.MemberUpdate{Away: &away}, t0)
		require.NoError(t, err)
	}
	l := f.create(t, lead.Input{Email: str("queued@x.test")})
	moved, err := f.move(t, f.mktP, l, lead.TransitionInput{To: lead.StageMQL})
	require.NoError(t, err)
	require.Nil(t, moved.OwnerID)
	require.Equal(t, f.team.ID, *moved.TeamID)
	notes, unread, err := f.store.FindNotifications(ctx, f.a.ID, f.mgr.ID, 10)
	require.NoError(t, err)
	require.Equal(t, 1, unread)
	require.Contains(t, notes[0].Title, "waiting in the queue")
	events, err := f.store.FindTimeline(ctx, f.a.ID, l.ID)
	require.NoError(t, err)
	require.Equal(t, "assignment", events[len(events)-1].Type)
	require.Contains(t, events[len(events)-1].Why, "the team's queue")
}

func TestStore_Transitions(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	l := f.create(t, lead.Input{Email: str("lead@x.test")})
	mql, err := f.move(t, f.mktP, l, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID})
	require.NoError(t, err)
	require.Equal(t, f.rep1.ID, *mql.OwnerID)

	t.Run("OnlyTheOwnerRep", func(t *testing.T) {
		_, err := f.move(t, f.rep2P, mql, lead.TransitionInput{To: lead.StageAccepted})
		var me *lead.MoveError
		require.ErrorAs(t, err, &me)
		_, err = f.move(t, f.mktP, mql, lead.TransitionInput{To: lead.StageAccepted})
		require.ErrorAs(t, err, &me, "marketing does not accept for sales")
	})

	t.Run("RejectNeedsReason", func(t *testing.T) {
		_, err := f.move(t, f.repP, mql, lead.TransitionInput{To: lead.StageRejected})
		var verrs validator.Errors
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs, "reason")
		_, err = f.move(t, f.repP, mql, lead.TransitionInput{To: lead.StageRejected, Reason: "made_up"})
		require.ErrorAs(t, err, &verrs)
	})

	t.Run("StaleVersion", func(t *testing.T) {
		v := mql.Version - 1
		_, err := f.move(t, f.repP, mql, lead.TransitionInput{To: lead.StageAccepted, ExpectedVersion: &v})
		var ce *postgres.ConflictError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, lead.StageMQL, ce.Lead.Stage)
	})

	t.Run("PastTimes", func(t *testing.T) {
		before := mql.StageChangedAt.Add(-time.Minute)
		_, err := f.move(t, f.repP, mql, lead.TransitionInput{To: lead.StageAccepted, At: &before})
		var verrs validator.Errors
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs["at"], "latest transition")
		future := t0.Add(3 * time.Hour)
		_, err = f.move(t, f.repP, mql, lead.TransitionInput{To: lead.StageAccepted, At: &future})
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs["at"], "future")
	})

	t.Run("ManagerOnBehalf", func(t *testing.T) {
		acc, err := f.move(t, f.mgrP, mql, lead.TransitionInput{To: lead.StageAccepted})
		require.NoError(t, err)
		require.Equal(t, lead.StageAccepted, acc.Stage)
		_, err = f.move(t, f.repP, acc, lead.TransitionInput{To: lead.StageOpportunity})
		var verrs validator.Errors
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs, "amount")
		amt := lead.Cents(1_250_000_00)
		opp, err := f.move(t, f.repP, acc, lead.TransitionInput{To: lead.StageOpportunity, Amount: &amt})
		require.NoError(t, err)
		require.Equal(t, amt, *opp.Amount)
		won, err := f.move(t, f.repP, opp, lead.TransitionInput{To: lead.StageWon})
		require.NoError(t, err)
		require.Equal(t, amt, *won.Amount, "won keeps the amount unless it carries a new one")
		_, err = f.move(t, f.repP, won, lead.TransitionInput{To: lead.StageRecycled})
		var me *lead.MoveError
		require.ErrorAs(t, err, &me)
		require.Contains(t, me.Reason, "no move is allowed from won")
	})

	t.Run("Timeline", func(t *testing.T) {
		events, err := f.store.FindTimeline(context.Background(), f.a.ID, l.ID)
		require.NoError(t, err)
		var stages []lead.Stage
		for _, e := range events {
			if e.Type == "transition" {
				stages = append(stages, e.To)
			}
		}
		require.Equal(t, []lead.Stage{lead.StageNew, lead.StageMQL, lead.StageAccepted, lead.StageOpportunity, lead.StageWon}, stages)
	})
}

// TestStore_ConcurrentAccept: 50 simultaneous accepts of one lead, over many
// leads: exactly one wins and one transition row is written per lead.
func TestStore_ConcurrentAccept(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		l := f.create(t, lead.Input{Email: str(uuid.NewString() + "@race.test")})
		mql, err := f.move(t, f.mktP, l, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID})
		require.NoError(t, err)
		var wins, conflicts, other int
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := f.store.Transition(ctx, f.a.ID, f.api, mql.ID, lead.TransitionInput{To: lead.StageAccepted}, t0.Add(time.Hour))
				mu.Lock()
				defer mu.Unlock()
				var me *lead.MoveError
				switch {
				case err == nil:
					wins++
				case errors.Is(err, postgres.ErrConflict), errors.As(err, &me):
					conflicts++
				default:
					other++
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.Equal(t, 1, wins, "round %d", round)
		require.Equal(t, 49, conflicts)
		require.Zero(t, other)
		var n int
		conn := f.db.OwnerConn(t)
		_, err = conn.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, false)`, f.a.ID.String())
		require.NoError(t, err)
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM lead_transitions WHERE lead_id = $1 AND to_stage = 'accepted'`, mql.ID).Scan(&n))
		require.Equal(t, 1, n)
	}
}

// TestStore_TransitionLostRace: an accept that read the lead before
// another move committed, and wrote nothing, reports a conflict with the
// lead as the other move left it; the move's statement carries its commit,
// so the lead is read again in a new transaction. The store keeps working.
func TestStore_TransitionLostRace(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	l := f.create(t, lead.Input{Email: str("race@x.test")})
	mql, err := f.move(t, f.mktP, l, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID})
	require.NoError(t, err)

	// Another writer holds the lead's row, changed, until the accept waits
	// for it.
	conn := f.db.OwnerConn(t)
	other, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = other.Rollback(ctx) }()
	_, err = other.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, true)`, f.a.ID.String())
	require.NoError(t, err)
	_, err = other.Exec(ctx, `UPDATE leads SET stage = 'rejected', version = version + 1 WHERE id = $1`, mql.ID)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		_, err := f.store.Transition(ctx, f.a.ID, f.api, mql.ID, lead.TransitionInput{To: lead.StageAccepted}, t0.Add(time.Hour))
		done <- err
	}()
	// Wait (by the server's own account, not the clock) until the accept's
	// update waits for the row lock.
	for {
		// conn is inside the other writer's transaction, which would keep
		// reading its first snapshot of the server's activity.
		_, err := conn.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
		require.NoError(t, err)
		var waiting int
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE leads SET stage%'`).Scan(&waiting))
		if waiting > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the accept returned before the other writer committed: %v", err)
		default:
		}
	}
	require.NoError(t, other.Commit(ctx))

	err = <-done
	var ce *postgres.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, lead.StageRejected, ce.Lead.Stage, "the conflict carries the lead as it is now")
	require.Equal(t, mql.Version+1, ce.Lead.Version)
	require.Equal(t, mql.ID, ce.Lead.ID)

	var n int
	_, err = conn.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, false)`, f.a.ID.String())
	require.NoError(t, err)
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM lead_transitions WHERE lead_id = $1 AND to_stage = 'accepted'`, mql.ID).Scan(&n))
	require.Zero(t, n, "the lost accept wrote nothing")

	// Every connection of the pool is still usable: accepts keep working.
	for i := 0; i < 10; i++ {
		l := f.create(t, lead.Input{Email: str(fmt.Sprintf("after%d@x.test", i))})
		mql, err := f.move(t, f.mktP, l, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID})
		require.NoError(t, err)
		acc, err := f.move(t, f.api, mql, lead.TransitionInput{To: lead.StageAccepted})
		require.NoError(t, err)
		require.Equal(t, lead.StageAccepted, acc.Stage)
		require.Equal(t, mql.Version+1, acc.Version)
	}
}

func TestStore_QualificationRule(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	require.NoError(t, f.store.SetQualification(ctx, f.a.ID, f.a.Admin(), lead.Qualification{
		MinScore: num(70), RequireICPFit: true,
		PageViews: &lead.PageViewRule{URLContains: "/pricing", Count: 3, WithinHours: 48},
	}, t0))

	hot := f.create(t, lead.Input{Email: str("hot@x.test"), Score: num(80), ICPFit: boolPtr(true)})
	require.Equal(t, lead.StageMQL, hot.Stage, "qualifies at creation")
	require.NotNil(t, hot.OwnerID, "and is routed")

	cold := f.create(t, lead.Input{Email: str("cold@x.test"), Score: num(20)})
	require.Equal(t, lead.StageNew, cold.Stage)
	for i, h := range []int{0, 30, 47} {
		at := t0.Add(time.Duration(h) * time.Hour)
		_, l, err := f.store.AddActivity(ctx, f.a.ID, f.api, cold.ID, lead.ActivityInput{Kind: lead.ActPageView, URL: "https://acme.test/Pricing?plan=pro", At: &at}, t0.Add(48*time.Hour))
		require.NoError(t, err)
		if i < 2 {
			require.Equal(t, lead.StageNew, l.Stage)
		} else {
			require.Equal(t, lead.StageMQL, l.Stage, "three pricing views within 48 hours")
			require.True(t, at.Equal(l.StageChangedAt), "handed off when the rule became true: %s", l.StageChangedAt)
		}
	}
	_, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str("cold@x.test"), Score: num(99)}, t0)
	require.NoError(t, err, "an update of a lead past new does not hand it off again")
}

func boolPtr(b bool) *bool { return &b }

func TestStore_FindLeads(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		seg := "smb"
		if i%2 == 0 {
			seg = "enterprise"
		}
		_, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str(uuid.NewString() + "@list.test"), Company: str("Globex"),
			Segment: &seg, CreatedAt: timePtr(t0.Add(-time.Duration(i) * time.Hour))}, t0)
		require.NoError(t, err)
	}
	_, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str("needle@haystack.test"), FirstName: str("Zoë"), LastName: str("O'Brien")}, t0)
	require.NoError(t, err)

	page, err := f.store.FindLeads(ctx, f.a.ID, lead.Filter{Q: "o'bri"})
	require.NoError(t, err)
	require.Len(t, page.Leads, 1)
	page, err = f.store.FindLeads(ctx, f.a.ID, lead.Filter{Q: "50%_"})
	require.NoError(t, err)
	require.Empty(t, page.Leads, "LIKE wildcards in the query are literal")

	seen := map[uuid.UUID]bool{}
	cursor := ""
	pages := 0
	for {
		page, err := f.store.FindLeads(ctx, f.a.ID, lead.Filter{Segment: "enterprise", Cursor: cursor, Limit: 2})
		require.NoError(t, err)
		pages++
		for _, l := range page.Leads {
			require.False(t, seen[l.ID])
			seen[l.ID] = true
			require.Equal(t, "enterprise", *l.Segment)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	require.Len(t, seen, 4)
	require.Equal(t, 2, pages)
	_, err = f.store.FindLeads(ctx, f.a.ID, lead.Filter{Cursor: "garbage"})
	var verrs validator.Errors
	require.ErrorAs(t, err, &verrs)
}

func timePtr(t time.Time) *time.Time { return &t }

// TestStore_FindLeads_SearchFollowsChanges checks the search side table
// (migration 15): it follows a lead's name, email and company as they
// change, is not changed by a stage change, stays in its tenant, and only
// the owner's triggers write it.
func TestStore_FindLeads_SearchFollowsChanges(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	found := func(tid tenant.ID, q string) int {
		t.Helper()
		page, err := f.store.FindLeads(ctx, tid, lead.Filter{Q: q})
		require.NoError(t, err)
		return len(page.Leads)
	}
	res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{ExternalID: str("s-1"), Email: str("ana@initech.test"),
		FirstName: str("Ana"), LastName: str("Ruiz"), Company: str("Initech")}, t0)
	require.NoError(t, err)
	require.Equal(t, 1, found(f.a.ID, "initech"))
	require.Equal(t, 1, found(f.a.ID, "ana ruiz"))
	require.Zero(t, found(f.b.ID, "initech"), "another tenant's lead")

	_, err = f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{ExternalID: str("s-1"), Email: str("ana@umbrella.test"),
		Company: str("Umbrella")}, t0)
	require.NoError(t, err)
	require.Zero(t, found(f.a.ID, "initech"), "the old company and email are forgotten")
	require.Equal(t, 1, found(f.a.ID, "umbrella"))
	require.Equal(t, 1, found(f.a.ID, "ana@umbrella"))
	require.Equal(t, 1, found(f.a.ID, "ruiz"), "fields left out keep their values")

	_, err = f.store.Transition(ctx, f.a.ID, f.mktP, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL}, t0)
	require.NoError(t, err)
	require.Equal(t, 1, found(f.a.ID, "umbrella"), "a stage change keeps the lead findable")

	_, err = f.db.Pool.Exec(ctx, `INSERT INTO lead_search (tenant_id, lead_id, doc) VALUES ($1, $2, 'forged')`, f.a.ID, uuid.New())
	require.Error(t, err, "the app role cannot write the search table")
	var rows int
	require.NoError(t, f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM lead_search`).Scan(&rows))
	require.Zero(t, rows, "without a tenant the app role reads no search rows")
	require.NoError(t, f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM accord_search_leads('%')`).Scan(&rows))
	require.Zero(t, rows, "without a tenant the search function finds nothing")
	inTenant(t, f.store, f.b.ID, func(tx pgx.Tx) {
		require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM accord_search_leads('%')`).Scan(&rows))
	})
	require.Zero(t, rows, "another tenant's search finds none of this tenant's leads")
	inTenant(t, f.store, f.a.ID, func(tx pgx.Tx) {
		require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM accord_search_leads('%umbrella%')`).Scan(&rows))
	})
	require.Equal(t, 1, rows, "the tenant's own search finds its lead")
}
