package server_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/sla"
)

// TestAPI_Metrics: the figures of this month through JSON and CSV agree
// figure by figure; bad periods and filters get 422 with what to fix;
// another tenant's token sees none of these figures and may not name
// this tenant's team.
func TestAPI_Metrics(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	ctx := context.Background()
	p := systemPrincipal
	p.Tenant = h.a.Tenant
	accepted := f.handoff(t, "yes@lead.test", f.rep)
	rejected := f.handoff(t, "no@lead.test", f.rep)
	f.handoff(t, "maybe@lead.test", f.rep2)
	_, err := h.db.Store.Transition(ctx, h.a.ID, p, accepted.ID, lead.TransitionInput{To: lead.StageAccepted}, h.clock.Now())
	require.NoError(t, err)
	_, err = h.db.Store.Transition(ctx, h.a.ID, p, rejected.ID, lead.TransitionInput{To: lead.StageRejected, Reason: "no_budget"}, h.clock.Now())
	require.NoError(t, err)
	token := h.token(h.a, auth.ScopeRead)

	status, body, _ := h.api("GET", "/metrics?period=this_month", token, nil)
	require.Equal(t, http.StatusOK, status, body)
	require.EqualValues(t, 3, body["handoffs"])
	require.EqualValues(t, 1, body["accepted"])
	require.EqualValues(t, 1, body["rejected"])
	require.EqualValues(t, 1, body["undecided"])
	require.InDelta(t, 0.5, body["lead_acceptance_rate"], 1e-9)
	require.Nil(t, body["win_rate"], "no wins or losses: null, not 0")
	require.Contains(t, body, "previous")
	reasons := body["rejection_reasons"].([]any)
	require.Len(t, reasons, 1)
	require.Equal(t, "no_budget", reasons[0].(map[string]any)["reason"])

	// The CSV carries the same figures.
	req, err := http.NewRequest("GET", h.ts.URL+"/api/v1/metrics.csv?period=this_month", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	require.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	records, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"figure", "value", "previous"}, records[0])
	rows := map[string][]string{}
	for _, r := range records[1:] {
		rows[r[0]] = r[1:]
	}
	prev := body["previous"].(map[string]any)
	for _, name := range []string{"handoffs", "accepted", "rejected", "undecided", "lead_acceptance_rate", "win_rate", "pipeline_created"} {
		require.Contains(t, rows, name)
		for i, src := range []map[string]any{body, prev} {
			cell := rows[name][i]
			if src[name] == nil {
				require.Empty(t, cell, "%s: null is an empty cell", name)
				continue
			}
			v, err := strconv.ParseFloat(cell, 64)
			require.NoError(t, err, "%s: %q", name, cell)
			require.InDelta(t, src[name], v, 1e-12, name)
		}
	}
	require.Equal(t, "1", rows["rejection_reasons.no_budget.count"][0])

	// The leads behind the acceptance figure, through the lead list.
	local := h.clock.Now().In(berlinOf(t))
	first := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, berlinOf(t))
	cohort := "/leads?handoff_from=" + first.Format("2006-01-02") + "&handoff_to=" + first.AddDate(0, 1, 0).Format("2006-01-02")
	status, body, _ = h.api("GET", cohort+"&decision=accepted", token, nil)
	require.Equal(t, http.StatusOK, status, body)
	data := body["data"].([]any)
	require.Len(t, data, 1)
	require.Equal(t, accepted.ID.String(), data[0].(map[string]any)["id"])
	status, body, _ = h.api("GET", cohort+"&decision=undecided", token, nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body["data"].([]any), 1, "maybe@lead.test")
	for _, bad := range []string{cohort + "&decision=maybe", "/leads?decision=accepted", cohort + "&reached=lost", cohort + "&touched=perhaps"} {
		status, _, _ := h.api("GET", bad, token, nil)
		require.Equal(t, http.StatusUnprocessableEntity, status, bad)
	}

	// Bad input: a clear 422 naming the field.
	for path, field := range map[string]string{
		"/metrics?from=2026-13-01&to=2026-14-01":       "from",
		"/metrics?from=2026-11-01&to=2026-10-01":       "to",
		"/metrics?from=2016-01-01&to=2026-01-01":       "to",
		"/metrics?period=fortnight":                    "period",
		"/metrics?period=this_month&colour=red":        "colour",
		"/metrics?period=this_month&team_id=not-a-uid": "team_id",
		"/metrics.csv?period=this_month&sauce=x":       "sauce",
	} {
		status, body, _ := h.api("GET", path, token, nil)
		require.Equal(t, http.StatusUnprocessableEntity, status, path)
		fields := body["error"].(map[string]any)["fields"].(map[string]any)
		require.Contains(t, fields, field, path)
	}

	// Tenant isolation: the other tenant's figures hold none of these
	// leads, and it may not filter on this tenant's team.
	other := h.token(h.b, auth.ScopeRead)
	status, body, _ = h.api("GET", "/metrics?period=this_month", other, nil)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 0, body["handoffs"])
	status, body, _ = h.api("GET", "/metrics?period=this_month&team_id="+f.team.ID.String(), other, nil)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, body["error"].(map[string]any)["fields"], "team_id")
	status, _, _ = h.api("GET", "/metrics?period=this_month&team_id="+f.team.ID.String(), token, nil)
	require.Equal(t, http.StatusOK, status, "its own team")
}

// TestAPI_Scorecard: the scorecard of this month lists the agreement's
// clauses with their status; a bad period is a 422; another tenant sees
// its own (empty) agreement.
func TestAPI_Scorecard(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	alwaysOpen(t, h, h.a)
	four := 4
	f.withAgreement(t, sla.Clause{Kind: sla.KindRespond, TargetMinutes: 60}, sla.Clause{Kind: sla.KindVolume, TargetCount: &four})
	f.handoff(t, "one@lead.test", f.rep)
	token := h.token(h.a, auth.ScopeRead)

	status, body, _ := h.api("GET", "/scorecard", token, nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, h.clock.Now().In(berlinOf(t)).Format("2006-01"), body["period"])
	clauses := body["clauses"].([]any)
	require.Len(t, clauses, 2)
	kinds := map[string]map[string]any{}
	for _, c := range clauses {
		m := c.(map[string]any)
		kinds[m["kind"].(string)] = m
	}
	require.Equal(t, "count", kinds["volume"]["unit"])
	require.EqualValues(t, 4, kinds["volume"]["target"])
	require.EqualValues(t, 1, kinds["volume"]["actual"])
	require.Contains(t, []any{"on_track", "at_risk", "missed"}, kinds["volume"]["status"])
	require.Equal(t, "on_track", kinds["respond"]["status"], "nothing resolved yet")
	require.Nil(t, kinds["respond"]["actual"])

	status, body, _ = h.api("GET", "/scorecard?period=2026-13", token, nil)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, body["error"].(map[string]any)["fields"], "period")

	status, body, _ = h.api("GET", "/scorecard", h.token(h.b, auth.ScopeRead), nil)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, body["clauses"], "tenant b has no clauses of a's")
}

func berlinOf(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}
