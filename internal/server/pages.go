package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/accordhq/accord/web/view"
)

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
