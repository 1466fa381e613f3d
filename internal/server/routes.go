package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/web"
)

// routes lists every URL Accord answers.
func (s *Server) routes(reg *prometheus.Registry) http.Handler {
	r := chi.NewRouter()
	r.Use(s.requestID, s.recoverer, s.observe, securityHeaders, s.crossOrigin)
	r.NotFound(s.handleNotFound)
	r.MethodNotAllowed(s.handleMethodNotAllowed)

	// Operations: no session, no tenant.
	r.Get("/healthz", s.handleHealth)
	r.Get("/readyz", s.handleReady)
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	r.Handle("/static/*", http.StripPrefix("/static/", staticHandler(web.StaticFS())))

	// The API: bearer tokens only, never a session cookie.
	r.Route("/api/v1", func(r chi.Router) {
		r.NotFound(s.handleAPINotFound)
		r.MethodNotAllowed(s.handleAPIMethodNotAllowed)
		r.Get("/openapi.json", s.handleOpenAPI)
		r.Group(func(r chi.Router) {
			r.Use(s.apiAuth, limitBody(1<<20))
			r.With(s.apiRequire(auth.PermRead)).Get("/users", s.handleAPIUserList)
			r.With(s.apiRequire(auth.PermManageUsers)).Post("/users", s.handleAPIUserCreate)
			r.With(s.apiRequire(auth.PermManageUsers)).Patch("/users/{id}", s.handleAPIUserUpdate)
			r.With(s.apiRequire(auth.PermRead)).Get("/teams", s.handleAPITeamList)
			r.With(s.apiRequire(auth.PermManageTeams)).Post("/teams", s.handleAPITeamCreate)
		})
	})

	// Web pages: session cookie and CSRF token.
	r.Group(func(r chi.Router) {
		r.Use(s.sessions.LoadAndSave, s.markSession, limitBody(1<<20), s.csrf)
		r.Get("/login", s.handleLoginShow)
		r.Post("/login", s.handleLoginCreate)
		r.Post("/logout", s.handleLogout)
		r.Get("/invite/{token}", s.handleInviteShow)
		r.Post("/invite/{token}", s.handleInviteAccept)

		r.Group(func(r chi.Router) {
			r.Use(s.requireUser)
			r.Get("/", s.handleDashboardShow)
			r.Post("/switch-tenant", s.handleTenantSwitch)
			r.Get("/inbox", s.handleSectionNotBuilt("inbox"))
			r.Get("/leads", s.handleSectionNotBuilt("leads"))
			r.Get("/agreement", s.handleSectionNotBuilt("agreement"))
			r.Get("/breaches", s.handleSectionNotBuilt("breaches"))
			r.Get("/content", s.handleSectionNotBuilt("content"))
			r.With(s.require(auth.PermHandoff)).Get("/import", s.handleSectionNotBuilt("import"))

			r.Route("/settings", func(r chi.Router) {
				r.Use(s.require(auth.PermManageUsers))
				r.Get("/", s.handleSettingsShow)
				r.Get("/users", s.handleUserList)
				r.Post("/users", s.handleUserInvite)
				r.Post("/users/{id}", s.handleUserUpdate)
				r.Get("/teams", s.handleTeamList)
				r.Post("/teams", s.handleTeamCreate)
				r.Get("/teams/{id}", s.handleTeamEdit)
				r.Post("/teams/{id}", s.handleTeamUpdate)
				r.Get("/tokens", s.handleTokenList)
				r.Post("/tokens", s.handleTokenCreate)
				r.Post("/tokens/{id}/revoke", s.handleTokenRevoke)
				r.Get("/{tab}", s.handleSettingsNotBuilt)
			})
		})
	})
	return r
}
