package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
)

// cli runs the accord command in-process against db (DATABASE_URL is the
// owner; the app reaches its role with SET ROLE, as with an external server).
func cli(t *testing.T, db *postgrestest.DB, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"DATABASE_URL": db.OwnerURL, "DB_WAIT": "0s", "LOG_LEVEL": "error"}
	err := run(context.Background(), args, envOf(env), &out, &errOut)
	return out.String(), err
}

func TestCLI_TenantAndToken(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	out, err := cli(t, db, "tenant", "create", "--slug", "Globex", "--name", "Globex Corp", "--time-zone", "America/Chicago",
		"--currency", "usd", "--admin-email", "Hank@Globex.test", "--admin-password", "a long admin password")
	require.NoError(t, err)
	require.Contains(t, out, "Created tenant globex (Globex Corp)")

	out, err = cli(t, db, "token", "create", "--tenant", "globex", "--scope", "ingest", "--name", "Form tool")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	plain := lines[len(lines)-1]
	tid, hash, err := auth.ParseAPIToken(plain)
	require.NoError(t, err, "the token is alone on the last line: %q", out)
	p, err := db.Store.FindTokenPrincipal(context.Background(), tid, hash, postgrestest.Now())
	require.NoError(t, err)
	require.Equal(t, auth.ScopeIngest, p.Scope)
	require.Equal(t, "globex", p.Tenant.Slug)

	u, err := db.Store.FindUserByEmail(context.Background(), "hank@globex.test")
	require.NoError(t, err)
	require.NoError(t, auth.CheckPassword(u.PasswordHash, "a long admin password"))

	t.Run("BadInput", func(t *testing.T) {
		_, err := cli(t, db, "tenant", "create", "--slug", "x", "--name", "", "--time-zone", "Nowhere/City", "--admin-email", "nope", "--admin-password", "short")
		require.Error(t, err)
		for _, want := range []string{"--slug", "--name", "--time-zone", "--admin-email", "--admin-password"} {
			require.Contains(t, err.Error(), want)
		}
		_, err = cli(t, db, "tenant", "create", "--slug", "globex", "--name", "Again", "--admin-email", "a@b.test", "--admin-password", "long enough pass")
		require.ErrorContains(t, err, "--slug is taken")
		_, err = cli(t, db, "token", "create", "--tenant", "nobody", "--scope", "read", "--name", "x")
		require.ErrorContains(t, err, `no tenant with slug "nobody"`)
		_, err = cli(t, db, "token", "create", "--tenant", "globex", "--scope", "root", "--name", "")
		require.ErrorContains(t, err, "--scope must be ingest, read or admin")
		_, err = cli(t, db, "frobnicate")
		require.ErrorContains(t, err, `unknown command "frobnicate"`)
	})

	t.Run("Migrate", func(t *testing.T) {
		out, err := cli(t, db, "migrate", "version")
		require.NoError(t, err)
		require.Contains(t, out, "(clean)")
		_, err = cli(t, db, "migrate", "down", "zero")
		require.ErrorContains(t, err, "N must be a positive number")
	})

	t.Run("SeedDemo", func(t *testing.T) {
		out, err := cli(t, db, "seed", "demo")
		require.NoError(t, err)
		require.Contains(t, out, "rita@acme.test")
		require.Contains(t, out, demoPassword)
		members, err := db.Store.FindMembers(context.Background(), mustTenant(t, db, "acme"))
		require.NoError(t, err)
		require.Len(t, members, 7)
		roles := map[string]int{}
		for _, m := range members {
			roles[string(m.Role)]++
		}
		require.Equal(t, map[string]int{"admin": 1, "marketing": 1, "manager": 1, "rep": 3, "viewer": 1}, roles)
		teams, err := db.Store.FindTeams(context.Background(), mustTenant(t, db, "acme"))
		require.NoError(t, err)
		require.Len(t, teams, 2)
		out, err = cli(t, db, "seed", "demo")
		require.NoError(t, err, "seeding twice leaves the tenant as it is")
		require.Contains(t, out, "rita@acme.test")
	})

	t.Run("UnreachableDatabase", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"migrate", "up"},
			envOf(map[string]string{"DATABASE_URL": "postgres://accord@127.0.0.1:1/accord", "DB_WAIT": "0s"}), &out, &errOut)
		require.Error(t, err)
		require.Contains(t, err.Error(), "postgres://accord@127.0.0.1:1/accord")
		require.Contains(t, err.Error(), "check DATABASE_URL")
	})
}

func mustTenant(t *testing.T, db *postgrestest.DB, slug string) tenant.ID {
	t.Helper()
	tn, err := db.Store.FindTenantBySlug(context.Background(), slug)
	require.NoError(t, err)
	return tn.ID
}
