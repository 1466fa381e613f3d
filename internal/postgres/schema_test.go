package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/postgres/postgrestest"
)

// globalTables are the tables that are not owned by a tenant: the tenant
// itself, users (one login across tenants), sessions and sign-in failures
// (before any tenant is known), and the migration bookkeeping.
var globalTables = map[string]bool{
	"tenants": true, "users": true, "sessions": true, "login_failures": true, "schema_migrations": true,
}

// TestSchema_TenantTables walks the catalog: every table of the public
// schema is either a known global table or a tenant table with tenant_id,
// row-level security enabled and forced, a policy, tenant_id first in its
// primary key, in every unique key, and in every foreign key that points at
// another tenant table.
// derivedTables are tenant tables kept by triggers from other tables, as
// the schema owner. Their row-level security is enabled, not forced: the
// owner's triggers must keep them in step in every tenant (a cascade when a
// tenant is deleted runs without one), and the app role may only read.
var derivedTables = map[string]bool{"lead_search": true}

func TestSchema_TenantTables(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	ctx := context.Background()
	conn := db.OwnerConn(t)

	rows, err := conn.Query(ctx, `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
		       EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped),
		       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
		ORDER BY c.relname`)
	require.NoError(t, err)
	type table struct {
		name                  string
		rls, force, hasTenant bool
		policies              int
	}
	var tables []table
	for rows.Next() {
		var tb table
		require.NoError(t, rows.Scan(&tb.name, &tb.rls, &tb.force, &tb.hasTenant, &tb.policies))
		tables = append(tables, tb)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, tables)

	tenantTables := map[string]bool{}
	for _, tb := range tables {
		if globalTables[tb.name] {
			require.False(t, tb.hasTenant, "global table %s has a tenant_id: make it a tenant table", tb.name)
			continue
		}
		tenantTables[tb.name] = true
		require.True(t, tb.hasTenant, "table %s has no tenant_id and is not a known global table", tb.name)
		require.True(t, tb.rls, "table %s: row-level security is not enabled", tb.name)
		if derivedTables[tb.name] {
			// Written only by the owner's triggers (see derivedTables): the
			// app role must not be able to write it at all.
			for _, priv := range []string{"INSERT", "UPDATE", "DELETE", "TRUNCATE"} {
				var may bool
				require.NoError(t, conn.QueryRow(ctx, `SELECT has_table_privilege('accord_app', $1, $2)`, tb.name, priv).Scan(&may))
				require.False(t, may, "derived table %s: the app role may %s", tb.name, priv)
			}
		} else {
			require.True(t, tb.force, "table %s: row-level security is not forced", tb.name)
		}
		require.Positive(t, tb.policies, "table %s has no policy", tb.name)
	}
	require.NotEmpty(t, tenantTables)

	// Keys: primary and unique constraints and unique indexes must start with
	// tenant_id; foreign keys to tenant tables must pair tenant_id first.
	keyRows, err := conn.Query(ctx, `
		SELECT c.relname, con.conname, con.contype::text,
		       (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = con.conrelid AND a.attnum = con.conkey[1]),
		       coalesce(fc.relname, ''),
		       coalesce((SELECT a.attname FROM pg_attribute a WHERE a.attrelid = con.confrelid AND a.attnum = con.confkey[1]), '')
		FROM pg_constraint con
		JOIN pg_class c ON c.oid = con.conrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_class fc ON fc.oid = con.confrelid
		WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'f')`)
	require.NoError(t, err)
	checked := 0
	for keyRows.Next() {
		var tbl, name, typ, first, ftable, ffirst string
		require.NoError(t, keyRows.Scan(&tbl, &name, &typ, &first, &ftable, &ffirst))
		if !tenantTables[tbl] {
			continue
		}
		checked++
		switch typ {
		case "p", "u":
			require.Equal(t, "tenant_id", first, "%s.%s: key does not start with tenant_id", tbl, name)
		case "f":
			if ftable == "tenants" {
				require.Equal(t, "tenant_id", first, "%s.%s: reference to tenants must be tenant_id", tbl, name)
			} else if tenantTables[ftable] {
				require.Equal(t, "tenant_id", first, "%s.%s: foreign key does not start with tenant_id", tbl, name)
				require.Equal(t, "tenant_id", ffirst, "%s.%s: foreign key does not reference tenant_id first", tbl, name)
			}
		}
	}
	require.NoError(t, keyRows.Err())
	require.Positive(t, checked)

	idxRows, err := conn.Query(ctx, `
		SELECT c.relname, i.relname,
		       coalesce((SELECT a.attname FROM pg_attribute a WHERE a.attrelid = x.indrelid AND a.attnum = x.indkey[0]), '')
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class c ON c.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND x.indisunique`)
	require.NoError(t, err)
	for idxRows.Next() {
		var tbl, idx, first string
		require.NoError(t, idxRows.Scan(&tbl, &idx, &first))
		if tenantTables[tbl] {
			require.Equal(t, "tenant_id", first, "%s: unique index %s does not start with tenant_id", tbl, idx)
		}
	}
	require.NoError(t, idxRows.Err())
}

// TestSchema_AppRole checks that the role tests and the app connect as owns
// nothing, is no superuser and cannot bypass row-level security.
func TestSchema_AppRole(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	ctx := context.Background()
	var super, bypass bool
	var user string
	require.NoError(t, db.Pool.QueryRow(ctx, `
		SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&user, &super, &bypass))
	require.Equal(t, "accord_app", user)
	require.False(t, super)
	require.False(t, bypass)
	var owned int
	require.NoError(t, db.Pool.QueryRow(ctx, `
		SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE pg_get_userbyid(c.relowner) = current_user AND n.nspname NOT IN ('pg_catalog', 'information_schema')`).Scan(&owned))
	require.Zero(t, owned, "the app role must own nothing")
}
