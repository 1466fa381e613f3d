package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/server"
	"github.com/accordhq/accord/internal/sla"
)

func respondBody(minutes int, extra map[string]any) map[string]any {
	c := map[string]any{"side": "sales", "kind": "respond", "target_minutes": minutes}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestAPI_Agreement(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.token(h.a, auth.ScopeAdmin)
	read := h.token(h.a, auth.ScopeRead)
	_, err := h.db.Store.ReplaceSegments(context.Background(), h.a.ID, h.a.Admin(), []string{"enterprise"}, h.clock.Now())
	require.NoError(t, err)

	status, got, _ := h.api("GET", "/agreement", read, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, float64(0), got["version"], "a new tenant is at version 0")
	require.Empty(t, got["clauses"])

	status, _, _ = h.api("PUT", "/agreement", read, map[string]any{"base_version": 0, "clauses": []any{}})
	require.Equal(t, http.StatusForbidden, status, "a read token may not edit")

	bad := map[string]map[string]any{
		"clauses.0.target_minutes":  respondBody(0, nil),
		"clauses.0.scope.segment":   respondBody(60, map[string]any{"scope": map[string]any{"segment": "galactic"}}),
		"clauses.0.escalation":      respondBody(60, map[string]any{"escalation": []any{map[string]any{"after_minutes": 240, "notify": []string{"manager"}}, map[string]any{"after_minutes": 60, "notify": []string{"holder"}}}}),
		"clauses.0.warn_at_percent": respondBody(60, map[string]any{"warn_at_percent": 150}),
		"clauses.0.calendar_id":     respondBody(60, map[string]any{"calendar_id": "6d1f0000-0000-4000-8000-000000000000"}),
	}
	bad["clauses.0.target_minutes (over a year)"] = respondBody(366*24*60, nil)
	for field, clause := range bad {
		status, got, _ := h.api("PUT", "/agreement", admin, map[string]any{"base_version": 0, "clauses": []any{clause}})
		require.Equal(t, http.StatusUnprocessableEntity, status, field)
		key, _, _ := strings.Cut(field, " ")
		fields := errFields(got)
		found := false
		for k := range fields {
			found = found || strings.HasPrefix(k, key)
		}
		require.True(t, found, "%s: %v", field, fields)
	}
	status, got, _ = h.api("PUT", "/agreement", admin, map[string]any{"clauses": []any{respondBody(60, nil)}})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got), "base_version")
	status, got, _ = h.api("GET", "/agreement", read, nil)
	require.Equal(t, float64(0), got["version"], "nothing saved by a bad request")

	status, got, _ = h.api("PUT", "/agreement", admin, map[string]any{"base_version": 0, "clauses": []any{
		respondBody(240, map[string]any{"scope": map[string]any{"segment": "enterprise"}}),
		map[string]any{"side": "marketing", "kind": "volume", "target_count": 400},
	}})
	require.Equal(t, http.StatusCreated, status, "%v", got)
	require.Equal(t, float64(1), got["version"])
	clauses := got["clauses"].([]any)
	require.Len(t, clauses, 2)
	first := clauses[0].(map[string]any)
	require.Equal(t, float64(75), first["warn_at_percent"], "defaults applied")
	require.Equal(t, float64(2400), first["pause_cap_minutes"])
	require.Len(t, first["escalation"], 1)
	require.Equal(t, "month", clauses[1].(map[string]any)["period"])

	status, got, _ = h.api("PUT", "/agreement", admin, map[string]any{"base_version": 0, "clauses": []any{}})
	require.Equal(t, http.StatusConflict, status, "a stale base version")
	require.Equal(t, "conflict", errCode(got))

	// A clause keeps its id across versions.
	first["target_minutes"] = 120
	status, got, _ = h.api("PUT", "/agreement", admin, map[string]any{"base_version": 1, "clauses": []any{first}, "apply_to_running": true})
	require.Equal(t, http.StatusCreated, status, "%v", got)
	require.Equal(t, first["id"], got["clauses"].([]any)[0].(map[string]any)["id"])

	status, got, _ = h.api("POST", "/agreement/preview", admin, map[string]any{"clauses": []any{respondBody(30, nil)}})
	require.Equal(t, http.StatusOK, status, "%v", got)
	require.Equal(t, float64(90), got["days"])
	require.Contains(t, got, "by_team")
	require.Contains(t, got, "by_rep")
	status, _, _ = h.api("POST", "/agreement/preview", admin, map[string]any{"clauses": []any{respondBody(0, nil)}})
	require.Equal(t, http.StatusUnprocessableEntity, status)

	t.Run("OtherTenant", func(t *testing.T) {
		status, got, _ := h.api("GET", "/agreement", h.token(h.b, auth.ScopeRead), nil)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, float64(0), got["version"], "another tenant's agreement is its own")
	})
}

func TestAPI_Calendars(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.token(h.a, auth.ScopeAdmin)
	status, got, _ := h.api("GET", "/calendars", h.token(h.a, auth.ScopeIngest), nil)
	require.Equal(t, http.StatusOK, status, "any scope reads calendars")
	cals := got["data"].([]any)
	require.Len(t, cals, 1)
	id := cals[0].(map[string]any)["id"].(string)

	good := map[string]any{"name": "Berlin", "time_zone": "Europe/Berlin",
		"hours":    map[string]any{"mon": [][]string{{"09:00", "12:00"}, {"13:00", "17:00"}}, "fri": [][]string{{"09:00", "15:00"}}},
		"holidays": []any{map[string]any{"date": "2026-12-25", "name": "Christmas Day"}}}
	for name, change := range map[string]func(m map[string]any){
		"time_zone": func(m map[string]any) { m["time_zone"] = "Europe/Atlantis" },
		"hours.mon": func(m map[string]any) {
			m["hours"] = map[string]any{"mon": [][]string{{"09:00", "12:00"}, {"11:00", "17:00"}}}
		},
		"hours.tue": func(m map[string]any) { m["hours"] = map[string]any{"tue": [][]string{{"17:00", "09:00"}}} },
	} {
		body := map[string]any{}
		for k, v := range good {
			body[k] = v
		}
		change(body)
		status, got, _ := h.api("PUT", "/calendars/"+id, admin, body)
		require.Equal(t, http.StatusUnprocessableEntity, status, name)
		require.Contains(t, errFields(got), name)
	}
	status, got, _ = h.api("PUT", "/calendars/"+id, admin, good)
	require.Equal(t, http.StatusOK, status, "%v", got)
	require.Equal(t, "Europe/Berlin", got["time_zone"])

	status, _, _ = h.api("PUT", "/calendars/"+id, h.token(h.b, auth.ScopeAdmin), good)
	require.Equal(t, http.StatusNotFound, status, "another tenant's calendar")
	status, _, _ = h.api("PUT", "/calendars/"+id, h.token(h.a, auth.ScopeRead), good)
	require.Equal(t, http.StatusForbidden, status)
}

func TestAPI_TimersAndBreaches(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	alwaysOpen(t, h, h.a)
	f.withAgreement(t, sla.Clause{Kind: sla.KindRespond, TargetMinutes: 60})
	read := h.token(h.a, auth.ScopeRead)
	running := f.handoff(t, "running@x.test", f.rep)
	since := h.clock.Now()
	h.clock.Advance(30 * time.Minute)
	l, b := f.breach(t, "breached@x.test")

	status, got, _ := h.api("GET", "/timers?lead_id="+running.ID.String(), read, nil)
	require.Equal(t, http.StatusOK, status)
	data := got["data"].([]any)
	require.Len(t, data, 1)
	tm := data[0].(map[string]any)
	require.Equal(t, "breached", tm["status"], "the first lead ran out too")
	for _, k := range []string{"id", "lead_id", "clause_id", "agreement_version", "side", "kind", "status", "started_at", "due_at", "stopped_at", "breached_at", "holder_id", "paused_minutes"} {
		require.Contains(t, tm, k)
	}
	fresh := f.handoff(t, "fresh@x.test", f.rep)
	status, got, _ = h.api("GET", "/timers?status=running,at_risk", read, nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, got["data"], 1, "only the fresh lead's clock runs")
	require.Equal(t, fresh.ID.String(), got["data"].([]any)[0].(map[string]any)["lead_id"])
	status, got, _ = h.api("GET", "/timers?status=late", read, nil)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got), "status")

	status, got, _ = h.api("GET", "/breaches?lead_id="+l.ID.String(), read, nil)
	require.Equal(t, http.StatusOK, status)
	data = got["data"].([]any)
	require.Len(t, data, 1)
	br := data[0].(map[string]any)
	require.Equal(t, b.ID.String(), br["id"])
	require.Equal(t, br["due_at"], br["breached_at"], "breached at the due time")
	require.Contains(t, br, "detected_at")
	status, got, _ = h.api("GET", "/breaches?since="+since.Add(75*time.Minute).UTC().Format(time.RFC3339), read, nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, got["data"], 1, "only the later breach")
	status, got, _ = h.api("GET", "/breaches?since=yesterday", read, nil)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got), "since")

	t.Run("OtherTenantSeesNothing", func(t *testing.T) {
		other := h.token(h.b, auth.ScopeRead)
		status, got, _ := h.api("GET", "/timers?lead_id="+l.ID.String(), other, nil)
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, got["data"])
		status, got, _ = h.api("GET", "/breaches", other, nil)
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, got["data"])
		status, _, _ = h.api("GET", "/leads/"+l.ID.String(), other, nil)
		require.Equal(t, http.StatusNotFound, status)
	})
}

func TestAPI_Webhooks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *server.Config) { c.Production = true })
	admin := h.token(h.a, auth.ScopeAdmin)

	for url, want := range map[string]string{
		"ftp://hooks.example.com/x":   "http(s)",
		"http://127.0.0.1:9000/hook":  "private",
		"https://10.1.2.3/hook":       "private",
		"http://localhost:8080/hook":  "this machine",
		"https://user:pw@example.com": "user name",
	} {
		status, got, _ := h.api("POST", "/webhooks", admin, map[string]any{"url": url, "events": []string{"breach.created"}})
		require.Equal(t, http.StatusUnprocessableEntity, status, url)
		require.Contains(t, errFields(got)["url"], want, url)
	}
	status, got, _ := h.api("POST", "/webhooks", admin, map[string]any{"url": "https://hooks.example.com/accord", "events": []string{"breach.sideways"}})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got), "events")
	status, _, _ = h.api("POST", "/webhooks", h.token(h.a, auth.ScopeIngest), map[string]any{"url": "https://hooks.example.com/accord", "events": []string{"breach.created"}})
	require.Equal(t, http.StatusForbidden, status)

	status, got, _ = h.api("POST", "/webhooks", admin, map[string]any{"url": "https://hooks.example.com/accord",
		"events": []string{"breach.created", "timer.at_risk", "breach.created"}, "format": "slack"})
	require.Equal(t, http.StatusCreated, status, "%v", got)
	require.True(t, strings.HasPrefix(got["secret"].(string), "whsec_"), "the secret is shown once")
	require.Equal(t, []any{"breach.created", "timer.at_risk"}, got["events"])
	id := got["id"].(string)

	status, got, _ = h.api("GET", "/webhooks", admin, nil)
	require.Equal(t, http.StatusOK, status)
	list := got["data"].([]any)
	require.Len(t, list, 1)
	require.NotContains(t, list[0], "secret", "never shown again")

	status, got, _ = h.api("PATCH", "/webhooks/"+id, admin, map[string]any{"active": false})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, false, got["active"])

	other := h.token(h.b, auth.ScopeAdmin)
	status, _, _ = h.api("PATCH", "/webhooks/"+id, other, map[string]any{"active": true})
	require.Equal(t, http.StatusNotFound, status, "another tenant's endpoint")
	status, _, _ = h.api("DELETE", "/webhooks/"+id, other, nil)
	require.Equal(t, http.StatusNotFound, status)
	status, got, _ = h.api("GET", "/webhooks", other, nil)
	require.Empty(t, got["data"])

	status, _, _ = h.api("DELETE", "/webhooks/"+id, admin, nil)
	require.Equal(t, http.StatusNoContent, status)
	status, _, _ = h.api("DELETE", "/webhooks/"+id, admin, nil)
	require.Equal(t, http.StatusNotFound, status)
}
