package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/web"
)

// Body limits (API.md Conventions): 1 MiB, 10 MiB for batch and import; a
// CSV uploaded in the browser streams to the database and may be larger.
const (
	bodyLimit       = 1 << 20
	bulkBodyLimit   = 10 << 20
	uploadBodyLimit = 1 << 30
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

	// Tracked content links: prospects have no session; the token names
	// the tenant and the link, and the redirect goes only to the asset.
	r.Get("/c/{token}", s.handleTrackedLink)

	// The API: bearer tokens only, never a session cookie.
	r.Route("/api/v1", func(r chi.Router) {
		r.NotFound(s.handleAPINotFound)
		r.MethodNotAllowed(s.handleAPIMethodNotAllowed)
		r.Get("/openapi.json", s.handleOpenAPI)
		r.Group(func(r chi.Router) {
			r.Use(s.apiAuth)
			// Bulk endpoints take 10 MiB; everything else 1 MiB.
			r.Group(func(r chi.Router) {
				r.Use(limitBody(bulkBodyLimit), s.idempotency)
				r.With(s.apiRequire(auth.PermIngest)).Post("/leads/batch", s.handleAPILeadBatch)
				r.With(s.apiRequire(auth.PermIngest)).Post("/imports", s.handleAPIImportCreate)
			})
			r.Group(func(r chi.Router) {
				r.Use(limitBody(bodyLimit), s.idempotency)

				// Leads.
				r.With(s.apiRequire(auth.PermIngest)).Post("/leads", s.handleAPILeadCreate)
				r.With(s.apiRequire(auth.PermRead)).Get("/leads", s.handleAPILeadList)
				r.With(s.apiRequire(auth.PermRead)).Get("/leads/{id}", s.handleAPILeadShow)
				r.With(s.apiRequire(auth.PermRead)).Get("/leads/{id}/timeline", s.handleAPILeadTimeline)
				r.With(s.apiRequire(auth.PermIngest)).Post("/leads/{id}/transitions", s.handleAPILeadTransition)
				r.With(s.apiRequire(auth.PermIngest)).Post("/leads/{id}/activities", s.handleAPILeadActivity)
				r.With(s.apiRequire(auth.PermManageTeamLeads)).Post("/leads/{id}/assign", s.handleAPILeadAssign)

				// Reference data (any scope) and provisioning (admin).
				r.With(s.apiRequire(auth.PermReference)).Get("/users", s.handleAPIUserList)
				r.With(s.apiRequire(auth.PermManageUsers)).Post("/users", s.handleAPIUserCreate)
				r.With(s.apiRequire(auth.PermManageUsers)).Patch("/users/{id}", s.handleAPIUserUpdate)
				r.With(s.apiRequire(auth.PermReference)).Get("/teams", s.handleAPITeamList)
				r.With(s.apiRequire(auth.PermManageTeams)).Post("/teams", s.handleAPITeamCreate)
				r.With(s.apiRequire(auth.PermEditAgreement)).Post("/calendars", s.handleAPICalendarCreate)
				r.With(s.apiRequire(auth.PermReference)).Get("/rejection-reasons", s.handleAPIReasonList)
				r.With(s.apiRequire(auth.PermEditAgreement)).Post("/rejection-reasons", s.handleAPIReasonCreate)
				r.With(s.apiRequire(auth.PermReference)).Get("/segments", s.handleAPISegmentList)
				r.With(s.apiRequire(auth.PermEditAgreement)).Put("/segments", s.handleAPISegmentReplace)
				r.With(s.apiRequire(auth.PermReference)).Get("/routing-rules", s.handleAPIRoutingShow)
				r.With(s.apiRequire(auth.PermEditAgreement)).Put("/routing-rules", s.handleAPIRoutingReplace)
				r.With(s.apiRequire(auth.PermReference)).Get("/targets", s.handleAPITargetList)
				r.With(s.apiRequire(auth.PermEditAgreement)).Put("/targets", s.handleAPITargetReplace)
				r.With(s.apiRequire(auth.PermReference)).Get("/qualification-rule", s.handleAPIQualificationShow)
				r.With(s.apiRequire(auth.PermEditAgreement)).Put("/qualification-rule", s.handleAPIQualificationReplace)

				// Imports.
				r.With(s.apiRequire(auth.PermReference)).Get("/imports/{id}", s.handleAPIImportShow)

				// The agreement, its calendars, timers and breaches.
				r.With(s.apiRequire(auth.PermRead)).Get("/agreement", s.handleAPIAgreementShow)
				r.With(s.apiRequire(auth.PermEditAgreement)).Put("/agreement", s.handleAPIAgreementReplace)
				r.With(s.apiRequire(auth.PermEditAgreement)).Post("/agreement/preview", s.handleAPIAgreementPreview)
				r.With(s.apiRequire(auth.PermReference)).Get("/calendars", s.handleAPICalendarList)
				r.With(s.apiRequire(auth.PermEditAgreement)).Put("/calendars/{id}", s.handleAPICalendarUpdate)
				r.With(s.apiRequire(auth.PermRead)).Get("/timers", s.handleAPITimerList)
				r.With(s.apiRequire(auth.PermRead)).Get("/breaches", s.handleAPIBreachList)

				// Figures (DESIGN.md §5).
				r.With(s.apiRequire(auth.PermRead)).Get("/metrics", s.handleAPIMetrics)
				r.With(s.apiRequire(auth.PermRead)).Get("/metrics.csv", s.handleAPIMetricsCSV)
				r.With(s.apiRequire(auth.PermRead)).Get("/scorecard", s.handleAPIScorecard)

				// Content: the library, uses (activities above) and requests.
				r.With(s.apiRequire(auth.PermRead)).Get("/content-assets", s.handleAPIAssetList)
				r.With(s.apiRequire(auth.PermRead)).Get("/content-assets/{id}", s.handleAPIAssetShow)
				r.With(s.apiRequire(auth.PermManageContent)).Post("/content-assets", s.handleAPIAssetCreate)
				r.With(s.apiRequire(auth.PermManageContent)).Patch("/content-assets/{id}", s.handleAPIAssetUpdate)
				r.With(s.apiRequire(auth.PermRead)).Get("/content-requests", s.handleAPIRequestList)
				r.With(s.apiRequire(auth.PermRead)).Get("/content-requests/{id}", s.handleAPIRequestShow)
				r.With(s.apiRequire(auth.PermWorkLeads)).Post("/content-requests", s.handleAPIRequestCreate)
				r.With(s.apiRequire(auth.PermManageContent)).Patch("/content-requests/{id}", s.handleAPIRequestUpdate)

				// Webhook endpoints (admin).
				r.With(s.apiRequire(auth.PermManageWebhooks)).Get("/webhooks", s.handleAPIWebhookList)
				r.With(s.apiRequire(auth.PermManageWebhooks)).Post("/webhooks", s.handleAPIWebhookCreate)
				r.With(s.apiRequire(auth.PermManageWebhooks)).Patch("/webhooks/{id}", s.handleAPIWebhookUpdate)
				r.With(s.apiRequire(auth.PermManageWebhooks)).Delete("/webhooks/{id}", s.handleAPIWebhookDelete)
			})
		})
	})

	// Web pages: session cookie and CSRF token.
	r.Group(func(r chi.Router) {
		r.Use(s.sessions.LoadAndSave, s.markSession)
		// A CSV upload streams to the database: its own, larger limit, and the
		// handler checks the CSRF token itself (header, or the form's first
		// part), so the upload is never buffered whole to read a field.
		r.With(s.requireUser, s.require(auth.PermHandoff), limitBody(uploadBodyLimit)).Post("/import", s.handleImportUpload)

		r.Group(func(r chi.Router) {
			r.Use(limitBody(bodyLimit), s.csrf)
			r.Get("/login", s.handleLoginShow)
			r.Post("/login", s.handleLoginCreate)
			r.Post("/logout", s.handleLogout)
			r.Get("/invite/{token}", s.handleInviteShow)
			r.Post("/invite/{token}", s.handleInviteAccept)

			r.Group(func(r chi.Router) {
				r.Use(s.requireUser)
				r.Get("/", s.handleDashboardShow)
				r.Get("/dashboard.csv", s.handleDashboardCSV)
				r.Get("/events", s.handleEvents)
				r.Post("/switch-tenant", s.handleTenantSwitch)
				r.Get("/notifications", s.handleNotificationList)
				r.Post("/notifications/read", s.handleNotificationsRead)

				// The inbox: reps and managers work their leads in place.
				r.Route("/inbox", func(r chi.Router) {
					r.Use(s.require(auth.PermWorkLeads))
					r.Get("/", s.handleInboxShow)
					r.Post("/{id}/accept", s.handleInboxAccept)
					r.Post("/{id}/reject", s.handleInboxReject)
					r.Post("/{id}/touch", s.handleInboxTouch)
					r.Post("/{id}/snooze", s.handleInboxSnooze)
					r.Post("/{id}/share", s.handleInboxShare)
					r.With(s.require(auth.PermManageTeamLeads)).Post("/{id}/reassign", s.handleInboxReassign)
				})

				r.Get("/leads", s.handleLeadList)
				r.Get("/leads/{id}", s.handleLeadShow)
				r.Post("/leads/{id}/transitions", s.handleLeadTransition)
				r.Post("/leads/{id}/activities", s.handleLeadActivity)
				r.Post("/leads/{id}/share", s.handleLeadShare)

				// The agreement: everyone reads it, RevOps edits it.
				r.Get("/agreement", s.handleAgreementShow)
				r.Group(func(r chi.Router) {
					r.Use(s.require(auth.PermEditAgreement))
					r.Get("/agreement/edit", s.handleAgreementEdit)
					r.Post("/agreement", s.handleAgreementSave)
					r.Post("/agreement/preview", s.handleAgreementPreview)
					r.Get("/agreement/calendars/new", s.handleCalendarNew)
					r.Post("/agreement/calendars", s.handleCalendarSave)
					r.Get("/agreement/calendars/{id}", s.handleCalendarEdit)
					r.Post("/agreement/calendars/{id}", s.handleCalendarSave)
				})

				// Breaches: everyone sees them; acknowledging and excusing
				// are checked per breach in the handlers.
				r.Get("/breaches", s.handleBreachList)
				r.Post("/breaches/{id}/acknowledge", s.handleBreachAcknowledge)
				r.Post("/breaches/{id}/excuse", s.handleBreachExcuse)
				r.Post("/breaches/{id}/approve", s.handleBreachApprove)

				// Content: everyone browses; marketing and admins manage the
				// library; sales asks, marketing answers, in requests.
				r.Route("/content", func(r chi.Router) {
					r.Get("/", s.handleContentLibrary)
					r.Get("/requests", s.handleRequestList)
					r.Post("/requests", s.handleRequestCreate)
					r.Get("/requests/{id}", s.handleRequestShow)
					r.Post("/requests/{id}", s.handleRequestUpdate)
					r.Get("/{id}", s.handleAssetShow)
					r.Group(func(r chi.Router) {
						r.Use(s.require(auth.PermManageContent))
						r.Get("/new", s.handleAssetNew)
						r.Post("/", s.handleAssetCreate)
						r.Post("/{id}", s.handleAssetUpdate)
						r.Post("/{id}/archive", s.handleAssetArchive)
					})
				})

				// A group, not a Route: a mounted /import would take the POST
				// /import upload above as well.
				r.Group(func(r chi.Router) {
					r.Use(s.require(auth.PermHandoff))
					r.Get("/import", s.handleImportNew)
					r.Get("/import/{id}", s.handleImportShow)
					r.Get("/import/{id}/progress", s.handleImportProgress)
					r.Post("/import/{id}/start", s.handleImportStart)
				})

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
					r.Get("/segments", s.handleSegmentsShow)
					r.Post("/segments", s.handleSegmentsSave)
					r.Get("/reasons", s.handleReasonsShow)
					r.Post("/reasons", s.handleReasonCreate)
					r.Get("/routing", s.handleRoutingShow)
					r.Post("/routing", s.handleRoutingSave)
					r.Get("/qualification", s.handleQualificationShow)
					r.Post("/qualification", s.handleQualificationSave)
					r.Get("/targets", s.handleTargetsShow)
					r.Post("/targets", s.handleTargetsSave)
					r.With(s.require(auth.PermManageWebhooks)).Get("/webhooks", s.handleWebhookList)
					r.With(s.require(auth.PermManageWebhooks)).Post("/webhooks", s.handleWebhookCreate)
					r.With(s.require(auth.PermManageWebhooks)).Post("/webhooks/{id}/toggle", s.handleWebhookToggle)
					r.With(s.require(auth.PermManageWebhooks)).Post("/webhooks/{id}/delete", s.handleWebhookDelete)
					r.Get("/digests", s.handleDigestSettingsShow)
					r.Post("/digests", s.handleDigestSettingsSave)
					r.Get("/{tab}", s.handleSettingsNotBuilt)
				})
			})
		})
	})
	return r
}
