package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/web/view"
)

// Session keys.
const (
	sessUserID    = "user_id"
	sessTenantID  = "tenant_id"
	sessCSRF      = "csrf"
	sessFlash     = "flash"
	sessFlashKind = "flash_kind"
)

// Session timeouts of DESIGN.md §9.
const (
	sessionIdleTimeout = 12 * time.Hour
	sessionLifetime    = 7 * 24 * time.Hour
)

func newSessionManager(store *postgres.Store, secure bool, now func() time.Time) *scs.SessionManager {
	sm := scs.New()
	sm.Store = postgres.NewSessionStore(store.Pool(), now)
	sm.Lifetime = sessionLifetime
	sm.IdleTimeout = sessionIdleTimeout
	sm.Cookie.Name = "accord_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = secure
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = true
	return sm
}

func (s *Server) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	s.serverError(w, r, err)
}

// csrfToken returns the session's CSRF token, creating one when missing.
func (s *Server) csrfToken(r *http.Request) string {
	tok := s.sessions.GetString(r.Context(), sessCSRF)
	if tok == "" {
		tok = auth.RandomString(32)
		s.sessions.Put(r.Context(), sessCSRF, tok)
	}
	return tok
}

// csrf checks the token of every state-changing web request: the form field
// csrf_token, or the X-CSRF-Token header that htmx sends. It complements the
// cross-origin check, which runs first.
func (s *Server) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		want := s.sessions.GetString(r.Context(), sessCSRF)
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			if err := r.ParseForm(); err != nil && isTooLarge(err) {
				s.errorPage(w, r, http.StatusRequestEntityTooLarge, "Too large", "The form you sent is larger than Accord accepts.")
				return
			}
			got = r.PostFormValue("csrf_token")
		}
		if !csrfMatches(want, got) {
			s.errorPage(w, r, http.StatusForbidden, "Form expired",
				"This form is out of date or did not come from Accord, so nothing was changed. Reload the page and try again.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// csrfMatches compares a sent CSRF token with the session's in constant time.
func csrfMatches(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// checkCSRF reports whether token is this session's CSRF token, for handlers
// that read it themselves (streamed uploads).
func (s *Server) checkCSRF(r *http.Request, token string) bool {
	if h := r.Header.Get("X-CSRF-Token"); h != "" {
		token = h
	}
	return csrfMatches(s.sessions.GetString(r.Context(), sessCSRF), token)
}

// requireUser loads the signed-in user acting in their current tenant, or
// sends the visitor to the sign-in page.
func (s *Server) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		uid, err1 := uuid.Parse(s.sessions.GetString(ctx, sessUserID))
		tid, err2 := tenant.ParseID(s.sessions.GetString(ctx, sessTenantID))
		if err1 != nil || err2 != nil {
			s.redirectToLogin(w, r)
			return
		}
		p, err := s.store.FindPrincipal(ctx, tid, uid)
		if errors.Is(err, postgres.ErrNotFound) {
			// Removed from this tenant meanwhile: fall back to another.
			ms, merr := s.store.FindMemberships(ctx, uid)
			if merr != nil {
				s.serverError(w, r, merr)
				return
			}
			if len(ms) == 0 {
				_ = s.sessions.Destroy(ctx)
				s.redirectToLogin(w, r)
				return
			}
			s.sessions.Put(ctx, sessTenantID, ms[0].TenantID.String())
			p, err = s.store.FindPrincipal(ctx, ms[0].TenantID, uid)
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.NewContext(ctx, p)))
	})
}

// require refuses a signed-in user whose role lacks perm with 403.
func (s *Server) require(perm auth.Permission) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := auth.FromContext(r.Context())
			if !ok {
				s.redirectToLogin(w, r)
				return
			}
			if !p.Can(perm) {
				s.errorPage(w, r, http.StatusForbidden, "Not allowed",
					"Your role ("+p.Role.Label()+") does not allow this. Ask an admin if you need it.")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (s *Server) redirectToLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// flash stores a message for the next page.
func (s *Server) flash(r *http.Request, kind, msg string) {
	s.sessions.Put(r.Context(), sessFlash, msg)
	s.sessions.Put(r.Context(), sessFlashKind, kind)
}

// navItems are the sections of DESIGN.md §6 this principal may open.
func navItems(p auth.Principal) []view.NavItem {
	items := []view.NavItem{{Key: "dashboard", Label: "Dashboard", Href: "/", Icon: "dashboard"}}
	if p.Can(auth.PermWorkLeads) {
		items = append(items, view.NavItem{Key: "inbox", Label: "Inbox", Href: "/inbox", Icon: "inbox"})
	}
	items = append(items,
		view.NavItem{Key: "leads", Label: "Leads", Href: "/leads", Icon: "leads"},
		view.NavItem{Key: "agreement", Label: "Agreement", Href: "/agreement", Icon: "agreement"},
		view.NavItem{Key: "breaches", Label: "Breaches", Href: "/breaches", Icon: "breaches"},
		view.NavItem{Key: "content", Label: "Content", Href: "/content", Icon: "content"},
	)
	if p.Can(auth.PermHandoff) {
		items = append(items, view.NavItem{Key: "import", Label: "Import", Href: "/import", Icon: "import"})
	}
	if p.Can(auth.PermManageUsers) {
		items = append(items, view.NavItem{Key: "settings", Label: "Settings", Href: "/settings", Icon: "settings"})
	}
	return items
}

// page builds the layout's view model for this request.
func (s *Server) page(r *http.Request, title, section string) view.Page {
	ctx := r.Context()
	pg := view.Page{Title: title, Section: section, RequestID: requestIDFrom(ctx)}
	if s.hasSession(r) {
		pg.CSRF = s.csrfToken(r)
		if msg := s.sessions.PopString(ctx, sessFlash); msg != "" {
			pg.Flash = &view.Flash{Kind: s.sessions.PopString(ctx, sessFlashKind), Message: msg}
		}
	}
	if p, ok := auth.FromContext(ctx); ok && p.IsUser() {
		pg.User = &view.User{Name: p.Name, Email: p.Email, RoleLabel: p.Role.Label(), Unread: p.UnreadNotifications}
		pg.Tenant = view.Tenant{ID: p.Tenant.ID.String(), Slug: p.Tenant.Slug, Name: p.Tenant.Name}
		pg.Location = p.Location()
		for _, m := range p.Memberships {
			pg.Tenants = append(pg.Tenants, view.TenantOption{ID: m.TenantID.String(), Name: m.TenantName, Current: m.TenantID == p.Tenant.ID})
		}
		pg.Nav = navItems(p)
	}
	return pg
}

type sessionKey struct{}

// markSession notes in the context that the session was loaded, so pages
// rendered outside session routes (errors of the API or static files) know
// not to touch it.
func (s *Server) markSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, true)))
	})
}

// hasSession reports whether the request went through the session loader.
func (s *Server) hasSession(r *http.Request) bool {
	ok, _ := r.Context().Value(sessionKey{}).(bool)
	return ok
}

// safeNext returns next when it is a path on this site, else "/": sign-in
// must never redirect elsewhere.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}
