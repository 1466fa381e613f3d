package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/webhook"
)

func TestSignatureRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_790_000_000, 0)
	body := []byte(`{"id":"e1"}`)
	sig := webhook.Signature("whsec_x", now, body)
	require.Regexp(t, `^t=1790000000,v1=[0-9a-f]{64}$`, sig)
	require.NoError(t, webhook.Verify("whsec_x", sig, body, now.Add(time.Minute), 5*time.Minute))
	require.Error(t, webhook.Verify("whsec_y", sig, body, now, 5*time.Minute), "another secret")
	require.Error(t, webhook.Verify("whsec_x", sig, []byte(`{"id":"e2"}`), now, 5*time.Minute), "another body")
	require.Error(t, webhook.Verify("whsec_x", sig, body, now.Add(time.Hour), 5*time.Minute), "too old")
	require.Error(t, webhook.Verify("whsec_x", "garbage", body, now, 5*time.Minute))
}

func TestValidateURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://hooks.example.com/x", "http://example.com:8080/a?b=c"} {
		require.NoError(t, webhook.ValidateURL(ok, true), ok)
	}
	for _, bad := range []string{"ftp://example.com", "javascript:alert(1)", "https://", "https://user:pw@example.com/x", "not a url"} {
		require.Error(t, webhook.ValidateURL(bad, false), bad)
	}
	for _, private := range []string{"http://127.0.0.1:9000/x", "http://10.1.2.3/x", "http://192.168.0.1/x", "http://[::1]/x", "http://localhost/x", "http://169.254.169.254/latest"} {
		require.Error(t, webhook.ValidateURL(private, true), private)
		require.NoError(t, webhook.ValidateURL(private, false), "allowed outside production: "+private)
	}
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var got struct {
		header http.Header
		body   []byte
	}
	status := http.StatusInternalServerError
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.header = r.Header.Clone()
		got.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	c := webhook.NewClient(false, func() time.Time { return now })
	ev := webhook.Event{ID: "evt-1", Type: webhook.BreachCreated, CreatedAt: now, Tenant: "acme", Data: json.RawMessage(`{"kind":"respond"}`)}
	ep := webhook.Endpoint{URL: srv.URL, Secret: "whsec_s", Format: "accord"}
	args := webhook.DeliverArgs{Event: ev}

	err := c.Deliver(context.Background(), ep, args)
	var se *webhook.StatusError
	require.ErrorAs(t, err, &se, "a 500 is an error, so the job retries")
	require.Equal(t, 500, se.Code)

	status = http.StatusNoContent
	require.NoError(t, c.Deliver(context.Background(), ep, args))
	require.NoError(t, webhook.Verify("whsec_s", got.header.Get("Accord-Signature"), got.body, now, time.Minute))
	var sent webhook.Event
	require.NoError(t, json.Unmarshal(got.body, &sent))
	require.Equal(t, "evt-1", sent.ID)
	require.Equal(t, "acme", sent.Tenant)
	require.Equal(t, "evt-1", got.header.Get("Accord-Event-Id"))

	ep.Format, args.Text = "slack", "A breach: respond"
	require.NoError(t, c.Deliver(context.Background(), ep, args))
	require.JSONEq(t, `{"text":"A breach: respond"}`, string(got.body))

	prod := webhook.NewClient(true, time.Now)
	require.ErrorContains(t, prod.Deliver(context.Background(), ep, args), "private address", "production refuses loopback at dial time")
}
