package server

import (
	"net/http"
	"time"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/web/view"
)

// digestRunsShown is how many recorded digests the settings page lists.
const digestRunsShown = 12

// digestSettingsView is the digests page for settings d (checked roles)
// with the tenant's last runs.
func (s *Server) digestSettingsView(r *http.Request, p auth.Principal, d postgres.DigestSettings, errs validator.Errors) (view.DigestSettingsView, error) {
	runs, err := s.store.FindDigestRuns(r.Context(), p.TenantID(), digestRunsShown)
	if err != nil {
		return view.DigestSettingsView{}, err
	}
	loc := p.Tenant.Location()
	v := view.DigestSettingsView{Weekly: d.Weekly, Monthly: d.Monthly, Errors: errs, TimeZone: p.Tenant.TimeZone, SendHour: postgres.DigestSendHour}
	for _, run := range runs {
		// Run dates are local dates; their period is rebuilt in the zone.
		from := time.Date(run.PeriodStart.Year(), run.PeriodStart.Month(), run.PeriodStart.Day(), 0, 0, 0, 0, loc)
		to := time.Date(run.PeriodEnd.Year(), run.PeriodEnd.Month(), run.PeriodEnd.Day(), 0, 0, 0, 0, loc)
		title := "Weekly pipeline review"
		if run.Kind == postgres.DigestMonthly {
			title = "Monthly performance report"
		}
		v.Runs = append(v.Runs, view.DigestRunView{Title: title, Period: metric.Period{From: from, To: to}.Label(),
			SentAt: run.SentAt, Recipients: run.Recipients, Announced: run.Announced})
	}
	return v, nil
}

func (s *Server) handleDigestSettingsShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	d, err := s.store.FindDigestSettings(r.Context(), p.TenantID())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v, err := s.digestSettingsView(r, p, d, nil)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.DigestSettingsPage(s.page(r, "Digests", "settings"), v))
}

// handleDigestSettingsSave saves the ticked roles of each digest; a
// digest with none ticked is switched off.
func (s *Server) handleDigestSettingsSave(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Bad request", "The form could not be read; please reload the page and try again.")
		return
	}
	roles := func(key string) []tenant.Role {
		var out []tenant.Role
		for _, v := range r.PostForm[key] {
			out = append(out, tenant.Role(v))
		}
		return out
	}
	in := postgres.DigestSettings{Weekly: roles("weekly"), Monthly: roles("monthly")}
	saved, err := s.store.UpdateDigestSettings(r.Context(), p.TenantID(), p.Actor(), in, s.now())
	errs, invalid := asValidation(err)
	if err != nil && !invalid {
		s.renderError(w, r, err)
		return
	}
	if !invalid {
		msg := "Digests saved."
		switch {
		case len(saved.Weekly) == 0 && len(saved.Monthly) == 0:
			msg = "Digests saved: both are switched off."
		case len(saved.Weekly) == 0:
			msg = "Digests saved: the weekly pipeline review is switched off."
		case len(saved.Monthly) == 0:
			msg = "Digests saved: the monthly performance report is switched off."
		}
		s.flash(r, "success", msg)
		s.redirect(w, r, "/settings/digests")
		return
	}
	v, err := s.digestSettingsView(r, p, in, errs)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusUnprocessableEntity, view.DigestSettingsPage(s.page(r, "Digests", "settings"), v))
}
