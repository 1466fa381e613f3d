package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
)

func TestAPI_LeadCreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ingest := h.token(h.a, auth.ScopeIngest)
	read := h.token(h.a, auth.ScopeRead)
	body := map[string]any{"external_id": "hs-1001", "email": "Ana@Example.com", "first_name": "Ana", "last_name": "Ruiz",
		"company": "Example GmbH", "title": "VP Ops", "phone": "+49 30 1234", "country": "de", "segment": "enterprise",
		"source": "paid_search", "campaign": "q4-comparison-guide", "score": 72, "icp_fit": true, "created_at": "2026-10-01T09:12:00Z"}

	status, lead, _ := h.api("POST", "/leads", ingest, body)
	require.Equal(t, http.StatusCreated, status, "%v", lead)
	for k, want := range map[string]any{"external_id": "hs-1001", "email": "ana@example.com", "country": "DE", "stage": "new",
		"owner_id": nil, "team_id": nil, "amount": nil, "currency": "EUR", "created_at": "2026-10-01T09:12:00Z",
		"stage_changed_at": "2026-10-01T09:12:00Z", "version": float64(1), "score": float64(72), "icp_fit": true} {
		require.Equal(t, want, lead[k], k)
	}
	id := lead["id"].(string)

	t.Run("UpdateMerges", func(t *testing.T) {
		status, got, _ := h.api("POST", "/leads", ingest, map[string]any{"external_id": "hs-1001", "title": "COO", "created_at": "2020-01-01T00:00:00Z"})
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, id, got["id"])
		require.Equal(t, "COO", got["title"])
		require.Equal(t, "Ana", got["first_name"])
		require.Equal(t, "2026-10-01T09:12:00Z", got["created_at"], "created_at never changes after creation")
	})

	t.Run("Errors", func(t *testing.T) {
		status, got, _ := h.api("POST", "/leads", ingest, map[string]any{"external_id": "hs-9", "email": "ana@example.com"})
		require.Equal(t, http.StatusConflict, status, "the email belongs to a lead with another external id")
		require.Equal(t, "conflict", errCode(got))
		require.Equal(t, id, got["lead"].(map[string]any)["id"])

		status, got, _ = h.api("POST", "/leads", ingest, map[string]any{"email": "bad", "segment": "galactic", "score": 101,
			"created_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		f := errFields(got)
		for _, k := range []string{"email", "segment", "score", "created_at"} {
			require.Contains(t, f, k)
		}
		status, got, _ = h.api("POST", "/leads", ingest, map[string]any{"first_name": "No key"})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, errFields(got), "email")
		status, got, _ = h.api("POST", "/leads", ingest, map[string]any{"email": "x@y.test", "favourite_colour": "red"})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, errFields(got), "favourite_colour")
		status, _, _ = h.api("POST", "/leads", ingest, `{"email": "x@y.test"`)
		require.Equal(t, http.StatusBadRequest, status)
		status, _, _ = h.api("POST", "/leads", ingest, `{"email": "x@y.test", "score": "high"}`)
		require.Equal(t, http.StatusUnprocessableEntity, status)
		status, _, _ = h.api("POST", "/leads", ingest, `{"email": "`+strings.Repeat("x", 1<<20)+`"}`)
		require.Equal(t, http.StatusRequestEntityTooLarge, status)
		status, _, _ = h.api("POST", "/leads", read, map[string]any{"email": "x@y.test"})
		require.Equal(t, http.StatusForbidden, status, "a read token may not write")
		status, _, _ = h.api("POST", "/leads", "", map[string]any{"email": "x@y.test"})
		require.Equal(t, http.StatusUnauthorized, status)
	})
}

func TestAPI_LeadReadAndTimeline(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ingest := h.token(h.a, auth.ScopeIngest)
	read := h.token(h.a, auth.ScopeRead)
	betaRead := h.token(h.b, auth.ScopeRead)
	betaIngest := h.token(h.b, auth.ScopeIngest)
	_, l, _ := h.api("POST", "/leads", ingest, map[string]any{"email": "tl@x.test", "segment": "smb", "source": "webinar"})
	id := l["id"].(string)
	h.clock.Advance(time.Minute)
	status, moved, _ := h.api("POST", "/leads/"+id+"/transitions", ingest, map[string]any{"to": "mql"})
	require.Equal(t, http.StatusOK, status, "%v", moved)
	h.clock.Advance(time.Minute)
	status, act, _ := h.api("POST", "/leads/"+id+"/activities", ingest, map[string]any{"kind": "page_view", "url": "https://acme.test/pricing"})
	require.Equal(t, http.StatusCreated, status, "%v", act)
	require.Equal(t, "page_view", act["kind"])

	status, got, _ := h.api("GET", "/leads/"+id, read, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "mql", got["stage"])
	require.Equal(t, []any{}, got["timers"])

	status, tl, _ := h.api("GET", "/leads/"+id+"/timeline", read, nil)
	require.Equal(t, http.StatusOK, status)
	var types []string
	for _, e := range tl["data"].([]any) {
		ev := e.(map[string]any)
		types = append(types, ev["type"].(string))
		require.Contains(t, ev, "actor")
	}
	require.Equal(t, []string{"transition", "transition", "assignment", "activity"}, types)
	first := tl["data"].([]any)[1].(map[string]any)
	require.Equal(t, "new", first["from"])
	require.Equal(t, "mql", first["to"])
	require.Equal(t, "token", first["actor"].(map[string]any)["type"])

	status, list, _ := h.api("GET", "/leads?segment=smb&source=webinar&stage=mql", read, nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, list["data"], 1)
	status, list, _ = h.api("GET", "/leads?q=tl@", read, nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, list["data"], 1)
	status, list, _ = h.api("GET", "/leads?updated_since="+h.clock.Now().Add(-30*time.Second).Format(time.RFC3339), read, nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, list["data"], 1, "the activity updated the lead")
	for _, bad := range []string{"/leads?stage=won,nope", "/leads?limit=0", "/leads?updated_since=yesterday", "/leads?owner_id=x", "/leads?cursor=zz"} {
		status, got, _ := h.api("GET", bad, read, nil)
		require.Equal(t, http.StatusUnprocessableEntity, status, bad)
		require.Equal(t, "invalid", errCode(got), bad)
	}
	status, _, _ = h.api("GET", "/leads", ingest, nil)
	require.Equal(t, http.StatusForbidden, status, "an ingest token may not read leads")

	t.Run("OtherTenantNotFound", func(t *testing.T) {
		for _, call := range []struct{ method, path, token string }{
			{"GET", "/leads/" + id, betaRead},
			{"GET", "/leads/" + id + "/timeline", betaRead},
			{"POST", "/leads/" + id + "/transitions", betaIngest},
			{"POST", "/leads/" + id + "/activities", betaIngest},
			{"GET", "/leads/" + uuid.NewString(), read},
			{"GET", "/leads/not-a-uuid", read},
		} {
			var body any
			if call.method == "POST" {
				body = map[string]any{"to": "accepted", "kind": "call"}
				if strings.HasSuffix(call.path, "transitions") {
					body = map[string]any{"to": "accepted"}
				} else {
					body = map[string]any{"kind": "call"}
				}
			}
			status, got, _ := h.api(call.method, call.path, call.token, body)
			require.Equal(t, http.StatusNotFound, status, "%s %s", call.method, call.path)
			require.Equal(t, "not_found", errCode(got))
		}
		_, list, _ := h.api("GET", "/leads", betaRead, nil)
		require.Empty(t, list["data"])
	})
}

func TestAPI_LeadTransitions(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	ingest := h.token(h.a, auth.ScopeIngest)
	admin := h.token(h.a, auth.ScopeAdmin)
	_, l, _ := h.api("POST", "/leads", ingest, map[string]any{"email": "mv@x.test"})
	id := l["id"].(string)
	h.clock.Advance(time.Minute)

	status, got, _ := h.api("POST", "/leads/"+id+"/transitions", ingest, map[string]any{"to": "won"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, got["error"].(map[string]any)["message"], "allowed: mql, recycled", "illegal moves list the allowed targets")

	status, got, _ = h.api("POST", "/leads/"+id+"/transitions", ingest, map[string]any{"to": "mql", "expected_version": 7})
	require.Equal(t, http.StatusConflict, status, "a stale version is checked first")
	require.Equal(t, float64(1), got["lead"].(map[string]any)["version"])

	status, got, _ = h.api("POST", "/leads/"+id+"/transitions", ingest, map[string]any{"to": "mql", "owner_id": f.rep2.ID.String(), "expected_version": 1})
	require.Equal(t, http.StatusOK, status, "%v", got)
	require.Equal(t, f.rep2.ID.String(), got["owner_id"])
	require.Equal(t, f.team.ID.String(), got["team_id"])

	status, got, _ = h.api("POST", "/leads/"+id+"/transitions", ingest, map[string]any{"to": "rejected", "reason": "because"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got), "reason")
	status, got, _ = h.api("POST", "/leads/"+id+"/transitions", ingest, map[string]any{"to": "accepted", "at": "2030-01-01T00:00:00Z"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got)["at"], "future")
	status, got, _ = h.api("POST", "/leads/"+id+"/transitions", ingest, map[string]any{"to": "accepted", "at": "2020-01-01T00:00:00Z"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got)["at"], "latest transition")
	status, got, _ = h.api("POST", "/leads/"+id+"/transitions", ingest, map[string]any{"to": ""})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, errFields(got), "to")
	status, _, _ = h.api("POST", "/leads/"+id+"/transitions", ingest, map[string]any{"to": "accepted", "amount": "lots"})
	require.Equal(t, http.StatusUnprocessableEntity, status)

	status, got, _ = h.api("POST", "/leads/"+id+"/transitions", ingest, map[string]any{"to": "accepted"})
	require.Equal(t, http.StatusOK, status)
	status, got, _ = h.api("POST", "/leads/"+id+"/transitions", ingest, map[string]any{"to": "opportunity", "amount": 1250000.5})
	require.Equal(t, http.StatusOK, status, "%v", got)
	require.Equal(t, 1250000.5, got["amount"])

	t.Run("Assign", func(t *testing.T) {
		status, got, _ := h.api("POST", "/leads/"+id+"/assign", ingest, map[string]any{"owner_id": f.rep.ID.String()})
		require.Equal(t, http.StatusForbidden, status, "assign needs an admin token")
		status, got, _ = h.api("POST", "/leads/"+id+"/assign", admin, map[string]any{"owner_id": f.rep.ID.String()})
		require.Equal(t, http.StatusOK, status, "%v", got)
		require.Equal(t, f.rep.ID.String(), got["owner_id"])
		status, got, _ = h.api("POST", "/leads/"+id+"/assign", admin, map[string]any{"owner_id": f.mkt.ID.String()})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, errFields(got), "owner_id")
		betaUser := h.member(h.b, "x@beta.test", "rep")
		status, got, _ = h.api("POST", "/leads/"+id+"/assign", admin, map[string]any{"owner_id": betaUser.ID.String()})
		require.Equal(t, http.StatusUnprocessableEntity, status, "another tenant's user inside the body")
		status, _, _ = h.api("POST", "/leads/"+uuid.NewString()+"/assign", admin, map[string]any{"owner_id": f.rep.ID.String()})
		require.Equal(t, http.StatusNotFound, status)
	})

	t.Run("Activities", func(t *testing.T) {
		status, got, _ := h.api("POST", "/leads/"+id+"/activities", ingest, map[string]any{"kind": "page_view", "url": "javascript:alert(1)"})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, errFields(got), "url")
		status, got, _ = h.api("POST", "/leads/"+id+"/activities", ingest, map[string]any{"kind": "content_shared", "asset_id": uuid.NewString()})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, errFields(got), "asset_id")
		status, got, _ = h.api("POST", "/leads/"+id+"/activities", ingest, map[string]any{"kind": "dance"})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, errFields(got), "kind")
		status, got, _ = h.api("POST", "/leads/"+id+"/activities", ingest, map[string]any{"kind": "call", "at": "2001-01-01T00:00:00Z"})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Contains(t, errFields(got)["at"], "before the lead was created")
		late := h.clock.Now().Add(-30 * time.Second).UTC().Format(time.RFC3339)
		status, got, _ = h.api("POST", "/leads/"+id+"/activities", ingest, map[string]any{"kind": "call", "at": late, "note": "logged late"})
		require.Equal(t, http.StatusCreated, status, "an activity may be logged late: %v", got)
		require.Equal(t, late, got["at"])
	})
}

func TestAPI_LeadBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ingest := h.token(h.a, auth.ScopeIngest)
	items := []any{
		map[string]any{"email": "one@batch.test"},
		map[string]any{"email": "nope"},
		map[string]any{"email": "two@batch.test", "segment": "mid"},
		map[string]any{"email": "one@batch.test", "first_name": "Again"},
		map[string]any{"email": "three@batch.test", "colour": "red"},
		"not an object",
	}
	status, got, _ := h.api("POST", "/leads/batch", ingest, map[string]any{"leads": items})
	require.Equal(t, http.StatusOK, status, "%v", got)
	require.Equal(t, float64(2), got["created"])
	require.Equal(t, float64(1), got["updated"])
	errs := got["errors"].([]any)
	require.Len(t, errs, 3)
	idx := []float64{}
	for _, e := range errs {
		idx = append(idx, e.(map[string]any)["index"].(float64))
	}
	require.Equal(t, []float64{1, 4, 5}, idx)
	require.Contains(t, errs[0].(map[string]any)["fields"], "email")

	tooMany := make([]any, 1001)
	for i := range tooMany {
		tooMany[i] = map[string]any{"email": fmt.Sprintf("m%d@batch.test", i)}
	}
	status, got, _ = h.api("POST", "/leads/batch", ingest, map[string]any{"leads": tooMany})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, got["error"].(map[string]any)["message"], "nothing was stored")
	read := h.token(h.a, auth.ScopeRead)
	_, list, _ := h.api("GET", "/leads?limit=500", read, nil)
	require.Len(t, list["data"], 2, "nothing of the oversized batch was stored")
}

func TestAPI_Idempotency(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ingest := h.token(h.a, auth.ScopeIngest)
	read := h.token(h.a, auth.ScopeRead)
	body := map[string]any{"email": "idem@x.test", "first_name": "Ida"}

	status, first, hdr := h.api("POST", "/leads", ingest, body, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusCreated, status)
	require.Empty(t, hdr.Get("Idempotent-Replayed"))
	status, again, hdr := h.api("POST", "/leads", ingest, body, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusCreated, status, "the first response again")
	require.Equal(t, "true", hdr.Get("Idempotent-Replayed"))
	require.Equal(t, first, again)
	_, list, _ := h.api("GET", "/leads", read, nil)
	require.Len(t, list["data"], 1)

	status, got, _ := h.api("POST", "/leads", ingest, map[string]any{"email": "other@x.test"}, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusUnprocessableEntity, status, "the same key with another body")
	require.Contains(t, got["error"].(map[string]any)["message"], "different request")

	// Keys are per tenant.
	beta := h.token(h.b, auth.ScopeIngest)
	status, _, hdr = h.api("POST", "/leads", beta, body, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusCreated, status)
	require.Empty(t, hdr.Get("Idempotent-Replayed"))

	// A failed request (422) is replayed as the same failure.
	status, _, _ = h.api("POST", "/leads", ingest, map[string]any{"email": "bad"}, "Idempotency-Key", "key-bad")
	require.Equal(t, http.StatusUnprocessableEntity, status)
	status, _, hdr = h.api("POST", "/leads", ingest, map[string]any{"email": "bad"}, "Idempotency-Key", "key-bad")
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Equal(t, "true", hdr.Get("Idempotent-Replayed"))

	// Concurrent requests with one key: one effect.
	var wg sync.WaitGroup
	statuses := make([]int, 10)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _, _ = h.api("POST", "/leads", ingest, map[string]any{"email": "race@x.test"}, "Idempotency-Key", "key-race")
		}()
	}
	wg.Wait()
	for _, st := range statuses {
		require.Equal(t, http.StatusCreated, st)
	}
	_, list, _ = h.api("GET", "/leads?q=race@", read, nil)
	require.Len(t, list["data"], 1)

	// After 24 hours a key may be used again.
	h.clock.Advance(25 * time.Hour)
	status, _, hdr = h.api("POST", "/leads", ingest, map[string]any{"email": "later@x.test"}, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusCreated, status)
	require.Empty(t, hdr.Get("Idempotent-Replayed"))

	status, _, _ = h.api("POST", "/leads", ingest, body, "Idempotency-Key", strings.Repeat("k", 201))
	require.Equal(t, http.StatusUnprocessableEntity, status)
}
