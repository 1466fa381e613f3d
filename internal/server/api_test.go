package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
)

func TestAPI_Auth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	read := h.token(h.a, auth.ScopeRead)

	t.Run("NoToken", func(t *testing.T) {
		status, body, hdr := h.api("GET", "/users", "", nil)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, "unauthenticated", errCode(body))
		require.Contains(t, hdr.Get("WWW-Authenticate"), "Bearer")
	})

	t.Run("SessionCookieIgnored", func(t *testing.T) {
		b := h.browser()
		b.login(h.a.AdminEmail, postgrestest.Password)
		req, err := http.NewRequest("GET", h.ts.URL+"/api/v1/users", nil)
		require.NoError(t, err)
		resp, err := b.c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a signed-in browser's cookie does not open the API")
	})

	t.Run("Malformed", func(t *testing.T) {
		for _, tok := range []string{"nonsense", "acd_" + strings.Repeat("f", 32) + "_" + strings.Repeat("A", 43)} {
			status, body, _ := h.api("GET", "/users", tok, nil)
			require.Equal(t, http.StatusUnauthorized, status)
			require.Equal(t, "the token is unknown or revoked", body["error"].(map[string]any)["message"])
		}
		status, _, _ := h.api("GET", "/users", "", nil, "Authorization", "Basic dXNlcjpwYXNz")
		require.Equal(t, http.StatusUnauthorized, status)
	})

	t.Run("OK", func(t *testing.T) {
		status, body, _ := h.api("GET", "/users", read, nil)
		require.Equal(t, http.StatusOK, status)
		require.Len(t, body["data"], 1)
		require.Nil(t, body["next_cursor"])
	})

	t.Run("Scopes", func(t *testing.T) {
		ingest := h.token(h.a, auth.ScopeIngest)
		status, _, _ := h.api("GET", "/users", ingest, nil)
		require.Equal(t, http.StatusOK, status, "reference data is readable with any scope (API.md)")
		status, body, _ := h.api("POST", "/users", read, map[string]any{"email": "x@alpha.test", "name": "X", "role": "rep"})
		require.Equal(t, http.StatusForbidden, status)
		require.Contains(t, body["error"].(map[string]any)["message"], `"admin"`)
		status, _, _ = h.api("POST", "/teams", ingest, map[string]any{"name": "T", "side": "sales"})
		require.Equal(t, http.StatusForbidden, status)
	})

	t.Run("Revoked", func(t *testing.T) {
		tok := h.token(h.a, auth.ScopeRead)
		// Used first, so the server has it cached: revoking still ends it at once.
		status, _, _ := h.api("GET", "/users", tok, nil)
		require.Equal(t, http.StatusOK, status)
		toks, err := h.db.Store.FindAPITokens(context.Background(), h.a.ID)
		require.NoError(t, err)
		for _, k := range toks {
			if k.Hint == auth.TokenHint(tok) {
				require.NoError(t, h.db.Store.RevokeAPIToken(context.Background(), h.a.ID, h.a.Admin(), k.ID, h.clock.Now()))
			}
		}
		status, _, _ = h.api("GET", "/users", tok, nil)
		require.Equal(t, http.StatusUnauthorized, status)
	})
}

func TestAPI_Users(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.token(h.a, auth.ScopeAdmin)
	betaAdmin := h.token(h.b, auth.ScopeAdmin)
	status, team, _ := h.api("POST", "/teams", admin, map[string]any{"name": "Enterprise", "side": "sales"})
	require.Equal(t, http.StatusCreated, status)
	_, betaTeam, _ := h.api("POST", "/teams", betaAdmin, map[string]any{"name": "Beta team", "side": "sales"})

	var userID string
	t.Run("Invite", func(t *testing.T) {
		status, body, _ := h.api("POST", "/users", admin, map[string]any{
			"email": "Ana@Alpha.test", "name": "Ana", "role": "rep", "team_id": team["id"], "time_zone": "America/New_York"})
		require.Equal(t, http.StatusCreated, status, "%v", body)
		require.Equal(t, "ana@alpha.test", body["email"])
		require.Equal(t, team["id"], body["team_id"])
		require.Equal(t, true, body["invited"])
		require.Equal(t, true, body["active"])
		require.True(t, strings.HasPrefix(body["invite_url"].(string), "http://accord.test/invite/"))
		userID = body["id"].(string)

		// The link works in a browser: it sets the password and signs in.
		b := h.browser()
		path := strings.TrimPrefix(body["invite_url"].(string), "http://accord.test")
		require.Equal(t, http.StatusOK, b.get(path).status)
	})

	t.Run("InviteInvalid", func(t *testing.T) {
		status, body, _ := h.api("POST", "/users", admin, map[string]any{"email": "nope", "name": "", "role": "boss"})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Equal(t, "invalid", errCode(body))
		f := errFields(body)
		require.Contains(t, f, "email")
		require.Contains(t, f, "name")
		require.Contains(t, f, "role")

		status, body, _ = h.api("POST", "/users", admin, map[string]any{"email": "b@alpha.test", "name": "B", "role": "rep", "team_id": betaTeam["id"]})
		require.Equal(t, http.StatusUnprocessableEntity, status, "another tenant's id inside a body")
		require.Contains(t, errFields(body), "team_id")

		status, body, _ = h.api("POST", "/users", admin, map[string]any{"email": "ana@alpha.test", "name": "Ana", "role": "rep"})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, errFields(body)["email"], "already a member")

		status, body, _ = h.api("POST", "/users", admin, map[string]any{"email": "c@alpha.test", "name": "C", "role": "rep", "password": "nope"})
		require.Equal(t, http.StatusUnprocessableEntity, status, "unknown fields are refused: no password passes the API")
		require.Contains(t, errFields(body), "password")

		status, body, _ = h.api("POST", "/users", admin, `{"email": "c@alpha.test",`)
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "bad_request", errCode(body))

		status, body, _ = h.api("POST", "/users", admin, `{"email": 5}`)
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, errFields(body), "email")

		status, body, _ = h.api("POST", "/users", admin, `{"name": "`+strings.Repeat("x", 2<<20)+`"}`)
		require.Equal(t, http.StatusRequestEntityTooLarge, status)
		require.Equal(t, "too_large", errCode(body))
	})

	t.Run("Update", func(t *testing.T) {
		status, body, _ := h.api("PATCH", "/users/"+userID, admin, map[string]any{"away": true, "role": "manager"})
		require.Equal(t, http.StatusOK, status, "%v", body)
		require.Equal(t, true, body["away"])
		require.Equal(t, "manager", body["role"])
		require.Equal(t, team["id"], body["team_id"], "fields left out keep their values")
		status, body, _ = h.api("PATCH", "/users/"+userID, admin, map[string]any{"team_id": nil})
		require.Equal(t, http.StatusOK, status)
		require.Nil(t, body["team_id"])
		status, body, _ = h.api("PATCH", "/users/"+userID, admin, map[string]any{"away": nil})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, errFields(body), "away")
	})

	t.Run("OtherTenantNotFound", func(t *testing.T) {
		status, body, _ := h.api("PATCH", "/users/"+userID, betaAdmin, map[string]any{"away": true})
		require.Equal(t, http.StatusNotFound, status)
		require.Equal(t, "not_found", errCode(body))
		status, _, _ = h.api("PATCH", "/users/not-a-uuid", admin, map[string]any{"away": true})
		require.Equal(t, http.StatusNotFound, status, "malformed ids are not found")
		_, body, _ = h.api("GET", "/users", betaAdmin, nil)
		for _, u := range body["data"].([]any) {
			require.NotEqual(t, userID, u.(map[string]any)["id"])
		}
		_, body, _ = h.api("GET", "/teams", betaAdmin, nil)
		require.Len(t, body["data"], 1)
	})

	t.Run("Paging", func(t *testing.T) {
		for _, e := range []string{"p1@alpha.test", "p2@alpha.test", "p3@alpha.test"} {
			h.member(h.a, e, tenant.RoleRep)
		}
		seen := map[string]bool{}
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			path := "/users?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			status, body, _ := h.api("GET", path, admin, nil)
			require.Equal(t, http.StatusOK, status)
			for _, u := range body["data"].([]any) {
				id := u.(map[string]any)["id"].(string)
				require.False(t, seen[id], "no user twice")
				seen[id] = true
			}
			if body["next_cursor"] == nil {
				break
			}
			cursor = body["next_cursor"].(string)
		}
		require.Len(t, seen, 5)
		for _, bad := range []string{"/users?limit=0", "/users?limit=501", "/users?limit=x", "/users?cursor=!!", "/users?cursor=bm9wZQ"} {
			status, body, _ := h.api("GET", bad, admin, nil)
			require.Equal(t, http.StatusUnprocessableEntity, status, bad)
			require.Equal(t, "invalid", errCode(body), bad)
		}
		status, body, _ := h.api("GET", "/users?cursor=%%%", admin, nil)
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "bad_request", errCode(body))
	})
}

func TestAPI_Teams(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.token(h.a, auth.ScopeAdmin)
	mgr := h.member(h.a, "mgr@alpha.test", tenant.RoleManager)
	cals, err := h.db.Store.FindCalendars(context.Background(), h.b.ID)
	require.NoError(t, err)

	status, body, _ := h.api("POST", "/teams", admin, map[string]any{"name": "SMB", "side": "sales", "manager_id": mgr.ID.String()})
	require.Equal(t, http.StatusCreated, status, "%v", body)
	require.Equal(t, mgr.ID.String(), body["manager_id"])
	require.Nil(t, body["calendar_id"], "no calendar: the tenant's default")

	status, body, _ = h.api("POST", "/teams", admin, map[string]any{"name": "X", "side": "finance"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(body), "side")
	status, body, _ = h.api("POST", "/teams", admin, map[string]any{"name": "Y", "side": "sales", "calendar_id": cals[0].ID.String()})
	require.Equal(t, http.StatusUnprocessableEntity, status, "beta's calendar")
	require.Contains(t, errFields(body), "calendar_id")
	status, _, _ = h.api("POST", "/teams", admin, map[string]any{"name": "smb", "side": "sales"})
	require.Equal(t, http.StatusUnprocessableEntity, status, "names are unique per tenant")

	status, body, _ = h.api("GET", "/nope", admin, nil)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "not_found", errCode(body))
	status, _, _ = h.api("DELETE", "/teams", admin, nil)
	require.Equal(t, http.StatusMethodNotAllowed, status)
}

func TestAPI_OpenAPIDocument(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	status, body, _ := h.api("GET", "/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, status, "the document needs no token")
	require.Equal(t, "3.0.3", body["openapi"])
	paths := body["paths"].(map[string]any)
	require.Contains(t, paths, "/users/{id}")
	require.Contains(t, paths["/users"], "post")
}
