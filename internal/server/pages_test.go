package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
)

func TestErrorPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)

	p := b.get("/no/such/page")
	require.Equal(t, http.StatusNotFound, p.status)
	require.Equal(t, p.header.Get("X-Request-Id"), p.text("#request-id"), "the page shows the request id")
	require.Equal(t, "404", p.doc.Find("#error").AttrOr("data-status", ""))

	p = b.get("/settings/teams/not-a-uuid")
	require.Equal(t, http.StatusNotFound, p.status)

	// The database goes away: a 500 page with the request id and nothing
	// of the internal error.
	tok := h.token(h.a, auth.ScopeRead)
	h.db.Pool.Close()
	p = b.get("/settings/users")
	require.Equal(t, http.StatusInternalServerError, p.status)
	require.Equal(t, p.header.Get("X-Request-Id"), p.text("#request-id"))
	for _, leak := range []string{"pool", "closed", "sql", "pgx", "goroutine", ".go:"} {
		require.NotContains(t, strings.ToLower(p.text("#error")), leak)
	}
	status, body, _ := h.api("GET", "/users", tok, nil)
	require.Equal(t, http.StatusInternalServerError, status)
	require.Equal(t, "internal", errCode(body))
	require.NotContains(t, body["error"].(map[string]any)["message"], "closed")
}

func TestOperations(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`} {
		resp, err := http.Get(h.ts.URL + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Contains(t, string(b), want, path)
	}
	h.browser().get("/login")
	resp, err := http.Get(h.ts.URL + "/metrics")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := string(b)
	require.Contains(t, m, `accord_http_requests_total{method="GET",route="/login",status="200"} 1`)
	require.Contains(t, m, `accord_http_request_duration_seconds_bucket{method="GET",route="/login"`)
	require.Contains(t, m, "accord_db_pool_connections")
	require.Contains(t, m, "accord_db_pool_acquires_total")

	h.db.Pool.Close()
	resp, err = http.Get(h.ts.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "not ready without a database")
	resp, err = http.Get(h.ts.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the process is still up")
}

func TestStatic(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.browser().get("/login")
	href, _ := p.doc.Find(`link[rel=stylesheet]`).Attr("href")
	require.Contains(t, href, "?v=")
	resp, err := http.Get(h.ts.URL + href)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Cache-Control"), "immutable")
	src, _ := p.doc.Find(`script[src*=htmx]`).Attr("src")
	resp, err = http.Get(h.ts.URL + src)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(b[:200]), "htmx", "htmx is served from the binary")
	resp, err = http.Get(h.ts.URL + "/static/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "no directory listings")
}

func TestSettings_Teams(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	mgr := h.member(h.a, "mgr@alpha.test", tenant.RoleManager)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)
	b.get("/settings/teams")

	p := b.post("/settings/teams", url.Values{"name": {""}, "side": {"sales"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "must not be blank", p.text("#err-name"))

	p = b.post("/settings/teams", url.Values{"name": {"Enterprise"}, "side": {"sales"}, "manager_id": {mgr.ID.String()}})
	require.Equal(t, http.StatusSeeOther, p.status)
	p = b.get("/settings/teams")
	require.Contains(t, p.text("#flash"), "Team Enterprise saved")
	row := p.doc.Find("#teams-table tbody tr").First()
	require.Contains(t, row.Text(), "mgr")
	editHref, _ := row.Find("a").Attr("href")

	p = b.get(editHref)
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "Enterprise", p.doc.Find("#team-name").AttrOr("value", ""))
	p = b.post(editHref, url.Values{"name": {"Enterprise EMEA"}, "side": {"sales"}, "manager_id": {""}})
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Contains(t, b.get("/settings/teams").text("#teams-table"), "Enterprise EMEA")

	t.Run("OtherTenantNotFound", func(t *testing.T) {
		other := h.browser()
		other.login(h.b.AdminEmail, postgrestest.Password)
		require.Equal(t, http.StatusNotFound, other.get(editHref).status)
		other.get("/settings/teams")
		require.Equal(t, http.StatusNotFound, other.post(editHref, url.Values{"name": {"Hijack"}, "side": {"sales"}}).status)
		require.NotContains(t, b.get("/settings/teams").text("#teams-table"), "Hijack")
	})
}

func TestSettings_Users(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rep := h.member(h.a, "rep@alpha.test", tenant.RoleRep)
	betaRep := h.member(h.b, "rep@beta.test", tenant.RoleRep)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)
	b.get("/settings/users")

	// Inline edit through htmx: the row comes back in place.
	p := b.post("/settings/users/"+rep.ID.String(), url.Values{"role": {"manager"}, "team_id": {""}, "away": {"true"}, "active": {"true"}},
		"HX-Request", "true", "X-CSRF-Token", b.csrf)
	require.Equal(t, http.StatusOK, p.status)
	require.True(t, strings.HasPrefix(p.body, `<tr id="user-`+rep.ID.String()+`"`), "the fragment is the row: %s", p.body)
	require.Contains(t, p.body, `<option value="manager" selected>`)
	require.Contains(t, p.body, `name="away" value="true" checked`)

	p = b.post("/settings/users/"+h.a.AdminID.String(), url.Values{"role": {"rep"}, "active": {"true"}}, "HX-Request", "true", "X-CSRF-Token", b.csrf)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.body, "last active admin")

	p = b.post("/settings/users/"+betaRep.ID.String(), url.Values{"role": {"admin"}, "active": {"true"}}, "HX-Request", "true", "X-CSRF-Token", b.csrf)
	require.Equal(t, http.StatusNotFound, p.status, "another tenant's user")
	require.Equal(t, "#flash", p.header.Get("HX-Retarget"), "htmx errors land in the flash region")
}

func TestSettings_Tokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)
	b.get("/settings/tokens")
	p := b.post("/settings/tokens", url.Values{"name": {""}, "scope": {"everything"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.NotEmpty(t, p.text("#err-name"))
	require.NotEmpty(t, p.text("#err-scope"))

	p = b.post("/settings/tokens", url.Values{"name": {"HubSpot sync"}, "scope": {"read"}})
	require.Equal(t, http.StatusCreated, p.status)
	plain := p.doc.Find("#token-plain").AttrOr("value", "")
	require.True(t, strings.HasPrefix(plain, "acd_"))
	status, _, _ := h.api("GET", "/users", plain, nil)
	require.Equal(t, http.StatusOK, status, "the token shown works")

	p = b.get("/settings/tokens")
	require.Zero(t, p.doc.Find("#token-plain").Length(), "shown only once")
	require.NotContains(t, p.body, plain)
	revoke, _ := p.doc.Find("#tokens-table form").Attr("action")
	p = b.post(revoke, nil)
	require.Equal(t, http.StatusSeeOther, p.status)
	status, _, _ = h.api("GET", "/users", plain, nil)
	require.Equal(t, http.StatusUnauthorized, status)

	other := h.browser()
	other.login(h.b.AdminEmail, postgrestest.Password)
	other.get("/settings/tokens")
	require.Equal(t, http.StatusNotFound, other.post(revoke, nil).status, "another tenant's token")
}

func TestSettingsUnknownTab(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)
	require.Equal(t, http.StatusNotFound, b.get("/settings/bogus").status)
}
