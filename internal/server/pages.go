package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/accordhq/accord/web/view"
)

// sections not built yet, with what each will do (DESIGN.md §6).
var sectionsNotBuilt = map[string]struct{ title, what string }{
	"inbox":     {"Inbox", "Your handed-off leads ordered by time left on their SLA timers, with accept, reject, log a touch, snooze and share content in place."},
	"leads":     {"Leads", "Search and filter every lead; each lead's page shows its timeline of transitions, activities, timers, holders and content used."},
	"agreement": {"Agreement", "The SLA clauses of both sides in plain language, calendars and holidays, escalation ladders, a preview of changes and the version history."},
	"breaches":  {"Breaches", "Open, at-risk and breached timers; acknowledge a breach, or excuse it with a reason and a second person's approval."},
	"content":   {"Content", "The asset library, which assets sales uses and which go unused, and sales' requests for missing content."},
	"import":    {"Import", "CSV upload with presets for HubSpot and Salesforce exports, a preview of the mapping and a progress bar."},
}

func (s *Server) handleSectionNotBuilt(key string) http.HandlerFunc {
	sec := sectionsNotBuilt[key]
	return func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, view.NotBuilt(s.page(r, sec.title, key), sec.title, sec.what))
	}
}

func (s *Server) handleSettingsShow(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/settings/users", http.StatusSeeOther)
}

func (s *Server) handleSettingsNotBuilt(w http.ResponseWriter, r *http.Request) {
	key := chi.URLParam(r, "tab")
	for _, t := range view.SettingsTabs {
		if t.Key == key && !t.Built {
			s.render(w, r, http.StatusOK, view.SettingsNotBuilt(s.page(r, "Settings", "settings"), t))
			return
		}
	}
	s.handleNotFound(w, r)
}

// withURLParam sets a chi URL parameter, for handlers that reuse another's
// rendering.
func withURLParam(r *http.Request, key, value string) *http.Request {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return r
	}
	rc.URLParams.Add(key, value)
	return r
}
