package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/server"
	"github.com/accordhq/accord/internal/tenant"
)

func TestWebhooksSettings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *server.Config) { c.Production = true })
	admin := h.browserFor(t, h.a)
	p := admin.get("/settings/webhooks")
	require.Equal(t, http.StatusOK, p.status)
	require.NotZero(t, p.doc.Find("#no-webhooks").Length())

	p = admin.post("/settings/webhooks", url.Values{"url": {"http://192.168.1.10/hook"}, "events": {"breach.created"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.text("#webhook-form"), "private")
	require.Equal(t, "http://192.168.1.10/hook", p.doc.Find("#webhook-url").AttrOr("value", ""), "what was typed stays")
	p = admin.post("/settings/webhooks", url.Values{"url": {"https://hooks.example.com/a"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.text("#webhook-form"), "at least one event")

	p = admin.post("/settings/webhooks", url.Values{"url": {"https://hooks.example.com/a"}, "events": {"lead.rejected", "period.missed"}, "format": {"slack"}})
	require.Equal(t, http.StatusCreated, p.status, p.text("#webhook-form"))
	secret := p.doc.Find("#webhook-secret").AttrOr("value", "")
	require.True(t, strings.HasPrefix(secret, "whsec_"), "the secret is shown once")
	require.Contains(t, p.text("#webhooks-table"), "lead.rejected")
	require.NotContains(t, admin.get("/settings/webhooks").body, secret, "and never again")

	eps, err := h.db.Store.FindWebhookEndpoints(context.Background(), h.a.ID)
	require.NoError(t, err)
	require.Len(t, eps, 1)
	require.Equal(t, "slack", eps[0].Format)
	id := eps[0].ID.String()

	p = admin.post("/settings/webhooks/"+id+"/toggle", nil)
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Contains(t, admin.get("/settings/webhooks").text("#webhook-"+id), "off")

	t.Run("OtherTenantAndRoles", func(t *testing.T) {
		other := h.browserFor(t, h.b)
		require.Equal(t, http.StatusNotFound, other.post("/settings/webhooks/"+id+"/toggle", nil).status)
		require.Equal(t, http.StatusNotFound, other.post("/settings/webhooks/"+id+"/delete", nil).status)
		require.NotZero(t, other.get("/settings/webhooks").doc.Find("#no-webhooks").Length(), "another tenant lists none")
		rep := h.member(h.a, "rep@alpha.test", tenant.RoleRep)
		b := h.browser()
		b.login(rep.Email, postgrestest.Password)
		require.Equal(t, http.StatusForbidden, b.get("/settings/webhooks").status)
	})

	p = admin.post("/settings/webhooks/"+id+"/delete", nil)
	require.Equal(t, http.StatusSeeOther, p.status)
	require.NotZero(t, admin.get("/settings/webhooks").doc.Find("#no-webhooks").Length())
}
