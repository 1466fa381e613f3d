package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/server"
	"github.com/accordhq/accord/internal/tenant"
)

func TestMain(m *testing.M) { postgrestest.Main(m) }

// testClock is the server's injected clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a running Accord server over a fresh database with two tenants.
type harness struct {
	t     testing.TB
	srv   *server.Server
	db    *postgrestest.DB
	clock *testClock
	ts    *httptest.Server
	a, b  postgrestest.Tenant
}

func newHarness(t testing.TB, mutate ...func(*server.Config)) *harness {
	t.Helper()
	db := postgrestest.NewDB(t)
	// Sessions expire by wall-clock time inside scs, so the clock starts now.
	clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	cfg := server.Config{BaseURL: "http://accord.test"}
	for _, m := range mutate {
		m(&cfg)
	}
	srv := server.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), db.Store, clock.Now, prometheus.NewRegistry())
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	h := &harness{t: t, srv: srv, db: db, clock: clock, ts: ts}
	h.a = postgrestest.CreateTenant(t, db.Store, "alpha", clock.Now())
	h.b = postgrestest.CreateTenant(t, db.Store, "beta", clock.Now())
	return h
}

func (h *harness) member(tn postgrestest.Tenant, email string, role tenant.Role) auth.Member {
	h.t.Helper()
	return postgrestest.CreateMember(h.t, h.db.Store, tn, email, strings.Split(email, "@")[0], role, h.clock.Now())
}

// token creates an API token of tenant tn with scope.
func (h *harness) token(tn postgrestest.Tenant, scope auth.Scope) string {
	h.t.Helper()
	plain, hash := auth.NewAPIToken(tn.ID)
	_, err := h.db.Store.CreateAPIToken(context.Background(), tn.ID, tn.Admin(), auth.TokenInput{Name: "test " + string(scope), Scope: scope}, hash, auth.TokenHint(plain), h.clock.Now())
	require.NoError(h.t, err)
	return plain
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see each 303.
type browser struct {
	t    testing.TB
	h    *harness
	c    *http.Client
	csrf string
}

func (h *harness) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(h.t, err)
	return &browser{t: h.t, h: h, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type page struct {
	status int
	header http.Header
	body   string
	doc    *goquery.Document
}

func (p page) text(sel string) string { return strings.TrimSpace(p.doc.Find(sel).Text()) }

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(raw)))
	require.NoError(b.t, err)
	if tok, ok := doc.Find(`input[name=csrf_token]`).First().Attr("value"); ok {
		b.csrf = tok
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(raw), doc: doc}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.h.ts.URL+path, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

// post sends a form with the CSRF token of the last page seen (unless the
// form names csrf_token itself) and same-origin fetch metadata, as a browser does.
func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok && b.csrf != "" {
		form.Set("csrf_token", b.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, b.h.ts.URL+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// login signs in and requires success.
func (b *browser) login(email, password string) {
	b.t.Helper()
	b.get("/login")
	p := b.post("/login", url.Values{"email": {email}, "password": {password}})
	require.Equal(b.t, http.StatusSeeOther, p.status, "login of %s: %s", email, p.text("#form-errors"))
	b.get("/") // signing in renews the session and its CSRF token
}

func (b *browser) sessionCookie() *http.Cookie {
	u, _ := url.Parse(b.h.ts.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "accord_session" {
			return c
		}
	}
	return nil
}

// api calls the JSON API with a bearer token ("" for none).
func (h *harness) api(method, path, token string, body any, headers ...string) (int, map[string]any, http.Header) {
	h.t.Helper()
	var r io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(v)
	default:
		b, err := json.Marshal(v)
		require.NoError(h.t, err)
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, h.ts.URL+"/api/v1"+path, r)
	require.NoError(h.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	if len(raw) > 0 {
		require.NoError(h.t, json.Unmarshal(raw, &out), "body: %s", raw)
	}
	return resp.StatusCode, out, resp.Header
}

// errCode returns error.code of an API error body.
func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func errFields(body map[string]any) map[string]any {
	e, _ := body["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}
