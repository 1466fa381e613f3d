package auth_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/tenant"
)

func TestPassword(t *testing.T) {
	t.Parallel()
	h, err := auth.HashPassword("correct horse battery")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"), "OWASP parameters: %s", h)
	require.NoError(t, auth.CheckPassword(h, "correct horse battery"))
	require.ErrorIs(t, auth.CheckPassword(h, "correct horse batterY"), auth.ErrPasswordMismatch)
	h2, err := auth.HashPassword("correct horse battery")
	require.NoError(t, err)
	require.NotEqual(t, h, h2, "salted")
	require.Error(t, auth.CheckPassword("$2a$10$bcrypt", "x"))
	require.False(t, auth.CheckPasswordOrDummy("", "anything"))
	require.True(t, auth.CheckPasswordOrDummy(h, "correct horse battery"))
}

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	require.Nil(t, auth.ValidatePassword("twelve chars", "twelve chars"))
	require.Contains(t, auth.ValidatePassword("eleven char", "eleven char"), "password")
	require.Contains(t, auth.ValidatePassword("twelve chars", "twelve charz"), "confirm")
}

func TestTokens(t *testing.T) {
	t.Parallel()
	tid := tenant.NewID()
	plain, hash := auth.NewAPIToken(tid)
	got, h, err := auth.ParseAPIToken(plain)
	require.NoError(t, err)
	require.Equal(t, tid, got)
	require.Equal(t, hash, h)
	require.Equal(t, "acd_…"+plain[len(plain)-4:], auth.TokenHint(plain))

	for _, bad := range []string{"", "acd_", "acd_nothex_x", "acd_" + strings.Repeat("0", 32) + "_short", "xyz_" + plain[4:], plain + "x"} {
		_, _, err := auth.ParseAPIToken(bad)
		require.ErrorIs(t, err, auth.ErrMalformedToken, "token %q", bad)
	}

	inv, ih := auth.NewInviteToken(tid)
	got, h, err = auth.ParseInviteToken(inv)
	require.NoError(t, err)
	require.Equal(t, tid, got)
	require.Equal(t, ih, h)
	_, _, err = auth.ParseInviteToken(strings.Replace(inv, ".", "_", 1))
	require.ErrorIs(t, err, auth.ErrMalformedToken)
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	user := func(r tenant.Role) auth.Principal { return auth.Principal{Type: auth.ActorUser, Role: r} }
	token := func(s auth.Scope) auth.Principal { return auth.Principal{Type: auth.ActorToken, Scope: s} }
	tests := []struct {
		name string
		p    auth.Principal
		perm auth.Permission
		want bool
	}{
		{"admin manages users", user(tenant.RoleAdmin), auth.PermManageUsers, true},
		{"marketing hands off", user(tenant.RoleMarketing), auth.PermHandoff, true},
		{"marketing cannot work leads", user(tenant.RoleMarketing), auth.PermWorkLeads, false},
		{"manager reassigns", user(tenant.RoleManager), auth.PermManageTeamLeads, true},
		{"manager cannot manage users", user(tenant.RoleManager), auth.PermManageUsers, false},
		{"rep works leads", user(tenant.RoleRep), auth.PermWorkLeads, true},
		{"rep cannot reassign", user(tenant.RoleRep), auth.PermManageTeamLeads, false},
		{"viewer reads", user(tenant.RoleViewer), auth.PermRead, true},
		{"viewer cannot hand off", user(tenant.RoleViewer), auth.PermHandoff, false},
		{"unknown role can nothing", user("boss"), auth.PermRead, false},
		{"read token reads", token(auth.ScopeRead), auth.PermRead, true},
		{"read token cannot ingest", token(auth.ScopeRead), auth.PermIngest, false},
		{"ingest token ingests", token(auth.ScopeIngest), auth.PermIngest, true},
		{"ingest token cannot read leads", token(auth.ScopeIngest), auth.PermRead, false},
		{"ingest token reads reference data", token(auth.ScopeIngest), auth.PermReference, true},
		{"ingest token cannot provision", token(auth.ScopeIngest), auth.PermManageUsers, false},
		{"admin token provisions", token(auth.ScopeAdmin), auth.PermManageUsers, true},
		{"system can all", auth.Principal{Type: auth.ActorSystem}, auth.PermEditAgreement, true},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, tc.p.Can(tc.perm), tc.name)
	}
}

func TestInviteInput(t *testing.T) {
	t.Parallel()
	in := auth.InviteInput{Email: "  Ana@Example.COM ", Name: " Ana ", Role: tenant.RoleRep}
	in.Normalize()
	require.Equal(t, "ana@example.com", in.Email)
	require.Nil(t, in.Validate())
	bad := auth.InviteInput{Email: "not-an-email", Name: "", Role: "boss", TimeZone: "Mars/Olympus"}
	errs := bad.Validate()
	require.Len(t, errs, 4)
	for _, f := range []string{"email", "name", "role", "time_zone"} {
		require.Contains(t, errs, f)
	}
}
