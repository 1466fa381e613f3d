package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

type bundle struct {
	db    *postgrestest.DB
	store *postgres.Store
	a, b  postgrestest.Tenant
}

func setup(t testing.TB) *bundle {
	t.Helper()
	db := postgrestest.NewDB(t)
	return &bundle{
		db:    db,
		store: db.Store,
		a:     postgrestest.CreateTenant(t, db.Store, "alpha", t0),
		b:     postgrestest.CreateTenant(t, db.Store, "beta", t0),
	}
}

func TestStore_CreateTenant(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		got, err := bd.store.FindTenantBySlug(ctx, "alpha")
		require.NoError(t, err)
		require.Equal(t, bd.a.ID, got.ID)
		require.Equal(t, "Europe/Berlin", got.TimeZone)
		cals, err := bd.store.FindCalendars(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Len(t, cals, 1)
		require.True(t, cals[0].IsDefault)
		require.Equal(t, "Mon–Fri 09:00–17:00", cals[0].Hours.Describe())
		require.Equal(t, "Europe/Berlin", cals[0].TimeZone)
		m, err := bd.store.FindMember(ctx, bd.a.ID, bd.a.AdminID)
		require.NoError(t, err)
		require.Equal(t, tenant.RoleAdmin, m.Role)
		entries, err := bd.store.FindAuditEntries(ctx, bd.a.ID, "tenant", 10)
		require.NoError(t, err)
		require.Len(t, entries, 1)
		require.Equal(t, "tenant.created", entries[0].Action)
	})

	t.Run("SlugTaken", func(t *testing.T) {
		_, _, err := bd.store.CreateTenant(ctx, tenant.Input{Slug: "alpha", Name: "Again", TimeZone: "UTC", Currency: "EUR"},
			postgres.AdminInput{Email: "x@alpha.test", Name: "X", PasswordHash: postgrestest.PasswordHash()}, t0)
		var verrs validator.Errors
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs, "slug")
		// Nothing half-written: the would-be admin does not exist.
		_, err = bd.store.FindUserByEmail(ctx, "x@alpha.test")
		require.ErrorIs(t, err, postgres.ErrNotFound)
	})

	t.Run("ExistingUserJoinsAsAdmin", func(t *testing.T) {
		tn, uid, err := bd.store.CreateTenant(ctx, tenant.Input{Slug: "gamma", Name: "Gamma", TimeZone: "UTC", Currency: "USD"},
			postgres.AdminInput{Email: bd.a.AdminEmail, Name: "ignored", PasswordHash: "ignored"}, t0)
		require.NoError(t, err)
		require.Equal(t, bd.a.AdminID, uid)
		u, err := bd.store.FindUserByEmail(ctx, bd.a.AdminEmail)
		require.NoError(t, err)
		require.NoError(t, auth.CheckPassword(u.PasswordHash, postgrestest.Password), "the existing password is kept")
		ms, err := bd.store.FindMemberships(ctx, uid)
		require.NoError(t, err)
		require.Len(t, ms, 2)
		p, err := bd.store.FindPrincipal(ctx, tn.ID, uid)
		require.NoError(t, err)
		require.Len(t, p.Memberships, 2, "the principal lists the user's tenants for the switcher")
	})
}

// TestRLS_Isolation checks the boundary underneath the store: as the app
// role, a transaction scoped to one tenant sees and writes only that tenant.
func TestRLS_Isolation(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()
	_, err := bd.store.CreateTeam(ctx, bd.a.ID, bd.a.Admin(), tenant.TeamInput{Name: "Alpha sales", Side: tenant.SideSales}, t0)
	require.NoError(t, err)
	_, err = bd.store.CreateTeam(ctx, bd.b.ID, bd.b.Admin(), tenant.TeamInput{Name: "Beta sales", Side: tenant.SideSales}, t0)
	require.NoError(t, err)

	count := func(tid string) int {
		tx, err := bd.db.Pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, true)`, tid)
		require.NoError(t, err)
		var n int
		require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM teams`).Scan(&n))
		return n
	}
	require.Equal(t, 1, count(bd.a.ID.String()))
	require.Equal(t, 1, count(bd.b.ID.String()))
	require.Equal(t, 0, count(""), "no tenant set: nothing visible")

	// Writing another tenant's row from inside tenant A is refused.
	tx, err := bd.db.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, true)`, bd.a.ID.String())
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `INSERT INTO teams (tenant_id, id, name, side, created_at) VALUES ($1, $2, 'sneaky', 'sales', now())`, bd.b.ID, uuid.New())
	require.Error(t, err)
	require.Contains(t, err.Error(), "row-level security")
}

func TestStore_Members(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()
	rep := postgrestest.CreateMember(t, bd.store, bd.a, "rep@alpha.test", "Rep One", tenant.RoleRep, t0)

	t.Run("OK", func(t *testing.T) {
		ms, err := bd.store.FindMembers(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Len(t, ms, 2)
		page, err := bd.store.FindMembersPage(ctx, bd.a.ID, uuid.Nil, 1)
		require.NoError(t, err)
		require.Len(t, page, 1)
		rest, err := bd.store.FindMembersPage(ctx, bd.a.ID, page[0].ID, 10)
		require.NoError(t, err)
		require.Len(t, rest, 1)
		require.NotEqual(t, page[0].ID, rest[0].ID)
	})

	t.Run("OtherTenantNotFound", func(t *testing.T) {
		_, err := bd.store.FindMember(ctx, bd.b.ID, rep.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		ms, err := bd.store.FindMembers(ctx, bd.b.ID)
		require.NoError(t, err)
		require.Len(t, ms, 1, "only beta's admin")
		_, err = bd.store.FindPrincipal(ctx, bd.b.ID, rep.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		_, err = bd.store.UpdateMember(ctx, bd.b.ID, bd.b.Admin(), rep.ID, auth.MemberUpdate{}, t0)
		require.ErrorIs(t, err, postgres.ErrNotFound)
	})

	t.Run("Update", func(t *testing.T) {
		team, err := bd.store.CreateTeam(ctx, bd.a.ID, bd.a.Admin(), tenant.TeamInput{Name: "Sales", Side: tenant.SideSales}, t0)
		require.NoError(t, err)
		away := true
		m, err := bd.store.UpdateMember(ctx, bd.a.ID, bd.a.Admin(), rep.ID, auth.MemberUpdate{TeamID: &team.ID, Away: &away}, t0)
		require.NoError(t, err)
		require.Equal(t, team.ID, *m.TeamID)
		require.True(t, m.Away)
		entries, err := bd.store.FindAuditEntries(ctx, bd.a.ID, "user", 10)
		require.NoError(t, err)
		require.Equal(t, "user.updated", entries[0].Action)
		require.JSONEq(t, `{"role":"rep","team_id":null,"manager_id":null,"away":false,"active":true}`, string(entries[0].Before))
	})

	t.Run("OtherTenantTeamRefused", func(t *testing.T) {
		betaTeam, err := bd.store.CreateTeam(ctx, bd.b.ID, bd.b.Admin(), tenant.TeamInput{Name: "Beta", Side: tenant.SideSales}, t0)
		require.NoError(t, err)
		_, err = bd.store.UpdateMember(ctx, bd.a.ID, bd.a.Admin(), rep.ID, auth.MemberUpdate{TeamID: &betaTeam.ID}, t0)
		var verrs validator.Errors
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs, "team_id")
	})

	t.Run("LastAdminKept", func(t *testing.T) {
		role := tenant.RoleRep
		_, err := bd.store.UpdateMember(ctx, bd.a.ID, bd.a.Admin(), bd.a.AdminID, auth.MemberUpdate{Role: &role}, t0)
		var verrs validator.Errors
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs["role"], "last active admin")
	})
}

func TestStore_Invitations(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()
	token, hash := auth.NewInviteToken(bd.a.ID)
	in := auth.InviteInput{Email: "new@alpha.test", Name: "New Person", Role: tenant.RoleRep}
	m, err := bd.store.InviteUser(ctx, bd.a.ID, bd.a.Admin(), in, postgres.Invite{TokenHash: hash}, t0)
	require.NoError(t, err)
	require.True(t, m.Invited)
	require.True(t, m.Active, "invited users are active: routing may assign them leads")

	t.Run("AlreadyMember", func(t *testing.T) {
		_, h2 := auth.NewInviteToken(bd.a.ID)
		_, err := bd.store.InviteUser(ctx, bd.a.ID, bd.a.Admin(), in, postgres.Invite{TokenHash: h2}, t0)
		var verrs validator.Errors
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs, "email")
	})

	t.Run("OtherTenantNotFound", func(t *testing.T) {
		_, err := bd.store.FindInvitation(ctx, bd.b.ID, hash)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		_, err = bd.store.AcceptInvitation(ctx, bd.b.ID, hash, postgrestest.PasswordHash(), t0)
		require.ErrorIs(t, err, postgres.ErrNotFound)
	})

	t.Run("AcceptOnce", func(t *testing.T) {
		tid, h, err := auth.ParseInviteToken(token)
		require.NoError(t, err)
		require.Equal(t, bd.a.ID, tid)
		inv, err := bd.store.AcceptInvitation(ctx, tid, h, postgrestest.PasswordHash(), t0.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, m.ID, inv.UserID)
		u, err := bd.store.FindUserByEmail(ctx, "new@alpha.test")
		require.NoError(t, err)
		require.NoError(t, auth.CheckPassword(u.PasswordHash, postgrestest.Password))
		_, err = bd.store.AcceptInvitation(ctx, tid, h, postgrestest.PasswordHash(), t0.Add(2*time.Hour))
		require.ErrorIs(t, err, auth.ErrInvitationUsed)
	})

	t.Run("Expired", func(t *testing.T) {
		_, h := auth.NewInviteToken(bd.a.ID)
		_, err := bd.store.InviteUser(ctx, bd.a.ID, bd.a.Admin(), auth.InviteInput{Email: "late@alpha.test", Name: "Late", Role: tenant.RoleViewer},
			postgres.Invite{TokenHash: h}, t0)
		require.NoError(t, err)
		_, err = bd.store.AcceptInvitation(ctx, bd.a.ID, h, postgrestest.PasswordHash(), t0.Add(auth.InvitationTTL))
		require.ErrorIs(t, err, auth.ErrInvitationExpired)
		u, err := bd.store.FindUserByEmail(ctx, "late@alpha.test")
		require.NoError(t, err)
		require.Empty(t, u.PasswordHash, "an expired link sets nothing")
	})
}

func TestStore_Teams(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()
	mgr := postgrestest.CreateMember(t, bd.store, bd.a, "mgr@alpha.test", "Manager", tenant.RoleManager, t0)
	cals, err := bd.store.FindCalendars(ctx, bd.a.ID)
	require.NoError(t, err)
	team, err := bd.store.CreateTeam(ctx, bd.a.ID, bd.a.Admin(), tenant.TeamInput{Name: "Enterprise", Side: tenant.SideSales, ManagerID: &mgr.ID, CalendarID: &cals[0].ID}, t0)
	require.NoError(t, err)
	require.Equal(t, "Manager", team.ManagerName)
	require.Equal(t, cals[0].Name, team.CalendarName)

	t.Run("DuplicateName", func(t *testing.T) {
		_, err := bd.store.CreateTeam(ctx, bd.a.ID, bd.a.Admin(), tenant.TeamInput{Name: "enterprise", Side: tenant.SideSales}, t0)
		var verrs validator.Errors
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs, "name")
	})

	t.Run("OtherTenantNotFound", func(t *testing.T) {
		_, err := bd.store.FindTeam(ctx, bd.b.ID, team.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		teams, err := bd.store.FindTeams(ctx, bd.b.ID)
		require.NoError(t, err)
		require.Empty(t, teams)
		_, err = bd.store.UpdateTeam(ctx, bd.b.ID, bd.b.Admin(), team.ID, tenant.TeamInput{Name: "x", Side: tenant.SideSales}, t0)
		require.ErrorIs(t, err, postgres.ErrNotFound)
	})

	t.Run("OtherTenantReferencesRefused", func(t *testing.T) {
		betaCals, err := bd.store.FindCalendars(ctx, bd.b.ID)
		require.NoError(t, err)
		_, err = bd.store.CreateTeam(ctx, bd.b.ID, bd.b.Admin(), tenant.TeamInput{Name: "B", Side: tenant.SideSales, ManagerID: &mgr.ID}, t0)
		var verrs validator.Errors
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs, "manager_id")
		_, err = bd.store.CreateTeam(ctx, bd.a.ID, bd.a.Admin(), tenant.TeamInput{Name: "C", Side: tenant.SideSales, CalendarID: &betaCals[0].ID}, t0)
		require.ErrorAs(t, err, &verrs)
		require.Contains(t, verrs, "calendar_id")
	})
}

func TestStore_Calendars(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()
	week := sla.DefaultWeek()
	week[1] = []sla.Interval{{Start: 9 * 60, End: 12 * 60}, {Start: 13 * 60, End: 17*60 + 30}}
	cal, err := bd.store.CreateCalendar(ctx, bd.a.ID, bd.a.Admin(), sla.CalendarInput{
		Name: "US East", TimeZone: "America/New_York", Hours: week,
		Holidays: []sla.Holiday{{Date: "2026-12-25", Name: "Christmas"}},
	}, t0)
	require.NoError(t, err)
	require.Equal(t, week, cal.Hours)
	require.Equal(t, []sla.Holiday{{Date: "2026-12-25", Name: "Christmas"}}, cal.Holidays)

	t.Run("OtherTenantNotFound", func(t *testing.T) {
		_, err := bd.store.FindCalendar(ctx, bd.b.ID, cal.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		cals, err := bd.store.FindCalendars(ctx, bd.b.ID)
		require.NoError(t, err)
		require.Len(t, cals, 1, "only beta's default calendar")
	})
}

func TestStore_APITokens(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()
	plain, hash := auth.NewAPIToken(bd.a.ID)
	tok, err := bd.store.CreateAPIToken(ctx, bd.a.ID, bd.a.Admin(), auth.TokenInput{Name: "CRM", Scope: auth.ScopeRead}, hash, auth.TokenHint(plain), t0)
	require.NoError(t, err)

	t.Run("StoredHashedOnly", func(t *testing.T) {
		conn := bd.db.OwnerConn(t)
		var n int
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE position($1::bytea IN token_hash) > 0`, []byte(plain)).Scan(&n))
		require.Zero(t, n)
	})

	t.Run("Authenticate", func(t *testing.T) {
		tid, h, err := auth.ParseAPIToken(plain)
		require.NoError(t, err)
		p, err := bd.store.FindTokenPrincipal(ctx, tid, h, t0)
		require.NoError(t, err)
		require.Equal(t, auth.ScopeRead, p.Scope)
		require.Equal(t, bd.a.ID, p.TenantID())
	})

	t.Run("OtherTenantNotFound", func(t *testing.T) {
		_, err := bd.store.FindTokenPrincipal(ctx, bd.b.ID, hash, t0)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		toks, err := bd.store.FindAPITokens(ctx, bd.b.ID)
		require.NoError(t, err)
		require.Empty(t, toks)
		require.ErrorIs(t, bd.store.RevokeAPIToken(ctx, bd.b.ID, bd.b.Admin(), tok.ID, t0), postgres.ErrNotFound)
	})

	t.Run("Revoked", func(t *testing.T) {
		require.NoError(t, bd.store.RevokeAPIToken(ctx, bd.a.ID, bd.a.Admin(), tok.ID, t0))
		_, err := bd.store.FindTokenPrincipal(ctx, bd.a.ID, hash, t0)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		toks, err := bd.store.FindAPITokens(ctx, bd.a.ID)
		require.NoError(t, err)
		require.NotNil(t, toks[0].RevokedAt)
	})

	t.Run("AuditOtherTenantEmpty", func(t *testing.T) {
		entries, err := bd.store.FindAuditEntries(ctx, bd.b.ID, "api_token", 10)
		require.NoError(t, err)
		require.Empty(t, entries)
	})
}

func TestStore_LoginThrottle(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()
	th := postgres.Throttle{Window: 15 * time.Minute, PerAccount: 10, PerClient: 30}
	for i := 0; i < 9; i++ {
		require.NoError(t, bd.store.RecordLoginFailure(ctx, "a@x.test", "10.0.0.1", t0.Add(time.Duration(i)*time.Minute)))
	}
	now := t0.Add(9 * time.Minute)
	_, blocked, err := bd.store.LoginBlocked(ctx, th, "a@x.test", "10.0.0.1", now)
	require.NoError(t, err)
	require.False(t, blocked, "nine failures are allowed")
	require.NoError(t, bd.store.RecordLoginFailure(ctx, "a@x.test", "10.0.0.1", now))
	wait, blocked, err := bd.store.LoginBlocked(ctx, th, "a@x.test", "10.0.0.1", now)
	require.NoError(t, err)
	require.True(t, blocked)
	require.Equal(t, 6*time.Minute, wait, "blocked until the oldest of the ten leaves the window")
	_, blocked, err = bd.store.LoginBlocked(ctx, th, "other@x.test", "10.0.0.2", now)
	require.NoError(t, err)
	require.False(t, blocked, "another account from another address is not affected")
	_, blocked, err = bd.store.LoginBlocked(ctx, th, "a@x.test", "10.0.0.1", t0.Add(15*time.Minute))
	require.NoError(t, err)
	require.False(t, blocked, "the window has ended")

	t.Run("PerClient", func(t *testing.T) {
		for i := 0; i < 30; i++ {
			require.NoError(t, bd.store.RecordLoginFailure(ctx, "user"+string(rune('a'+i%26))+"@y.test", "10.9.9.9", now))
		}
		_, blocked, err := bd.store.LoginBlocked(ctx, th, "fresh@y.test", "10.9.9.9", now)
		require.NoError(t, err)
		require.True(t, blocked)
	})
}

func TestSessionStore(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	ctx := context.Background()
	now := t0
	ss := postgres.NewSessionStore(db.Pool, func() time.Time { return now })
	require.NoError(t, ss.CommitCtx(ctx, "plain-token", []byte("data"), t0.Add(time.Hour)))
	b, ok, err := ss.FindCtx(ctx, "plain-token")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []byte("data"), b)

	var stored string
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT token_hash FROM sessions`).Scan(&stored))
	require.NotContains(t, stored, "plain-token", "the session id is stored hashed")

	now = t0.Add(2 * time.Hour)
	_, ok, err = ss.FindCtx(ctx, "plain-token")
	require.NoError(t, err)
	require.False(t, ok, "expired sessions are not found")

	n, err := db.Store.DeleteExpiredSessions(ctx, now)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)

	require.NoError(t, ss.CommitCtx(ctx, "t2", []byte("x"), now.Add(time.Hour)))
	require.NoError(t, ss.DeleteCtx(ctx, "t2"))
	_, ok, err = ss.FindCtx(ctx, "t2")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestMigrationsCurrent(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	ok, err := postgres.MigrationsCurrent(context.Background(), db.Pool)
	require.NoError(t, err)
	require.True(t, ok)
	v, dirty, latest, err := postgres.MigrationVersion(db.OwnerURL)
	require.NoError(t, err)
	require.False(t, dirty)
	require.Equal(t, latest, v)
	// The app role may read the version but not change it.
	_, err = db.Pool.Exec(context.Background(), `UPDATE schema_migrations SET dirty = true`)
	require.Error(t, err)
	require.Contains(t, err.Error(), "permission denied")
}
