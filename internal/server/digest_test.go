package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
)

// TestSettings_Digests: an admin chooses who gets each digest with
// checkboxes; unknown roles are refused with a message; other tenants and
// non-admins are untouched.
func TestSettings_Digests(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)
	checked := func(p page, digest string) []string {
		var out []string
		p.doc.Find(`#digest-` + digest + ` input[type=checkbox][checked]`).Each(func(_ int, s *goquery.Selection) {
			out = append(out, s.AttrOr("value", ""))
		})
		return out
	}

	p := b.get("/settings/digests")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, []string{"admin", "marketing", "manager"}, checked(p, "weekly"), "defaults")
	require.Equal(t, []string{"admin", "marketing", "manager"}, checked(p, "monthly"))
	require.Equal(t, 1, p.doc.Find(`nav.tabs a[href="/settings/digests"][aria-current=page]`).Length())
	require.Contains(t, p.text("#digest-runs-card"), "No digest has gone out yet.")

	t.Run("Invalid", func(t *testing.T) {
		p := b.post("/settings/digests", url.Values{"weekly": {"admin", "boss"}, "monthly": {"viewer"}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		require.Contains(t, p.text(`[data-field-error="weekly"]`), `"boss" is not a role`)
		require.Equal(t, []string{"admin"}, checked(p, "weekly"), "what was ticked comes back")
		require.Equal(t, []string{"viewer"}, checked(p, "monthly"))
		got, err := h.db.Store.FindDigestSettings(ctx, h.a.ID)
		require.NoError(t, err)
		require.Equal(t, postgres.DefaultDigestRoles, got.Weekly, "nothing saved")
	})

	t.Run("Save", func(t *testing.T) {
		p := b.post("/settings/digests", url.Values{"weekly": {"viewer", "rep"}})
		require.Equal(t, http.StatusSeeOther, p.status, p.text("#form-errors"))
		require.Equal(t, "/settings/digests", p.header.Get("Location"))
		p = b.get("/settings/digests")
		require.Contains(t, p.text("#flash"), "Digests saved: the monthly performance report is switched off.")
		require.Equal(t, []string{"rep", "viewer"}, checked(p, "weekly"))
		require.Empty(t, checked(p, "monthly"))
		got, err := h.db.Store.FindDigestSettings(ctx, h.a.ID)
		require.NoError(t, err)
		require.Equal(t, postgres.DigestSettings{Weekly: []tenant.Role{tenant.RoleRep, tenant.RoleViewer}, Monthly: []tenant.Role{}}, got)
	})

	t.Run("OtherTenantUntouched", func(t *testing.T) {
		got, err := h.db.Store.FindDigestSettings(ctx, h.b.ID)
		require.NoError(t, err)
		require.Equal(t, postgres.DefaultDigestRoles, got.Weekly)
		require.Equal(t, postgres.DefaultDigestRoles, got.Monthly)
		other := h.browser()
		other.login(h.b.AdminEmail, postgrestest.Password)
		p := other.get("/settings/digests")
		require.Equal(t, http.StatusOK, p.status)
		require.Equal(t, []string{"admin", "marketing", "manager"}, checked(p, "weekly"))
	})

	t.Run("AdminsOnly", func(t *testing.T) {
		h.member(h.a, "mkt@alpha.test", tenant.RoleMarketing)
		m := h.browser()
		m.login("mkt@alpha.test", postgrestest.Password)
		require.Equal(t, http.StatusForbidden, m.get("/settings/digests").status)
		p := m.post("/settings/digests", url.Values{"weekly": {"admin"}})
		require.Equal(t, http.StatusForbidden, p.status)
		got, err := h.db.Store.FindDigestSettings(ctx, h.a.ID)
		require.NoError(t, err)
		require.Equal(t, []tenant.Role{tenant.RoleRep, tenant.RoleViewer}, got.Weekly, "unchanged")
	})
}
