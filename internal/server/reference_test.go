package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/browsertest"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
)

// referenceEndpoints are the reference data and provisioning endpoints with
// a valid body for each write.
var referenceEndpoints = []struct {
	method, path string
	body         any
}{
	{"GET", "/rejection-reasons", nil},
	{"POST", "/rejection-reasons", map[string]any{"code": "wrong_region", "label": "Wrong region"}},
	{"GET", "/segments", nil},
	{"PUT", "/segments", map[string]any{"segments": []string{"smb", "mid", "enterprise"}}},
	{"GET", "/routing-rules", nil},
	{"PUT", "/routing-rules", map[string]any{"rules": []any{}, "default_team_id": nil}},
	{"GET", "/targets", nil},
	{"PUT", "/targets", map[string]any{"targets": []any{}}},
	{"GET", "/qualification-rule", nil},
	{"PUT", "/qualification-rule", map[string]any{"min_score": 70}},
	{"POST", "/calendars", map[string]any{"name": "Ops", "time_zone": "UTC", "always_open": true}},
}

// tooLarge is a body over the 1 MiB limit.
func tooLarge(field string) string {
	return `{"` + field + `": "` + strings.Repeat("x", 2<<20) + `"}`
}

// requireInvalid asserts a 422 whose fields include every field named.
func requireInvalid(t *testing.T, status int, body map[string]any, fields ...string) {
	t.Helper()
	require.Equal(t, http.StatusUnprocessableEntity, status, "%v", body)
	require.Equal(t, "invalid", errCode(body))
	for _, f := range fields {
		require.Contains(t, errFields(body), f, "%v", body)
	}
}

// requireBodyErrors checks the statuses every JSON write shares: 400 for
// malformed JSON, 422 for an unknown field, 413 for a body over 1 MiB.
func requireBodyErrors(t *testing.T, h *harness, method, path, token string) {
	t.Helper()
	status, body, _ := h.api(method, path, token, `{"segments": [`)
	require.Equal(t, http.StatusBadRequest, status, "malformed JSON")
	require.Equal(t, "bad_request", errCode(body))
	status, body, _ = h.api(method, path, token, `{"bogus": 1}`)
	requireInvalid(t, status, body, "bogus")
	status, body, _ = h.api(method, path, token, tooLarge("name"))
	require.Equal(t, http.StatusRequestEntityTooLarge, status)
	require.Equal(t, "too_large", errCode(body))
}

func TestAPI_ReferenceAuth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tokens := map[auth.Scope]string{}
	for _, sc := range []auth.Scope{auth.ScopeRead, auth.ScopeIngest, auth.ScopeAdmin} {
		tokens[sc] = h.token(h.a, sc)
	}
	for _, ep := range referenceEndpoints {
		name := ep.method + " " + ep.path
		status, body, hdr := h.api(ep.method, ep.path, "", ep.body)
		require.Equal(t, http.StatusUnauthorized, status, name)
		require.Equal(t, "unauthenticated", errCode(body), name)
		require.Contains(t, hdr.Get("WWW-Authenticate"), "Bearer", name)
		if ep.method == "GET" {
			for sc, tok := range tokens {
				status, _, _ := h.api(ep.method, ep.path, tok, nil)
				require.Equal(t, http.StatusOK, status, "%s reads with scope %s", name, sc)
			}
			continue
		}
		for _, sc := range []auth.Scope{auth.ScopeRead, auth.ScopeIngest} {
			status, body, _ := h.api(ep.method, ep.path, tokens[sc], ep.body)
			require.Equal(t, http.StatusForbidden, status, "%s with scope %s", name, sc)
			require.Equal(t, "forbidden", errCode(body))
			require.Contains(t, body["error"].(map[string]any)["message"], `"admin"`)
		}
		status, body, _ = h.api(ep.method, ep.path, tokens[auth.ScopeAdmin], ep.body)
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, "%s with scope admin: %v", name, body)
	}

	t.Run("NotFound", func(t *testing.T) {
		// These endpoints take no id in the path; anything below them is not an endpoint.
		for _, path := range []string{"/rejection-reasons/no_budget", "/segments/smb", "/routing-rules/1", "/targets/2026-10"} {
			status, body, _ := h.api("GET", path, tokens[auth.ScopeAdmin], nil)
			require.Equal(t, http.StatusNotFound, status, path)
			require.Equal(t, "not_found", errCode(body), path)
		}
		status, _, _ := h.api("DELETE", "/segments", tokens[auth.ScopeAdmin], nil)
		require.Equal(t, http.StatusMethodNotAllowed, status)
		status, _, _ = h.api("GET", "/calendars/"+h.a.ID.String(), tokens[auth.ScopeAdmin], nil)
		require.Equal(t, http.StatusMethodNotAllowed, status, "a calendar is replaced with PUT, listed with GET /calendars")
	})

	t.Run("WritesAreAudited", func(t *testing.T) {
		entries, err := h.db.Store.FindAuditEntries(context.Background(), h.a.ID, "", 100)
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, e := range entries {
			if e.ActorType == auth.ActorToken {
				seen[e.Action] = true
			}
		}
		for _, action := range []string{"reason.created", "segments.replaced", "routing.replaced", "targets.set", "qualification.set", "calendar.created"} {
			require.True(t, seen[action], "audit entry %s by the token", action)
		}
	})
}

func TestAPI_RejectionReasons(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.token(h.a, auth.ScopeAdmin)

	t.Run("List", func(t *testing.T) {
		status, body, _ := h.api("GET", "/rejection-reasons", admin, nil)
		require.Equal(t, http.StatusOK, status)
		require.Nil(t, body["next_cursor"])
		data := body["data"].([]any)
		require.Len(t, data, 8)
		require.Equal(t, map[string]any{"code": "bad_data", "label": "Bad or fake contact data"}, data[0], "by code")

		var codes []string
		cursor := ""
		for range 10 {
			path := "/rejection-reasons?limit=3"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			status, body, _ := h.api("GET", path, admin, nil)
			require.Equal(t, http.StatusOK, status)
			for _, r := range body["data"].([]any) {
				codes = append(codes, r.(map[string]any)["code"].(string))
			}
			if body["next_cursor"] == nil {
				break
			}
			cursor = body["next_cursor"].(string)
		}
		require.Len(t, codes, 8, "paging visits every reason once")
		for _, bad := range []string{"?limit=0", "?limit=501", "?cursor=!!"} {
			status, body, _ := h.api("GET", "/rejection-reasons"+bad, admin, nil)
			requireInvalid(t, status, body)
		}
	})

	t.Run("Create", func(t *testing.T) {
		status, body, _ := h.api("POST", "/rejection-reasons", admin, map[string]any{"code": " Wrong_Region ", "label": "Outside our regions"})
		require.Equal(t, http.StatusCreated, status, "%v", body)
		require.Equal(t, map[string]any{"code": "wrong_region", "label": "Outside our regions"}, body)
		_, body, _ = h.api("GET", "/rejection-reasons", admin, nil)
		require.Len(t, body["data"], 9)
	})

	t.Run("Invalid", func(t *testing.T) {
		status, body, _ := h.api("POST", "/rejection-reasons", admin, map[string]any{"code": "no_budget", "label": "Again"})
		requireInvalid(t, status, body, "code")
		require.Equal(t, "exists already", errFields(body)["code"])
		status, body, _ = h.api("POST", "/rejection-reasons", admin, map[string]any{"code": "no budget", "label": ""})
		requireInvalid(t, status, body, "code", "label")
		status, body, _ = h.api("POST", "/rejection-reasons", admin, map[string]any{"code": 7, "label": "Seven"})
		requireInvalid(t, status, body, "code")
		requireBodyErrors(t, h, "POST", "/rejection-reasons", admin)
	})

	t.Run("IdempotencyKey", func(t *testing.T) {
		req := map[string]any{"code": "price", "label": "Too expensive"}
		status, first, _ := h.api("POST", "/rejection-reasons", admin, req, "Idempotency-Key", "reason-price")
		require.Equal(t, http.StatusCreated, status)
		status, again, hdr := h.api("POST", "/rejection-reasons", admin, req, "Idempotency-Key", "reason-price")
		require.Equal(t, http.StatusCreated, status, "the first answer again, not a duplicate error")
		require.Equal(t, first, again)
		require.Equal(t, "true", hdr.Get("Idempotent-Replayed"))
	})
}

func TestAPI_Segments(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.token(h.a, auth.ScopeAdmin)
	ingest := h.token(h.a, auth.ScopeIngest)

	status, body, _ := h.api("GET", "/segments", ingest, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"data": []any{"smb", "mid", "enterprise"}, "next_cursor": nil}, body)

	t.Run("Replace", func(t *testing.T) {
		status, body, _ := h.api("PUT", "/segments", admin, map[string]any{"segments": []string{"Enterprise", "mid-market", "smb", "mid"}})
		require.Equal(t, http.StatusOK, status, "%v", body)
		require.Equal(t, map[string]any{"segments": []any{"enterprise", "mid-market", "smb", "mid"}}, body)
		_, body, _ = h.api("GET", "/segments?limit=2", admin, nil)
		require.Equal(t, []any{"enterprise", "mid-market"}, body["data"])
		require.NotNil(t, body["next_cursor"])
	})

	t.Run("InUse", func(t *testing.T) {
		status, body, _ := h.api("POST", "/leads", ingest, map[string]any{"email": "big@example.com", "segment": "enterprise"})
		require.Equal(t, http.StatusCreated, status, "%v", body)
		status, body, _ = h.api("PUT", "/segments", admin, map[string]any{"segments": []string{"smb", "mid"}})
		requireInvalid(t, status, body, "segments")
		require.Contains(t, errFields(body)["segments"], "enterprise is used by 1 lead and cannot be removed")
		require.Contains(t, body["error"].(map[string]any)["message"], "enterprise")
		_, body, _ = h.api("GET", "/segments", admin, nil)
		require.Equal(t, []any{"enterprise", "mid-market", "smb", "mid"}, body["data"], "nothing changed")
	})

	t.Run("Invalid", func(t *testing.T) {
		status, body, _ := h.api("PUT", "/segments", admin, map[string]any{"segments": []string{"smb", "Big Co", "SMB"}})
		requireInvalid(t, status, body, "segments.1", "segments.2")
		status, body, _ = h.api("PUT", "/segments", admin, map[string]any{})
		requireInvalid(t, status, body, "segments")
		status, body, _ = h.api("PUT", "/segments", admin, map[string]any{"segments": "smb"})
		requireInvalid(t, status, body, "segments")
		requireBodyErrors(t, h, "PUT", "/segments", admin)
	})
}

func TestAPI_RoutingRules(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.token(h.a, auth.ScopeAdmin)
	betaAdmin := h.token(h.b, auth.ScopeAdmin)
	_, ent, _ := h.api("POST", "/teams", admin, map[string]any{"name": "Enterprise", "side": "sales"})
	_, smb, _ := h.api("POST", "/teams", admin, map[string]any{"name": "SMB", "side": "sales"})
	_, mkt, _ := h.api("POST", "/teams", admin, map[string]any{"name": "Demand gen", "side": "marketing"})
	_, beta, _ := h.api("POST", "/teams", betaAdmin, map[string]any{"name": "Beta sales", "side": "sales"})

	status, body, _ := h.api("GET", "/routing-rules", admin, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"rules": []any{}, "default_team_id": nil}, body, "a new tenant has no rules")

	t.Run("Replace", func(t *testing.T) {
		status, body, _ := h.api("PUT", "/routing-rules", admin, map[string]any{
			"rules": []any{
				map[string]any{"match": map[string]any{"segment": "Enterprise", "source": nil, "country": "de"}, "team_id": ent["id"]},
				map[string]any{"match": map[string]any{"segment": "enterprise"}, "team_id": ent["id"]},
				map[string]any{"match": map[string]any{"source": "paid_search", "country": ""}, "team_id": smb["id"]},
			},
			"default_team_id": smb["id"],
		})
		require.Equal(t, http.StatusOK, status, "%v", body)
		want := map[string]any{
			"rules": []any{
				map[string]any{"match": map[string]any{"segment": "enterprise", "source": nil, "country": "DE"}, "team_id": ent["id"]},
				map[string]any{"match": map[string]any{"segment": "enterprise", "source": nil, "country": nil}, "team_id": ent["id"]},
				map[string]any{"match": map[string]any{"segment": nil, "source": "paid_search", "country": nil}, "team_id": smb["id"]},
			},
			"default_team_id": smb["id"],
		}
		require.Equal(t, want, body)
		_, got, _ := h.api("GET", "/routing-rules", h.token(h.a, auth.ScopeIngest), nil)
		require.Equal(t, want, got)
	})

	t.Run("FirstMatchWins", func(t *testing.T) {
		ingest := h.token(h.a, auth.ScopeIngest)
		rep := h.member(h.a, "rep@alpha.test", tenant.RoleRep)
		_, err := h.db.Store.UpdateMember(context.Background(), h.a.ID, h.a.Admin(), rep.ID, auth.MemberUpdate{TeamID: uuidPtr(t, ent["id"])}, h.clock.Now())
		require.NoError(t, err)
		status, l, _ := h.api("POST", "/leads", ingest, map[string]any{"email": "de@example.com", "segment": "enterprise", "country": "DE", "source": "paid_search"})
		require.Equal(t, http.StatusCreated, status)
		status, moved, _ := h.api("POST", "/leads/"+l["id"].(string)+"/transitions", ingest, map[string]any{"to": "mql"})
		require.Equal(t, http.StatusOK, status, "%v", moved)
		require.Equal(t, ent["id"], moved["team_id"], "rule 1 wins over rule 3")
		require.Equal(t, rep.ID.String(), moved["owner_id"])
	})

	t.Run("Invalid", func(t *testing.T) {
		// Ids that do not parse are reported with the rules' own problems.
		status, body, _ := h.api("PUT", "/routing-rules", admin, map[string]any{
			"rules": []any{
				map[string]any{"match": map[string]any{"segment": "enterprise"}, "team_id": ent["id"]},
				map[string]any{"match": map[string]any{"segment": "enterprise", "source": "events"}, "team_id": ent["id"]},
				map[string]any{"match": map[string]any{"source": "webinar"}, "team_id": "not-a-uuid"},
				map[string]any{"match": map[string]any{"source": "x"}},
			},
		})
		requireInvalid(t, status, body, "rules.1", "rules.2.team_id", "rules.3.team_id")
		f := errFields(body)
		require.Contains(t, f["rules.1"], "can never match: rule 1 (segment = enterprise)")
		require.Equal(t, "is not a valid id", f["rules.2.team_id"])
		require.Equal(t, "is required: the team this rule sends leads to", f["rules.3.team_id"])

		// Ids that parse are checked against the tenant: another tenant's
		// team is not one of ours, in a rule or as the default.
		status, body, _ = h.api("PUT", "/routing-rules", admin, map[string]any{
			"rules": []any{
				map[string]any{"match": map[string]any{"segment": "enterprise"}, "team_id": ent["id"]},
				map[string]any{"match": map[string]any{"segment": "enterprise", "source": "events"}, "team_id": ent["id"]},
				map[string]any{"match": map[string]any{"segment": "galactic"}, "team_id": ent["id"]},
				map[string]any{"match": map[string]any{"source": "events"}, "team_id": beta["id"]},
				map[string]any{"match": map[string]any{"source": "webinar"}, "team_id": mkt["id"]},
				map[string]any{"match": map[string]any{"country": "Germany"}, "team_id": ent["id"]},
			},
			"default_team_id": beta["id"],
		})
		requireInvalid(t, status, body, "rules.1", "rules.2.segment", "rules.3.team_id", "rules.4.team_id", "rules.5.country", "default_team_id")
		f = errFields(body)
		require.Equal(t, "must be one of smb, mid, enterprise", f["rules.2.segment"])
		require.Equal(t, "is not a team of this tenant", f["rules.3.team_id"])
		require.Contains(t, f["rules.4.team_id"], "marketing team")
		require.Equal(t, "is not a team of this tenant", f["default_team_id"])

		status, body, _ = h.api("PUT", "/routing-rules", admin, map[string]any{
			"rules": []any{map[string]any{"match": map[string]any{"region": "EMEA"}, "team_id": ent["id"]}}})
		requireInvalid(t, status, body, "region")
		status, body, _ = h.api("PUT", "/routing-rules", admin, map[string]any{"default_team_id": nil})
		requireInvalid(t, status, body, "rules")
		requireBodyErrors(t, h, "PUT", "/routing-rules", admin)

		_, got, _ := h.api("GET", "/routing-rules", admin, nil)
		require.Len(t, got["rules"], 3, "nothing changed")
	})

	t.Run("OtherTenantNotShown", func(t *testing.T) {
		_, got, _ := h.api("GET", "/routing-rules", betaAdmin, nil)
		require.Equal(t, map[string]any{"rules": []any{}, "default_team_id": nil}, got)
		status, body, _ := h.api("PUT", "/routing-rules", betaAdmin, map[string]any{"rules": []any{map[string]any{"team_id": ent["id"]}}})
		requireInvalid(t, status, body, "rules.0.team_id")
	})
}

// uuidPtr parses an id the API returned.
func uuidPtr(t *testing.T, v any) *uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(v.(string))
	require.NoError(t, err)
	return &id
}

func TestAPI_Targets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.token(h.a, auth.ScopeAdmin)

	status, body, _ := h.api("GET", "/targets", admin, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"data": []any{}, "next_cursor": nil}, body)

	t.Run("Set", func(t *testing.T) {
		status, body, _ := h.api("PUT", "/targets", admin, `{"targets": [
			{"period": "2026-10", "revenue": 500000, "segment": null},
			{"period": "2026-10", "revenue": 125000.5, "segment": "Enterprise"},
			{"period": "2026-11", "revenue": "550000.25"}]}`)
		require.Equal(t, http.StatusOK, status, "%v", body)
		require.Equal(t, map[string]any{"targets": []any{
			map[string]any{"period": "2026-10", "segment": nil, "revenue": 500000.0},
			map[string]any{"period": "2026-10", "segment": "enterprise", "revenue": 125000.5},
			map[string]any{"period": "2026-11", "segment": nil, "revenue": 550000.25},
		}}, body)
		targets, err := h.db.Store.FindTargets(context.Background(), h.a.ID)
		require.NoError(t, err)
		require.Equal(t, lead.Cents(12500050), targets[1].Revenue, "exact cents, no float rounding")

		// revenue null removes; targets not named stay.
		status, body, _ = h.api("PUT", "/targets", admin, `{"targets": [{"period": "2026-10", "segment": "enterprise", "revenue": null},
			{"period": "2026-12", "revenue": 0.1}]}`)
		require.Equal(t, http.StatusOK, status, "%v", body)
		require.Equal(t, []any{
			map[string]any{"period": "2026-10", "segment": nil, "revenue": 500000.0},
			map[string]any{"period": "2026-11", "segment": nil, "revenue": 550000.25},
			map[string]any{"period": "2026-12", "segment": nil, "revenue": 0.1},
		}, body["targets"])
		_, body, _ = h.api("GET", "/targets?limit=2", h.token(h.a, auth.ScopeRead), nil)
		require.Len(t, body["data"], 2)
		require.NotNil(t, body["next_cursor"])
	})

	t.Run("Invalid", func(t *testing.T) {
		status, body, _ := h.api("PUT", "/targets", admin, `{"targets": [
			{"period": "2026-13", "revenue": 1},
			{"period": "2026-10", "revenue": 1.234},
			{"period": "2026-10", "revenue": -5},
			{"period": "2026-10", "revenue": 5, "segment": "galactic"},
			{"period": "2026-10"},
			{"period": "2026-10", "revenue": true}]}`)
		requireInvalid(t, status, body, "targets.1.revenue", "targets.4.revenue", "targets.5.revenue")
		require.Contains(t, errFields(body)["targets.1.revenue"], "at most two decimals")
		status, body, _ = h.api("PUT", "/targets", admin, `{"targets": [
			{"period": "2026-13", "revenue": 1},
			{"period": "2026-10", "revenue": -5},
			{"period": "2026-10", "revenue": 5, "segment": "galactic"},
			{"period": "2026-11", "revenue": 1}, {"period": "2026-11", "revenue": 2}]}`)
		requireInvalid(t, status, body, "targets.0.period", "targets.1.revenue", "targets.2.segment", "targets.4")
		status, body, _ = h.api("PUT", "/targets", admin, `{"targets": [{"period": "2026-10", "revenue": 1, "currency": "USD"}]}`)
		requireInvalid(t, status, body, "currency")
		status, body, _ = h.api("PUT", "/targets", admin, `{}`)
		requireInvalid(t, status, body, "targets")
		requireBodyErrors(t, h, "PUT", "/targets", admin)
		_, body, _ = h.api("GET", "/targets", admin, nil)
		require.Len(t, body["data"], 3, "nothing changed")
	})

	t.Run("OtherTenantNotShown", func(t *testing.T) {
		_, body, _ := h.api("GET", "/targets", h.token(h.b, auth.ScopeRead), nil)
		require.Empty(t, body["data"])
	})
}

func TestAPI_QualificationRule(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.token(h.a, auth.ScopeAdmin)
	none := map[string]any{"min_score": nil, "require_icp_fit": false, "page_views": nil}

	status, body, _ := h.api("GET", "/qualification-rule", h.token(h.a, auth.ScopeIngest), nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, none, body, "a new tenant has no rule")

	full := map[string]any{"min_score": 70.0, "require_icp_fit": true,
		"page_views": map[string]any{"url_contains": "/pricing", "count": 3.0, "within_hours": 48.0}}

	t.Run("Set", func(t *testing.T) {
		status, body, _ := h.api("PUT", "/qualification-rule", admin, full)
		require.Equal(t, http.StatusOK, status, "%v", body)
		require.Equal(t, full, body)
		_, body, _ = h.api("GET", "/qualification-rule", admin, nil)
		require.Equal(t, full, body)
	})

	t.Run("PartsLeftOutKeepTheirValue", func(t *testing.T) {
		status, body, _ := h.api("PUT", "/qualification-rule", admin, map[string]any{"min_score": 80})
		require.Equal(t, http.StatusOK, status, "%v", body)
		require.Equal(t, 80.0, body["min_score"])
		require.Equal(t, true, body["require_icp_fit"])
		require.Equal(t, full["page_views"], body["page_views"])

		status, body, _ = h.api("PUT", "/qualification-rule", admin, map[string]any{"page_views": nil})
		require.Equal(t, http.StatusOK, status)
		require.Nil(t, body["page_views"], "null switches the intent part off")
		require.Equal(t, 80.0, body["min_score"])

		status, body, _ = h.api("PUT", "/qualification-rule", admin, map[string]any{"min_score": nil, "require_icp_fit": nil})
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, none, body, "every part off")
	})

	t.Run("Invalid", func(t *testing.T) {
		status, body, _ := h.api("PUT", "/qualification-rule", admin, map[string]any{"min_score": 101,
			"page_views": map[string]any{"url_contains": " ", "count": 0, "within_hours": 5000}})
		requireInvalid(t, status, body, "min_score", "page_views.url_contains", "page_views.count", "page_views.within_hours")
		status, body, _ = h.api("PUT", "/qualification-rule", admin, map[string]any{"page_views": map[string]any{"url": "/pricing", "count": 3, "within_hours": 48}})
		requireInvalid(t, status, body, "page_views.url")
		status, body, _ = h.api("PUT", "/qualification-rule", admin, map[string]any{"page_views": map[string]any{"url_contains": "/pricing", "count": "3", "within_hours": 48}})
		requireInvalid(t, status, body, "page_views.count")
		status, body, _ = h.api("PUT", "/qualification-rule", admin, map[string]any{"page_views": "pricing"})
		requireInvalid(t, status, body, "page_views")
		status, body, _ = h.api("PUT", "/qualification-rule", admin, map[string]any{"min_score": "high"})
		requireInvalid(t, status, body, "min_score")
		status, body, _ = h.api("PUT", "/qualification-rule", admin, map[string]any{"require_icp_fit": "yes"})
		requireInvalid(t, status, body, "require_icp_fit")
		requireBodyErrors(t, h, "PUT", "/qualification-rule", admin)
		_, body, _ = h.api("GET", "/qualification-rule", admin, nil)
		require.Equal(t, none, body, "nothing changed")
	})

	t.Run("OtherTenantNotShown", func(t *testing.T) {
		status, _, _ := h.api("PUT", "/qualification-rule", admin, full)
		require.Equal(t, http.StatusOK, status)
		_, body, _ := h.api("GET", "/qualification-rule", h.token(h.b, auth.ScopeRead), nil)
		require.Equal(t, none, body)
	})
}

func TestAPI_CalendarCreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.token(h.a, auth.ScopeAdmin)

	t.Run("Create", func(t *testing.T) {
		status, body, _ := h.api("POST", "/calendars", admin, map[string]any{
			"name": " US East ", "time_zone": "America/New_York", "always_open": false,
			"hours": map[string]any{"mon": [][]string{{"09:00", "12:00"}, {"13:00", "17:30"}}, "fri": [][]string{{"20:00", "24:00"}}},
			"holidays": []any{
				map[string]any{"date": "2026-12-25", "name": "Christmas"},
				map[string]any{"date": "2026-11-26", "name": "Thanksgiving"},
			},
		})
		require.Equal(t, http.StatusCreated, status, "%v", body)
		require.NotEmpty(t, body["id"])
		require.Equal(t, "US East", body["name"])
		require.Equal(t, "America/New_York", body["time_zone"])
		require.Equal(t, false, body["is_default"])
		require.Equal(t, map[string]any{"mon": []any{[]any{"09:00", "12:00"}, []any{"13:00", "17:30"}}, "fri": []any{[]any{"20:00", "24:00"}}}, body["hours"])
		require.Equal(t, []any{
			map[string]any{"date": "2026-11-26", "name": "Thanksgiving"},
			map[string]any{"date": "2026-12-25", "name": "Christmas"},
		}, body["holidays"], "by date")

		cals, err := h.db.Store.FindCalendars(context.Background(), h.a.ID)
		require.NoError(t, err)
		require.Len(t, cals, 2)
		cals, err = h.db.Store.FindCalendars(context.Background(), h.b.ID)
		require.NoError(t, err)
		require.Len(t, cals, 1, "beta sees only its own default calendar")

		status, body, _ = h.api("POST", "/calendars", admin, map[string]any{"name": "Support", "time_zone": "UTC", "always_open": true})
		require.Equal(t, http.StatusCreated, status, "%v", body)
		require.Equal(t, map[string]any{}, body["hours"])
		require.Equal(t, []any{}, body["holidays"])
	})

	t.Run("Invalid", func(t *testing.T) {
		status, body, _ := h.api("POST", "/calendars", admin, map[string]any{
			"name": "", "time_zone": "Mars/Olympus",
			"hours": map[string]any{
				"mon": [][]string{{"09:00", "13:00"}, {"12:00", "17:00"}},
				"tue": [][]string{{"9am", "5pm"}},
				"wed": [][]string{{"17:00", "09:00"}},
				"thu": [][]string{{"09:00"}},
				"fri": [][]string{{"09:00", "24:30"}},
				"xyz": [][]string{{"09:00", "17:00"}},
			},
			"holidays": []any{map[string]any{"date": "25.12.2026", "name": "Christmas"}, map[string]any{"date": "2026-01-01", "name": ""}},
		})
		requireInvalid(t, status, body, "name", "time_zone", "hours.mon", "hours.tue", "hours.wed", "hours.thu", "hours.fri", "hours.xyz", "holidays.0", "holidays.1")
		f := errFields(body)
		require.Contains(t, f["hours.mon"], "overlap")
		require.Contains(t, f["hours.wed"], "ends before it starts")
		status, body, _ = h.api("POST", "/calendars", admin, map[string]any{"name": "Closed", "time_zone": "UTC"})
		requireInvalid(t, status, body, "hours")
		status, body, _ = h.api("POST", "/calendars", admin, map[string]any{"name": "Dup", "time_zone": "UTC", "always_open": true,
			"holidays": []any{map[string]any{"date": "2026-01-01", "name": "A"}, map[string]any{"date": "2026-01-01", "name": "B"}}})
		requireInvalid(t, status, body, "holidays.1")
		status, body, _ = h.api("POST", "/calendars", admin, map[string]any{"name": "T", "time_zone": "UTC", "hours": map[string]any{"mon": "09:00-17:00"}})
		requireInvalid(t, status, body)
		requireBodyErrors(t, h, "POST", "/calendars", admin)
	})
}

func TestAPI_ReferenceTenantIsolation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.token(h.a, auth.ScopeAdmin)
	betaRead := h.token(h.b, auth.ScopeRead)
	_, team, _ := h.api("POST", "/teams", admin, map[string]any{"name": "Alpha sales", "side": "sales"})
	for _, w := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/rejection-reasons", map[string]any{"code": "alpha_only", "label": "Alpha only"}},
		{"PUT", "/segments", map[string]any{"segments": []string{"alpha"}}},
		{"PUT", "/routing-rules", map[string]any{"rules": []any{map[string]any{"team_id": team["id"]}}, "default_team_id": team["id"]}},
		{"PUT", "/targets", map[string]any{"targets": []any{map[string]any{"period": "2026-10", "revenue": 1}}}},
		{"PUT", "/qualification-rule", map[string]any{"min_score": 50}},
	} {
		status, body, _ := h.api(w.method, w.path, admin, w.body)
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, "%s %s: %v", w.method, w.path, body)
	}

	_, body, _ := h.api("GET", "/rejection-reasons", betaRead, nil)
	require.NotContains(t, body["data"], map[string]any{"code": "alpha_only", "label": "Alpha only"})
	_, body, _ = h.api("GET", "/segments", betaRead, nil)
	require.Equal(t, []any{"smb", "mid", "enterprise"}, body["data"])
	_, body, _ = h.api("GET", "/routing-rules", betaRead, nil)
	require.Equal(t, map[string]any{"rules": []any{}, "default_team_id": nil}, body)
	_, body, _ = h.api("GET", "/targets", betaRead, nil)
	require.Empty(t, body["data"])
	_, body, _ = h.api("GET", "/qualification-rule", betaRead, nil)
	require.Nil(t, body["min_score"])

	// The pages of beta's admin show none of it either.
	b := h.browser()
	b.login(h.b.AdminEmail, postgrestest.Password)
	require.NotContains(t, b.get("/settings/reasons").text("#reasons-table"), "alpha_only")
	require.NotContains(t, b.get("/settings/segments").text("#segments-table"), "alpha")
	require.Zero(t, b.get("/settings/routing").doc.Find("#routing-summary [data-rule-summary]").Length())
	require.Contains(t, b.get("/settings/qualification").text("#qualification-summary"), "No rule is set")
	p := b.get("/settings/targets")
	require.Empty(t, p.doc.Find(`#targets-table input[name="targets.0.period"]`).AttrOr("value", ""))
}

// Settings pages.

func TestSettings_ReferenceRoles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.member(h.a, "rep@alpha.test", tenant.RoleRep)
	h.member(h.a, "mkt@alpha.test", tenant.RoleMarketing)
	pages := []string{"/settings/segments", "/settings/reasons", "/settings/routing", "/settings/qualification", "/settings/targets"}
	for _, email := range []string{"rep@alpha.test", "mkt@alpha.test"} {
		b := h.browser()
		b.login(email, postgrestest.Password)
		for _, path := range pages {
			require.Equal(t, http.StatusForbidden, b.get(path).status, "%s GET %s", email, path)
			require.Equal(t, http.StatusForbidden, b.post(path, url.Values{"segments": {"x"}, "label": {"X"}}).status, "%s POST %s", email, path)
		}
	}
	_, err := h.db.Store.FindSegments(context.Background(), h.a.ID)
	require.NoError(t, err)
	segs, _ := h.db.Store.FindSegments(context.Background(), h.a.ID)
	require.Equal(t, []string{"smb", "mid", "enterprise"}, segs, "nothing changed")

	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)
	for _, path := range pages {
		p := b.get(path)
		require.Equal(t, http.StatusOK, p.status, path)
		require.Equal(t, path, p.doc.Find(`.tabs a[aria-current="page"]`).AttrOr("href", ""), "the tab of %s is active", path)
		require.Zero(t, p.doc.Find(".tabs a.active .badge").Length(), "%s is built", path)
	}
}

func TestSettings_Segments(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ingest := h.token(h.a, auth.ScopeIngest)
	status, _, _ := h.api("POST", "/leads", ingest, map[string]any{"email": "big@example.com", "segment": "enterprise"})
	require.Equal(t, http.StatusCreated, status)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)

	p := b.get("/settings/segments")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "smb\nmid\nenterprise", p.doc.Find("#segments-input").Text())
	require.Equal(t, "1", strings.TrimSpace(p.doc.Find(`#segments-table tr[data-segment="enterprise"] td.num`).Last().Text()), "leads per segment")

	p = b.post("/settings/segments", url.Values{"segments": {"smb\n\nMid Market\nenterprise\nsmb"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	problems := p.text("#err-segments")
	require.Contains(t, problems, "Line 3 (Mid Market): must be 1–50 lower-case letters")
	require.Contains(t, problems, "Line 5 (smb): smb is listed twice")
	require.Equal(t, "smb\n\nMid Market\nenterprise\nsmb", p.doc.Find("#segments-input").Text(), "what was typed comes back")

	p = b.post("/settings/segments", url.Values{"segments": {"smb\nmid"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.text("#err-segments"), "enterprise is used by 1 lead and cannot be removed")

	p = b.post("/settings/segments", url.Values{"segments": {"enterprise\r\nmid-market\r\nsmb\r\n"}})
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, "/settings/segments", p.header.Get("Location"))
	p = b.get("/settings/segments")
	require.Contains(t, p.text("#flash"), "Segments saved: enterprise, mid-market, smb.")
	var order []string
	p.doc.Find("#segments-table tr[data-segment]").Each(func(_ int, s *goquery.Selection) { order = append(order, s.AttrOr("data-segment", "")) })
	require.Equal(t, []string{"enterprise", "mid-market", "smb"}, order)
	_, body, _ := h.api("GET", "/segments", ingest, nil)
	require.Equal(t, []any{"enterprise", "mid-market", "smb"}, body["data"])
}

func TestSettings_Reasons(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)

	p := b.get("/settings/reasons")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, 8, p.doc.Find("#reasons-table tbody tr").Length())

	p = b.post("/settings/reasons", url.Values{"label": {""}, "code": {"Bad Code"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "must not be blank", p.text("#err-label"))
	require.NotEmpty(t, p.text("#err-code"))
	require.Equal(t, "Bad Code", p.doc.Find("#reason-code").AttrOr("value", ""))

	p = b.post("/settings/reasons", url.Values{"label": {"No budget"}, "code": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "the code made from the label, no_budget, exists already: type another", p.text("#err-code"))

	p = b.post("/settings/reasons", url.Values{"label": {"Chose to build in-house (2027)"}, "code": {""}})
	require.Equal(t, http.StatusSeeOther, p.status)
	p = b.get("/settings/reasons")
	require.Contains(t, p.text("#flash"), "(chose_to_build_in_house_2027) added")
	require.Contains(t, p.text(`#reasons-table tr[data-reason="chose_to_build_in_house_2027"]`), "Chose to build in-house (2027)")

	p = b.post("/settings/reasons", url.Values{"label": {"Price"}, "code": {"too_expensive"}})
	require.Equal(t, http.StatusSeeOther, p.status)
	reasons, err := h.db.Store.FindReasons(context.Background(), h.a.ID)
	require.NoError(t, err)
	require.Len(t, reasons, 10)
}

func TestSettings_Routing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)

	p := b.get("/settings/routing")
	require.Equal(t, http.StatusOK, p.status)
	require.NotEmpty(t, p.text("#routing-no-teams"), "no sales team yet")
	require.Contains(t, p.text("#routing-summary-default"), "no team")

	ent, err := h.db.Store.CreateTeam(ctx, h.a.ID, h.a.Admin(), tenant.TeamInput{Name: "Enterprise", Side: tenant.SideSales}, h.clock.Now())
	require.NoError(t, err)
	smb, err := h.db.Store.CreateTeam(ctx, h.a.ID, h.a.Admin(), tenant.TeamInput{Name: "SMB", Side: tenant.SideSales}, h.clock.Now())
	require.NoError(t, err)
	beta, err := h.db.Store.CreateTeam(ctx, h.b.ID, h.b.Admin(), tenant.TeamInput{Name: "Beta", Side: tenant.SideSales}, h.clock.Now())
	require.NoError(t, err)

	p = b.get("/settings/routing")
	require.Zero(t, p.doc.Find("#routing-no-teams").Length())
	require.Equal(t, 1, p.doc.Find("#routing-table [data-rule-row]").Length(), "one empty row for a new rule")

	form := func(op string, rows ...[4]string) url.Values {
		v := url.Values{"op": {op}, "rows": {strconv.Itoa(len(rows))}, "default_team_id": {smb.ID.String()}}
		for i, r := range rows {
			v.Set("rules."+strconv.Itoa(i)+".segment", r[0])
			v.Set("rules."+strconv.Itoa(i)+".source", r[1])
			v.Set("rules."+strconv.Itoa(i)+".country", r[2])
			v.Set("rules."+strconv.Itoa(i)+".team_id", r[3])
		}
		return v
	}
	rows := [][4]string{
		{"", "paid_search", "", smb.ID.String()},
		{"enterprise", "", "de", ent.ID.String()},
		{"", "", "", ""},
	}

	t.Run("EditWithoutSaving", func(t *testing.T) {
		p := b.post("/settings/routing", form("add", rows...))
		require.Equal(t, http.StatusOK, p.status)
		require.Equal(t, 4, p.doc.Find("#routing-table [data-rule-row]").Length())
		require.NotEmpty(t, p.text("#routing-unsaved"))
		p = b.post("/settings/routing", form("up:1", rows...))
		require.Equal(t, http.StatusOK, p.status)
		require.Equal(t, "enterprise", p.doc.Find(`select[name="rules.0.segment"] option[selected]`).AttrOr("value", ""), "moved up")
		require.Equal(t, "paid_search", p.doc.Find(`input[name="rules.1.source"]`).AttrOr("value", ""))
		p = b.post("/settings/routing", form("remove:0", rows...))
		require.Equal(t, http.StatusOK, p.status)
		require.Equal(t, 2, p.doc.Find("#routing-table [data-rule-row]").Length(), "one rule and the empty row")
		rt, err := h.db.Store.FindRouting(ctx, h.a.ID)
		require.NoError(t, err)
		require.Empty(t, rt.Rules, "nothing saved yet")
		p = b.post("/settings/routing", form("remove:9", rows...))
		require.Equal(t, http.StatusBadRequest, p.status)

		// With htmx the editor alone comes back.
		p = b.post("/settings/routing", form("add", rows...), "HX-Request", "true", "X-CSRF-Token", b.csrf)
		require.Equal(t, http.StatusOK, p.status)
		require.True(t, strings.HasPrefix(p.body, `<div id="routing-editor">`), "%.80s", p.body)
	})

	t.Run("Invalid", func(t *testing.T) {
		bad := form("save",
			[4]string{"enterprise", "", "", ent.ID.String()},
			[4]string{"", "", "", ""},
			[4]string{"enterprise", "events", "", ent.ID.String()},
			[4]string{"", "webinar", "", beta.ID.String()},
			[4]string{"", "referral", "Germany", ""},
		)
		p := b.post("/settings/routing", bad)
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		require.NotEmpty(t, p.text("#form-errors"))
		require.Contains(t, p.text(`[data-field-error="rules.1"]`), "Rule 2 can never match: rule 1 (segment = enterprise)", "the empty row is dropped, so numbers match the editor")
		require.Equal(t, "is not a team of this tenant", p.text(`[data-field-error="rules.2.team_id"]`), "another tenant's team")
		require.Equal(t, "every rule needs a team", p.text(`[data-field-error="rules.3.team_id"]`))
		require.Contains(t, p.text(`[data-field-error="rules.3.country"]`), "two-letter")
		require.Equal(t, "events", p.doc.Find(`input[name="rules.1.source"]`).AttrOr("value", ""), "what was typed comes back")
		rt, err := h.db.Store.FindRouting(ctx, h.a.ID)
		require.NoError(t, err)
		require.Empty(t, rt.Rules)
	})

	t.Run("Save", func(t *testing.T) {
		p := b.post("/settings/routing", form("save", rows...))
		require.Equal(t, http.StatusSeeOther, p.status, p.text("#form-errors"))
		p = b.get("/settings/routing")
		require.Contains(t, p.text("#flash"), "Routing saved: 2 rules.")
		var summary []string
		p.doc.Find("#routing-summary-list li").Each(func(_ int, s *goquery.Selection) {
			summary = append(summary, strings.Join(strings.Fields(s.Text()), " "))
		})
		require.Equal(t, []string{
			"Leads with source = paid_search → goes to SMB",
			"Leads with segment = enterprise and country = DE → goes to Enterprise",
			"Any other lead → goes to SMB (default team)",
		}, summary)
		require.Contains(t, p.text("#routing-summary"), "first rule that matches a lead wins")
		require.Equal(t, 3, p.doc.Find("#routing-table [data-rule-row]").Length(), "two rules and the empty row")
		rt, err := h.db.Store.FindRouting(ctx, h.a.ID)
		require.NoError(t, err)
		require.Len(t, rt.Rules, 2)
		require.Equal(t, "DE", *rt.Rules[1].Country)
		require.Equal(t, smb.ID, *rt.DefaultTeamID)
	})
}

func TestSettings_Qualification(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)

	p := b.get("/settings/qualification")
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.text("#qualification-summary"), "No rule is set")
	require.Zero(t, p.doc.Find("#qual-profile-on[checked]").Length())

	p = b.post("/settings/qualification", url.Values{"profile": {"on"}, "intent": {"on"}, "url_contains": {""}, "count": {"three"}, "within_hours": {"48"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.text(`[data-field-error="min_score"]`), "give a minimum score or require an ICP fit")
	require.NotEmpty(t, p.text(`[data-field-error="page_views.url_contains"]`))
	require.Equal(t, "must be a whole number from 1 to 1000", p.text(`[data-field-error="page_views.count"]`))
	require.Equal(t, "three", p.doc.Find("#view-count").AttrOr("value", ""), "what was typed comes back")

	p = b.post("/settings/qualification", url.Values{"profile": {"on"}, "min_score": {"150"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "must be from 0 to 100", p.text(`[data-field-error="min_score"]`))

	p = b.post("/settings/qualification", url.Values{"profile": {"on"}, "min_score": {"70"}, "require_icp_fit": {"true"},
		"intent": {"on"}, "url_contains": {"/pricing"}, "count": {"3"}, "within_hours": {"48"}})
	require.Equal(t, http.StatusSeeOther, p.status, p.text("#form-errors"))
	p = b.get("/settings/qualification")
	require.Contains(t, p.text("#flash"), "Qualification rule saved.")
	require.Equal(t, "A new lead is handed off when its score is at least 70 and it fits the ideal customer profile, "+
		"or when it views pages whose URL contains “/pricing” at least 3 times within 48 hours.", p.text("#qualification-summary"))
	require.Equal(t, 1, p.doc.Find("#qual-intent-on[checked]").Length())
	require.Equal(t, "70", p.doc.Find("#min-score").AttrOr("value", ""))
	_, body, _ := h.api("GET", "/qualification-rule", h.token(h.a, auth.ScopeRead), nil)
	require.Equal(t, map[string]any{"min_score": 70.0, "require_icp_fit": true,
		"page_views": map[string]any{"url_contains": "/pricing", "count": 3.0, "within_hours": 48.0}}, body)

	// Switching the profile part off keeps the intent part; its fields are ignored.
	p = b.post("/settings/qualification", url.Values{"min_score": {"70"}, "intent": {"on"}, "url_contains": {"/demo"}, "count": {"1"}, "within_hours": {"1"}})
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, "A new lead is handed off when it views pages whose URL contains “/demo” at least once within 1 hour.",
		b.get("/settings/qualification").text("#qualification-summary"))

	p = b.post("/settings/qualification", url.Values{})
	require.Equal(t, http.StatusSeeOther, p.status)
	p = b.get("/settings/qualification")
	require.Contains(t, p.text("#flash"), "switched off")
	require.Contains(t, p.text("#qualification-summary"), "No rule is set")
}

func TestSettings_Targets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)

	p := b.get("/settings/targets")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, 3, p.doc.Find("#targets-table [data-target-row]").Length(), "three empty rows")
	require.Contains(t, p.text("#targets-table thead"), "Revenue (EUR)")

	row := func(v url.Values, i int, period, segment, revenue string) {
		n := strconv.Itoa(i)
		v.Set("targets."+n+".period", period)
		v.Set("targets."+n+".segment", segment)
		v.Set("targets."+n+".revenue", revenue)
	}
	v := url.Values{"op": {"add"}, "rows": {"3"}}
	p = b.post("/settings/targets", v)
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, 6, p.doc.Find("#targets-table [data-target-row]").Length())

	v = url.Values{"op": {"save"}, "rows": {"4"}}
	row(v, 0, "2026-10", "", "500000")
	row(v, 1, "", "", "")
	row(v, 2, "2026-13", "enterprise", "1.234")
	row(v, 3, "2026-11", "", "")
	p = b.post("/settings/targets", v)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.text(`[data-field-error="targets.2.revenue"]`), "at most two decimals")
	require.Contains(t, p.text(`[data-field-error="targets.2.period"]`), "must be a month", "every problem at once")
	require.Equal(t, "enter an amount, or tick Remove", p.text(`[data-field-error="targets.3.revenue"]`))
	require.Equal(t, "1.234", p.doc.Find(`input[name="targets.2.revenue"]`).AttrOr("value", ""))

	v = url.Values{"op": {"save"}, "rows": {"4"}}
	row(v, 0, "2026-10", "", "500000")
	row(v, 1, "", "", "")
	row(v, 2, "2026-10", "enterprise", "125000.50")
	row(v, 3, "2026-10", "", "1")
	p = b.post("/settings/targets", v)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "this month and segment are listed twice", p.text(`[data-field-error="targets.3"]`), "on the row it came from")

	v.Set("targets.3.remove", "true")
	p = b.post("/settings/targets", v)
	require.Equal(t, http.StatusSeeOther, p.status, p.text("#form-errors"))
	p = b.get("/settings/targets")
	require.Contains(t, p.text("#flash"), "Targets saved: 2 targets.")
	require.Equal(t, "2026-10", p.doc.Find(`input[name="targets.0.period"]`).AttrOr("value", ""))
	require.Equal(t, "500000.00", p.doc.Find(`input[name="targets.0.revenue"]`).AttrOr("value", ""))
	require.Equal(t, "enterprise", p.doc.Find(`select[name="targets.1.segment"] option[selected]`).AttrOr("value", ""))
	_, body, _ := h.api("GET", "/targets", h.token(h.a, auth.ScopeRead), nil)
	require.Equal(t, []any{
		map[string]any{"period": "2026-10", "segment": nil, "revenue": 500000.0},
		map[string]any{"period": "2026-10", "segment": "enterprise", "revenue": 125000.5},
	}, body["data"])

	// Ticking Remove on a saved row removes it.
	v = url.Values{"op": {"save"}, "rows": {"2"}}
	row(v, 0, "2026-10", "", "500000.00")
	row(v, 1, "2026-10", "enterprise", "125000.50")
	v.Set("targets.1.remove", "true")
	require.Equal(t, http.StatusSeeOther, b.post("/settings/targets", v).status)
	_, body, _ = h.api("GET", "/targets", h.token(h.a, auth.ScopeRead), nil)
	require.Len(t, body["data"], 1)
}

// TestBrowser_RoutingEditor drives the routing editor in headless Chromium:
// htmx swaps the editor in place for Add and the arrows, Enter in a field
// saves (never moves a row), and a save lands on the page with its flash.
func TestBrowser_RoutingEditor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ent, err := h.db.Store.CreateTeam(context.Background(), h.a.ID, h.a.Admin(), tenant.TeamInput{Name: "Enterprise", Side: tenant.SideSales}, h.clock.Now())
	require.NoError(t, err)
	smb, err := h.db.Store.CreateTeam(context.Background(), h.a.ID, h.a.Admin(), tenant.TeamInput{Name: "SMB", Side: tenant.SideSales}, h.clock.Now())
	require.NoError(t, err)
	ctx := browsertest.New(t, 60*time.Second)
	summary := func() []string {
		t.Helper()
		items, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll("#routing-summary-list li")).map(li => li.innerText.replace(/\s+/g, " ").trim())`))
		require.NoError(t, err)
		return items
	}

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), h.a.AdminEmail),
		chromedp.SendKeys(chromedp.ID("password"), postgrestest.Password),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(chromedp.ID("dashboard")),
		chromedp.Navigate(h.ts.URL+"/settings/routing"),
		chromedp.WaitVisible(chromedp.ID("routing-editor")),
		chromedp.SetValue(chromedp.CSS(`select[name="rules.0.segment"]`), "enterprise"),
		chromedp.SetValue(chromedp.CSS(`select[name="rules.0.team_id"]`), ent.ID.String()),
		chromedp.Click(chromedp.ID("routing-add")),
		chromedp.WaitVisible(chromedp.ID("routing-unsaved")),
		chromedp.SendKeys(chromedp.CSS(`input[name="rules.1.source"]`), "paid_search"),
		chromedp.SetValue(chromedp.CSS(`select[name="rules.1.team_id"]`), smb.ID.String()),
	))
	browsertest.Screenshot(t, ctx, "routing-editor-unsaved")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("routing-save")),
		// The saved page has no "unsaved" note; waiting for it to go
		// waits for the save, not for an earlier flash.
		chromedp.WaitNotPresent(chromedp.ID("routing-unsaved")),
		chromedp.WaitVisible(chromedp.CSS("#flash .flash-success")),
	))
	require.Equal(t, []string{
		"Leads with segment = enterprise → goes to Enterprise",
		"Leads with source = paid_search → goes to SMB",
		"Any other lead → goes to no team — it waits unassigned and the admins are alerted",
	}, summary())

	// The arrow moves rule 2 up in place; nothing is saved until Save.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[value="up:1"]`)),
		chromedp.WaitVisible(chromedp.ID("routing-unsaved")),
	))
	src, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="rules.0.source"]`)))
	require.NoError(t, err)
	require.Equal(t, "paid_search", src)
	require.Equal(t, "Leads with segment = enterprise → goes to Enterprise", summary()[0], "not saved yet")
	browsertest.Screenshot(t, ctx, "routing-editor-moved")

	// Enter in a text field saves (the form's first button is Save).
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name="rules.1.source"]`), "events\r"),
		chromedp.WaitNotPresent(chromedp.ID("routing-unsaved")),
		chromedp.WaitVisible(chromedp.CSS("#flash .flash-success")),
	))
	require.Equal(t, []string{
		"Leads with source = paid_search → goes to SMB",
		"Leads with segment = enterprise and source = events → goes to Enterprise",
	}, summary()[:2])
	browsertest.Screenshot(t, ctx, "routing-saved")
}
