package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// metricQuery reads the period and filter of a figures request: period (a
// preset or a month or quarter) or from and to, plus segment, source,
// campaign and team_id. Any other key is refused, so a misspelt filter
// does not silently widen the figures.
func metricQuery(r *http.Request, t tenant.Tenant, now time.Time, extra ...string) (metric.Period, metric.Filter, validator.Errors) {
	q := r.URL.Query()
	allowed := append(append(append([]string{}, metric.PeriodKeys...), metric.FilterKeys...), extra...)
	unknown := metric.UnknownKeys(q, allowed...)
	p, perrs := metric.ParsePeriod(q.Get(metric.KeyPeriod), q.Get(metric.KeyFrom), q.Get(metric.KeyTo), tenant.LoadLocation(t.TimeZone), now)
	f, ferrs := metric.ParseFilter(q)
	return p, f, metric.Merge(unknown, perrs, ferrs)
}

// handleAPIMetrics answers GET /api/v1/metrics: the §5 figures of a period
// and of the previous one (API.md, Figures).
func (s *Server) handleAPIMetrics(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	period, filter, errs := metricQuery(r, p.Tenant, s.now())
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	fig, err := s.store.FindMetrics(r.Context(), p.TenantID(), period, filter, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, fig)
}

// handleAPIMetricsCSV answers GET /api/v1/metrics.csv: the same figures as
// CSV, one row per figure, this period and the previous.
func (s *Server) handleAPIMetricsCSV(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	period, filter, errs := metricQuery(r, p.Tenant, s.now())
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	fig, err := s.store.FindMetrics(r.Context(), p.TenantID(), period, filter, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.writeFiguresCSV(w, fig, "")
}

// writeFiguresCSV downloads figures as CSV, only the rows of section when
// it is not "" (a chart's own download).
func (s *Server) writeFiguresCSV(w http.ResponseWriter, fig metric.Figures, section string) {
	from, to := fig.Period.Dates()
	name := "accord-figures-" + from + "-" + to
	if section != "" {
		name += "-" + strings.ReplaceAll(section, "_", "-")
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	if err := metric.WriteSectionCSV(w, fig, section); err != nil {
		s.logger.Warn("write figures csv", "error", err.Error())
	}
}

// handleAPIScorecard answers GET /api/v1/scorecard?period=2026-10: every
// clause of the agreement, both sides, judged for the period (default: this
// month).
func (s *Server) handleAPIScorecard(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	q := r.URL.Query()
	unknown := metric.UnknownKeys(q, metric.PeriodKeys...)
	period, perrs := metric.ParsePeriod(q.Get(metric.KeyPeriod), q.Get(metric.KeyFrom), q.Get(metric.KeyTo), tenant.LoadLocation(p.Tenant.TimeZone), s.now())
	if errs := metric.Merge(unknown, perrs); errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	card, err := s.store.FindScorecard(r.Context(), p.TenantID(), period, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, card)
}
