package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
)

// noRedirect is a client that shows each redirect instead of following it.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestAPI_ContentAssets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin, ingest, read := h.token(h.a, auth.ScopeAdmin), h.token(h.a, auth.ScopeIngest), h.token(h.a, auth.ScopeRead)
	otherAdmin := h.token(h.b, auth.ScopeAdmin)

	body := map[string]any{"title": "Logistics case study", "kind": "case_study", "stage": "mql", "segment": "mid",
		"url": "https://cdn.example.com/logistics.pdf", "tags": []string{"Logistics", "EU"}}
	status, asset, _ := h.api("POST", "/content-assets", admin, body)
	require.Equal(t, http.StatusCreated, status, "%v", asset)
	require.Equal(t, []any{"logistics", "eu"}, asset["tags"])
	require.Equal(t, false, asset["archived"])
	id := asset["id"].(string)

	t.Run("Errors", func(t *testing.T) {
		status, got, _ := h.api("POST", "/content-assets", ingest, body)
		require.Equal(t, http.StatusForbidden, status, "ingest may not manage content")
		require.Equal(t, "forbidden", errCode(got))
		for _, bad := range []string{"javascript:alert(document.cookie)", "data:text/html,x", "//evil.example.com"} {
			b := map[string]any{"title": "X", "kind": "deck", "stage": "sql", "url": bad}
			status, got, _ = h.api("POST", "/content-assets", admin, b)
			require.Equal(t, http.StatusUnprocessableEntity, status, bad)
			require.Contains(t, errFields(got), "url")
		}
		status, got, _ = h.api("POST", "/content-assets", admin, map[string]any{"title": strings.Repeat("x", 201), "kind": "poster", "stage": "lost", "url": "https://x.test"})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		for _, k := range []string{"title", "kind", "stage"} {
			require.Contains(t, errFields(got), k)
		}
		status, got, _ = h.api("POST", "/content-assets", admin, map[string]any{"title": "X", "colour": "red"})
		require.Equal(t, http.StatusUnprocessableEntity, status, "unknown fields are refused")
		status, _, _ = h.api("POST", "/content-assets", admin, `{"title": `)
		require.Equal(t, http.StatusBadRequest, status)
		status, got, _ = h.api("GET", "/content-assets?kind=poster", read, nil)
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, errFields(got), "kind")
		status, _, _ = h.api("GET", "/content-assets?limit=9999", read, nil)
		require.Equal(t, http.StatusUnprocessableEntity, status)
	})

	t.Run("ListShowPatch", func(t *testing.T) {
		status, got, _ := h.api("GET", "/content-assets?q=logist&segment=mid&kind=case_study", read, nil)
		require.Equal(t, http.StatusOK, status)
		require.Len(t, got["data"], 1)
		require.Nil(t, got["next_cursor"])
		status, got, _ = h.api("GET", "/content-assets/"+id, read, nil)
		require.Equal(t, http.StatusOK, status)
		for _, k := range []string{"uses", "leads", "accepted", "opportunities", "won"} {
			require.Equal(t, float64(0), got[k], k)
		}
		status, got, _ = h.api("PATCH", "/content-assets/"+id, admin, map[string]any{"archived": true})
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, true, got["archived"])
		require.Equal(t, "Logistics case study", got["title"], "fields left out stay")
		status, got, _ = h.api("GET", "/content-assets", read, nil)
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, got["data"], "archived assets are listed with archived=true only")
		status, got, _ = h.api("GET", "/content-assets?archived=true", read, nil)
		require.Equal(t, http.StatusOK, status)
		require.Len(t, got["data"], 1)
		status, _, _ = h.api("PATCH", "/content-assets/"+id, admin, map[string]any{"archived": false})
		require.Equal(t, http.StatusOK, status)
	})

	t.Run("OtherTenant", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{{"GET", "/content-assets/" + id}, {"PATCH", "/content-assets/" + id}, {"GET", "/content-assets/not-an-id"}} {
			var b any
			if c.method == "PATCH" {
				b = map[string]any{"title": "mine now"}
			}
			status, got, _ := h.api(c.method, c.path, otherAdmin, b)
			require.Equal(t, http.StatusNotFound, status, c.path)
			require.Equal(t, "not_found", errCode(got))
		}
		status, got, _ := h.api("GET", "/content-assets", otherAdmin, nil)
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, got["data"])
	})

	t.Run("UseAndTrackedLink", func(t *testing.T) {
		status, l, _ := h.api("POST", "/leads", ingest, map[string]any{"email": "prospect@example.com", "segment": "mid"})
		require.Equal(t, http.StatusCreated, status)
		leadID := l["id"].(string)
		status, act, _ := h.api("POST", "/leads/"+leadID+"/activities", ingest, map[string]any{"kind": "content_shared", "asset_id": id})
		require.Equal(t, http.StatusCreated, status, "%v", act)
		tracked := act["tracked_url"].(string)
		sharedAt := h.clock.Now()
		require.True(t, strings.HasPrefix(tracked, "http://accord.test/c/"), tracked)
		path := strings.TrimPrefix(tracked, "http://accord.test")

		open := func(p string) *http.Response {
			resp, err := noRedirect.Get(h.ts.URL + p)
			require.NoError(t, err)
			resp.Body.Close()
			return resp
		}
		resp := open(path)
		require.Equal(t, http.StatusFound, resp.StatusCode)
		require.Equal(t, "https://cdn.example.com/logistics.pdf", resp.Header.Get("Location"))
		// Whatever is appended, the redirect goes to the asset only.
		for _, p := range []string{path + "?url=https://evil.example.com", path + "?next=//evil.example.com", path + "/../../https://evil.example.com"} {
			resp = open(p)
			if resp.StatusCode == http.StatusFound {
				require.Equal(t, "https://cdn.example.com/logistics.pdf", resp.Header.Get("Location"), p)
			} else {
				require.Equal(t, http.StatusNotFound, resp.StatusCode, p)
			}
		}
		require.Equal(t, http.StatusNotFound, open("/c/nonsense").StatusCode)
		require.Equal(t, http.StatusNotFound, open("/c/"+strings.Repeat("0", 32)+".AAAAAAAAAAAAAAAAAAAAAA").StatusCode)
		status, got, _ := h.api("GET", "/content-assets/"+id, read, nil)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, float64(1), got["opens"], "repeated opens within the hour count once")
		require.Equal(t, float64(1), got["uses"])
		require.Equal(t, float64(1), got["leads"])
		h.clock.Advance(61 * time.Minute)
		open(path)
		_, got, _ = h.api("GET", "/content-assets/"+id, read, nil)
		require.Equal(t, float64(2), got["opens"], "an hour later it counts again")

		// The metrics' content block counts the same use (DESIGN.md §5).
		around := "/metrics?from=" + sharedAt.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + sharedAt.AddDate(0, 0, 2).Format(time.DateOnly)
		status, m, _ := h.api("GET", around, read, nil)
		require.Equal(t, http.StatusOK, status, "%v", m)
		c := m["content"].(map[string]any)
		require.Equal(t, float64(1), c["active_assets"])
		require.Equal(t, float64(1), c["used_assets"])
		require.Equal(t, float64(1), c["usage_share"])

		status, tl, _ := h.api("GET", "/leads/"+leadID+"/timeline", read, nil)
		require.Equal(t, http.StatusOK, status)
		var types []string
		for _, e := range tl["data"].([]any) {
			types = append(types, e.(map[string]any)["type"].(string))
		}
		require.Contains(t, types, "content_open")

		status, _, _ = h.api("PATCH", "/content-assets/"+id, admin, map[string]any{"archived": true})
		require.Equal(t, http.StatusOK, status)
		status, got, _ = h.api("POST", "/leads/"+leadID+"/activities", ingest, map[string]any{"kind": "content_shared", "asset_id": id})
		require.Equal(t, http.StatusUnprocessableEntity, status, "an archived asset is not shared")
		require.Contains(t, errFields(got)["asset_id"], "archived")
	})
}

func TestAPI_ContentRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin, ingest, read := h.token(h.a, auth.ScopeAdmin), h.token(h.a, auth.ScopeIngest), h.token(h.a, auth.ScopeRead)
	otherAdmin := h.token(h.b, auth.ScopeAdmin)

	status, got, _ := h.api("POST", "/content-requests", ingest, map[string]any{"title": "", "objection": " "})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got), "title")
	require.Contains(t, errFields(got), "objection")
	status, _, _ = h.api("POST", "/content-requests", read, map[string]any{"title": "x", "objection": "y"})
	require.Equal(t, http.StatusForbidden, status)
	status, got, _ = h.api("POST", "/content-requests", ingest, map[string]any{"title": "x", "objection": "y", "lead_id": "nope"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got), "lead_id")

	status, req, _ := h.api("POST", "/content-requests", ingest, map[string]any{"title": "ROI calculator for mid-market",
		"objection": "Your price is too high for us", "segment": "mid"})
	require.Equal(t, http.StatusCreated, status, "%v", req)
	require.Equal(t, "open", req["status"])
	id := req["id"].(string)

	status, got, _ = h.api("PATCH", "/content-requests/"+id, admin, map[string]any{"status": "fulfilled"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got), "asset_id")
	status, _, _ = h.api("PATCH", "/content-requests/"+id, ingest, map[string]any{"status": "declined"})
	require.Equal(t, http.StatusForbidden, status)

	status, asset, _ := h.api("POST", "/content-assets", admin, map[string]any{"title": "ROI calculator", "kind": "roi_tool", "stage": "opportunity", "url": "https://example.com/roi"})
	require.Equal(t, http.StatusCreated, status)
	h.clock.Advance(3 * time.Hour)
	status, got, _ = h.api("PATCH", "/content-requests/"+id, admin, map[string]any{"status": "fulfilled", "asset_id": asset["id"], "comment": "Here it is"})
	require.Equal(t, http.StatusOK, status, "%v", got)
	require.Equal(t, "fulfilled", got["status"])
	require.Equal(t, asset["id"], got["asset_id"])
	require.Equal(t, 3.0, got["age_hours"])
	require.Len(t, got["comments"], 1)

	status, got, _ = h.api("GET", "/content-requests?status=fulfilled", read, nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, got["data"], 1)
	status, _, _ = h.api("GET", "/content-requests?status=done", read, nil)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	status, got, _ = h.api("GET", "/content-requests/"+id, read, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ROI calculator for mid-market", got["title"])

	for _, c := range []struct{ method, path string }{{"GET", "/content-requests/" + id}, {"PATCH", "/content-requests/" + id}} {
		var b any
		if c.method == "PATCH" {
			b = map[string]any{"comment": "hello"}
		}
		status, got, _ := h.api(c.method, c.path, otherAdmin, b)
		require.Equal(t, http.StatusNotFound, status, c.path)
		require.Equal(t, "not_found", errCode(got))
	}
	status, got, _ = h.api("GET", "/content-requests", otherAdmin, nil)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, got["data"])
}
