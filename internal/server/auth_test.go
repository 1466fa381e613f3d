package server_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/server"
	"github.com/accordhq/accord/internal/tenant"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()

	t.Run("SignedOutGoesToLogin", func(t *testing.T) {
		p := b.get("/settings/users")
		require.Equal(t, http.StatusSeeOther, p.status)
		require.Equal(t, "/login?next=%2Fsettings%2Fusers", p.header.Get("Location"))
	})

	t.Run("WrongPassword", func(t *testing.T) {
		b.get("/login")
		p := b.post("/login", url.Values{"email": {h.a.AdminEmail}, "password": {"not the password"}})
		require.Equal(t, http.StatusUnauthorized, p.status)
		require.Equal(t, "The email or password is wrong.", p.text("#form-errors"))
		p = b.post("/login", url.Values{"email": {"nobody@nowhere.test"}, "password": {"whatever it is"}})
		require.Equal(t, http.StatusUnauthorized, p.status, "unknown accounts get the same answer")
		require.Equal(t, "The email or password is wrong.", p.text("#form-errors"))
		p = b.post("/login", url.Values{"email": {""}, "password": {""}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		require.Equal(t, "enter your email address", p.text("#err-email"))
	})

	t.Run("OK", func(t *testing.T) {
		b.get("/login")
		before := b.sessionCookie()
		require.NotNil(t, before, "the sign-in page starts a session for its CSRF token")
		p := b.post("/login", url.Values{"email": {strings.ToUpper(h.a.AdminEmail)}, "password": {postgrestest.Password}, "next": {"/settings/teams"}})
		require.Equal(t, http.StatusSeeOther, p.status)
		require.Equal(t, "/settings/teams", p.header.Get("Location"))
		after := b.sessionCookie()
		require.NotEqual(t, before.Value, after.Value, "the session token is renewed at sign-in")
		p = b.get("/")
		require.Equal(t, http.StatusOK, p.status)
		require.Equal(t, "Admin of alpha", p.text("#user-name"))
		require.Equal(t, "Tenant alpha", p.text("#tenant-name"))
		require.Equal(t, 8, p.doc.Find("#nav a.nav-link").Length(), "an admin sees every section")
	})

	t.Run("NextStaysOnSite", func(t *testing.T) {
		c := h.browser()
		c.get("/login")
		p := c.post("/login", url.Values{"email": {h.a.AdminEmail}, "password": {postgrestest.Password}, "next": {"//evil.example/x"}})
		require.Equal(t, "/", p.header.Get("Location"))
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)
	stolen := b.sessionCookie()
	b.get("/")
	p := b.post("/logout", nil)
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, "/login?signed_out=1", p.header.Get("Location"))

	// The old cookie no longer works: the session ended on the server.
	req, err := http.NewRequest(http.MethodGet, h.ts.URL+"/", nil)
	require.NoError(t, err)
	req.AddCookie(stolen)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/login", resp.Header.Get("Location"))
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()
	b.get("/login")
	for i := 0; i < 10; i++ {
		p := b.post("/login", url.Values{"email": {h.a.AdminEmail}, "password": {"wrong password " + strconv.Itoa(i)}})
		require.Equal(t, http.StatusUnauthorized, p.status, "attempt %d", i+1)
		h.clock.Advance(time.Second)
	}
	p := b.post("/login", url.Values{"email": {h.a.AdminEmail}, "password": {postgrestest.Password}})
	require.Equal(t, http.StatusTooManyRequests, p.status, "even the right password waits for the window")
	require.Contains(t, p.text("#form-errors"), "Too many failed sign-ins")
	retry, err := strconv.Atoi(p.header.Get("Retry-After"))
	require.NoError(t, err)
	require.Equal(t, int((15*time.Minute - 10*time.Second).Seconds()), retry, "until the first failure leaves the window")

	// Another account is not locked.
	other := h.browser()
	other.login(h.b.AdminEmail, postgrestest.Password)

	h.clock.Advance(15 * time.Minute)
	p = b.post("/login", url.Values{"email": {h.a.AdminEmail}, "password": {postgrestest.Password}})
	require.Equal(t, http.StatusSeeOther, p.status, "the right password works again when the window ends")
}

func TestCSRFAndCrossOrigin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)
	b.get("/settings/teams")
	teams := func() int {
		p := b.get("/settings/teams")
		return p.doc.Find("#teams-table tbody tr").Length()
	}

	p := b.post("/settings/teams", url.Values{"name": {"No token"}, "side": {"sales"}, "csrf_token": {""}})
	require.Equal(t, http.StatusForbidden, p.status)
	require.Contains(t, p.text("#error"), "Form expired")
	p = b.post("/settings/teams", url.Values{"name": {"Forged"}, "side": {"sales"}, "csrf_token": {"forged-token"}})
	require.Equal(t, http.StatusForbidden, p.status)
	require.Zero(t, teams(), "nothing was created")

	p = b.post("/settings/teams", url.Values{"name": {"Cross site"}, "side": {"sales"}}, "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, p.status)
	require.Contains(t, p.text("#error"), "another site")
	p = b.post("/settings/teams", url.Values{"name": {"Evil origin"}, "side": {"sales"}}, "Sec-Fetch-Site", "", "Origin", "https://evil.example")
	require.Equal(t, http.StatusForbidden, p.status)
	require.Zero(t, teams(), "nothing was created")

	p = b.post("/settings/teams", url.Values{"name": {"Real"}, "side": {"sales"}})
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, 1, teams())
}

func TestCookieFlags(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		h := newHarness(t, func(c *server.Config) { c.SecureCookies = secure })
		resp, err := http.Get(h.ts.URL + "/login")
		require.NoError(t, err)
		resp.Body.Close()
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "accord_session" {
				cookie = c
			}
		}
		require.NotNil(t, cookie)
		require.True(t, cookie.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, cookie.SameSite)
		require.Equal(t, secure, cookie.Secure)
		require.Equal(t, 12*60*60, cookie.MaxAge, "the 12-hour idle timeout")
		require.Equal(t, "/", cookie.Path)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, path := range []string{"/login", "/nope", "/api/v1/users"} {
		resp, err := http.Get(h.ts.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "script-src 'self'", path)
		require.NotContains(t, csp, "unsafe-inline", path)
		require.Contains(t, csp, "frame-ancestors 'none'", path)
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), path)
		require.Equal(t, "same-origin", resp.Header.Get("Referrer-Policy"), path)
		require.Empty(t, resp.Header.Get("Server"), path)
		require.Len(t, resp.Header.Get("X-Request-Id"), 16, path)
	}
	// No inline scripts: every script tag has a src.
	b := h.browser()
	p := b.get("/login")
	p.doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		src, ok := s.Attr("src")
		require.True(t, ok && src != "", "inline script found")
		require.Empty(t, strings.TrimSpace(s.Text()))
	})
}

func TestInvitationFlow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.browser()
	admin.login(h.a.AdminEmail, postgrestest.Password)
	admin.get("/settings/users")

	p := admin.post("/settings/users", url.Values{"email": {"bad"}, "name": {""}, "role": {"rep"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.NotEmpty(t, p.text("#err-email"))
	require.NotEmpty(t, p.text("#err-name"))

	p = admin.post("/settings/users", url.Values{"email": {"Nia@Alpha.test"}, "name": {"Nia Rep"}, "role": {"rep"}})
	require.Equal(t, http.StatusOK, p.status)
	link, ok := p.doc.Find("#invite-url").Attr("value")
	require.True(t, ok)
	require.True(t, strings.HasPrefix(link, "http://accord.test/invite/"), link)
	require.Contains(t, p.text("#users-table"), "nia@alpha.test")
	path := strings.TrimPrefix(link, "http://accord.test")

	p = admin.post("/settings/users", url.Values{"email": {"nia@alpha.test"}, "name": {"Nia Again"}, "role": {"rep"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.text("#err-email"), "already a member")

	nia := h.browser()
	p = nia.get(path)
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.text("#invite"), "nia@alpha.test")
	p = nia.post(path, url.Values{"password": {"too short"}, "confirm": {"too short"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.text("#err-password"), "12 characters")
	p = nia.post(path, url.Values{"password": {"a long enough secret"}, "confirm": {"a long enough secret"}})
	require.Equal(t, http.StatusSeeOther, p.status)
	p = nia.get("/")
	require.Equal(t, "Nia Rep", p.text("#user-name"))
	require.Contains(t, p.text("#flash"), "Welcome to Tenant alpha")

	again := h.browser()
	p = again.get(path)
	require.Equal(t, http.StatusGone, p.status)
	require.Contains(t, p.text("#invite-invalid"), "already been used")
	require.Zero(t, p.doc.Find("form").Length(), "a used link offers nothing else")

	fresh := h.browser()
	fresh.login("nia@alpha.test", "a long enough secret")

	t.Run("Expired", func(t *testing.T) {
		p := admin.post("/settings/users", url.Values{"email": {"late@alpha.test"}, "name": {"Late"}, "role": {"viewer"}})
		link, _ := p.doc.Find("#invite-url").Attr("value")
		h.clock.Advance(8 * 24 * time.Hour)
		p = h.browser().get(strings.TrimPrefix(link, "http://accord.test"))
		require.Equal(t, http.StatusGone, p.status)
		require.Contains(t, p.text("#invite-invalid"), "expired")
	})

	t.Run("Malformed", func(t *testing.T) {
		p := h.browser().get("/invite/not-a-token")
		require.Equal(t, http.StatusNotFound, p.status)
		require.Contains(t, p.text("#invite-invalid"), "not valid")
	})
}

func TestRoles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.member(h.a, "rep@alpha.test", tenant.RoleRep)
	h.member(h.a, "viewer@alpha.test", tenant.RoleViewer)
	h.member(h.a, "mkt@alpha.test", tenant.RoleMarketing)
	tests := []struct {
		email, path string
		want        int
		navItems    int
	}{
		{"rep@alpha.test", "/settings/users", http.StatusForbidden, 6},
		{"rep@alpha.test", "/inbox", http.StatusOK, 6},
		{"viewer@alpha.test", "/import", http.StatusForbidden, 5},
		{"viewer@alpha.test", "/", http.StatusOK, 5},
		{"mkt@alpha.test", "/import", http.StatusOK, 6},
		{"mkt@alpha.test", "/settings/tokens", http.StatusForbidden, 6},
	}
	for _, tc := range tests {
		b := h.browser()
		b.login(tc.email, postgrestest.Password)
		p := b.get(tc.path)
		require.Equal(t, tc.want, p.status, "%s %s", tc.email, tc.path)
		require.Equal(t, tc.navItems, p.doc.Find("#nav a.nav-link").Length(), "%s sees only their sections", tc.email)
		if tc.want == http.StatusForbidden {
			require.Contains(t, p.text("#error"), "does not allow")
			require.NotEmpty(t, p.text("#request-id"))
		}
	}
	b := h.browser()
	b.login("rep@alpha.test", postgrestest.Password)
	b.get("/")
	p := b.post("/settings/teams", url.Values{"name": {"Rep team"}, "side": {"sales"}})
	require.Equal(t, http.StatusForbidden, p.status, "role checks hold for writes too")
}

func TestTenantSwitch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Alpha's admin is also a marketing user in beta.
	postgrestest.CreateMember(t, h.db.Store, h.b, h.a.AdminEmail, "ignored", tenant.RoleMarketing, h.clock.Now())
	c := postgrestest.CreateTenant(t, h.db.Store, "gamma", h.clock.Now())
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)
	p := b.get("/")
	require.Equal(t, "Tenant alpha", p.text("#tenant-name"))
	require.Equal(t, 2, p.doc.Find("#tenant-select option").Length())

	p = b.post("/switch-tenant", url.Values{"tenant_id": {h.b.ID.String()}})
	require.Equal(t, http.StatusSeeOther, p.status)
	p = b.get("/")
	require.Equal(t, "Tenant beta", p.text("#tenant-name"))
	require.Contains(t, p.text(".user-role"), "Marketing", "the role is the one held in beta")
	require.Equal(t, http.StatusForbidden, b.get("/settings/users").status, "beta's marketing role cannot manage users")

	p = b.post("/switch-tenant", url.Values{"tenant_id": {c.ID.String()}})
	require.Equal(t, http.StatusNotFound, p.status, "not a member of gamma")
	require.Equal(t, "Tenant beta", b.get("/").text("#tenant-name"))

	// The next sign-in lands in the last tenant used.
	b2 := h.browser()
	b2.login(h.a.AdminEmail, postgrestest.Password)
	require.Equal(t, "Tenant beta", b2.get("/").text("#tenant-name"))
}
