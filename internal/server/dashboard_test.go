package server_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/web/view"
)

// TestDashboard_SameFiguresEverywhere renders one period three ways — the
// API's JSON, the API's CSV and the dashboard page (with its own CSV) —
// and requires the same figures in each; bad filters are a 422 with the
// problem beside the field; another tenant's team is refused.
func TestDashboard_SameFiguresEverywhere(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	ctx := context.Background()
	p := systemPrincipal
	p.Tenant = h.a.Tenant
	var ls []lead.Lead
	for i := range 7 {
		ls = append(ls, f.handoff(t, fmt.Sprintf("l%d@lead.test", i), f.rep))
	}
	for _, l := range ls[:4] {
		_, err := h.db.Store.Transition(ctx, h.a.ID, p, l.ID, lead.TransitionInput{To: lead.StageAccepted}, h.clock.Now())
		require.NoError(t, err)
	}
	_, err := h.db.Store.Transition(ctx, h.a.ID, p, ls[4].ID, lead.TransitionInput{To: lead.StageRejected, Reason: "no_budget"}, h.clock.Now())
	require.NoError(t, err)
	amount := lead.Cents(12_345_67)
	_, err = h.db.Store.Transition(ctx, h.a.ID, p, ls[0].ID, lead.TransitionInput{To: lead.StageOpportunity, Amount: &amount}, h.clock.Now())
	require.NoError(t, err)

	status, js, _ := h.api("GET", "/metrics?period=this_month", h.token(h.a, auth.ScopeRead), nil)
	require.Equal(t, http.StatusOK, status)
	rate := js["lead_acceptance_rate"].(float64)
	require.InDelta(t, 0.8, rate, 1e-9)

	b := h.browser()
	b.login(f.mgr.Email, postgrestest.Password)
	pg := b.get("/?period=this_month")
	require.Equal(t, http.StatusOK, pg.status)
	require.Equal(t, fmt.Sprint(js["handoffs"]), pg.text("#kpi-handoffs .kpi-value"))
	require.Equal(t, view.Percent(&rate), pg.text("#kpi-acceptance .kpi-value"))
	require.Equal(t, "80.0 %", pg.text("#kpi-acceptance .kpi-value"))
	l2o := js["lead_to_opportunity_rate"].(float64)
	require.Equal(t, view.Percent(&l2o), pg.text("#kpi-lead-to-opportunity .kpi-value"))
	require.Equal(t, "EUR 12,345.67", pg.text("#kpi-pipeline-created .kpi-value"), "as the digest writes it")
	require.EqualValues(t, 12345.67, js["pipeline_created"])

	// The page's CSV is the API's CSV.
	csvOf := func(resp page) map[string][]string {
		t.Helper()
		require.Equal(t, http.StatusOK, resp.status)
		rows, err := csv.NewReader(strings.NewReader(resp.body)).ReadAll()
		require.NoError(t, err)
		out := map[string][]string{}
		for _, r := range rows[1:] {
			out[r[0]] = r[1:]
		}
		return out
	}
	pageCSV := csvOf(b.get("/dashboard.csv?period=this_month"))
	require.Equal(t, "7", pageCSV["handoffs"][0])
	require.Equal(t, "0.8", pageCSV["lead_acceptance_rate"][0])
	require.Equal(t, "12345.67", pageCSV["pipeline_created"][0])
	funnel := csvOf(b.get("/dashboard.csv?period=this_month&section=funnel"))
	require.Equal(t, map[string][]string{"funnel.mql": {"7", "0"}, "funnel.accepted": {"4", "0"}, "funnel.sql": {"1", "0"},
		"funnel.opportunity": {"1", "0"}, "funnel.won": {"0", "0"}}, funnel)

	// The by-campaign row of leads without a campaign drills down to them.
	href, ok := pg.doc.Find("#by-campaign-table tbody tr td.num a").First().Attr("href")
	require.True(t, ok)
	require.Contains(t, href, "campaign=%28none%29")
	require.Equal(t, 7, b.get(href).doc.Find("#leads-table tbody tr").Length(), "the seven handoffs without a campaign")

	// Bad input: this month unfiltered, the problem beside its field.
	bad := b.get("/?from=2026-02-30&to=2026-03-01")
	require.Equal(t, http.StatusUnprocessableEntity, bad.status)
	require.Contains(t, bad.text("#dashboard-filters"), "2026-10-01", "what to type")
	bad = b.get("/?period=this_month&team_id=" + f.team.ID.String()[:8])
	require.Equal(t, http.StatusUnprocessableEntity, bad.status)
	other := h.browserFor(t, h.b)
	bad = other.get("/?period=this_month&team_id=" + f.team.ID.String())
	require.Equal(t, http.StatusUnprocessableEntity, bad.status, "another tenant's team")
	require.Contains(t, bad.text("#dashboard-filters"), "is not a team of this tenant")
	require.Equal(t, "0", other.get("/?period=this_month").text("#kpi-handoffs .kpi-value"), "tenant b sees none of a's figures")
}

// TestDashboard_PageWeight: the dashboard's first load (HTML, CSS and
// scripts, uncompressed) stays under 300 KB.
func TestDashboard_PageWeight(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	for i := range 30 {
		f.handoff(t, fmt.Sprintf("w%d@lead.test", i), f.rep)
	}
	b := h.browser()
	b.login(f.mgr.Email, postgrestest.Password)
	pg := b.get("/")
	require.Equal(t, http.StatusOK, pg.status)
	total := len(pg.body)
	var assets []string
	pg.doc.Find(`link[rel="stylesheet"]`).Each(func(_ int, s *goquery.Selection) { assets = append(assets, s.AttrOr("href", "")) })
	pg.doc.Find(`script[src]`).Each(func(_ int, s *goquery.Selection) { assets = append(assets, s.AttrOr("src", "")) })
	require.NotEmpty(t, assets)
	for _, a := range assets {
		res := b.get(a)
		require.Equal(t, http.StatusOK, res.status, a)
		total += len(res.body)
	}
	t.Logf("dashboard first load: %d bytes (%d assets)", total, len(assets))
	require.Less(t, total, 300*1024)
}

func TestBreaches_ResolvedTabInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)
	require.Equal(t, http.StatusOK, b.get("/breaches?tab=resolved").status, "this month by default")
	for _, q := range []string{"from=2026-13-01&to=2026-14-01", "from=2026-10-01&to=2026-09-01", "from=2010-01-01&to=2026-01-01", "segment=" + strings.Repeat("x", 300)} {
		require.Equal(t, http.StatusUnprocessableEntity, b.get("/breaches?tab=resolved&"+q).status, q)
	}
	status, got, _ := h.api("GET", "/timers?clause_id=nope", h.token(h.a, auth.ScopeRead), nil)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got), "clause_id")
}
