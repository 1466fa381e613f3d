package server_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// stream is one open /events connection, read line by line.
type stream struct {
	lines chan string
}

func openStream(t *testing.T, h *harness, b *browser) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.ts.URL+"/events", nil)
	require.NoError(t, err)
	req.AddCookie(b.sessionCookie())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	s := &stream{lines: make(chan string, 100)}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	s.next(t, ": connected")
	return s
}

// next reads lines until one starts with prefix, and returns it.
func (s *stream) next(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-s.lines:
			require.True(t, ok, "the stream ended before %q", prefix)
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %q within 15 s", prefix)
		}
	}
}

// TestEvents_BreachesReachTheirTenantOnly: breaches recorded by a sweep
// reach the open event streams of their tenant, and only theirs.
func TestEvents_BreachesReachTheirTenantOnly(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	alwaysOpen(t, h, h.a)
	f.withAgreement(t, sla.Clause{Kind: sla.KindRespond, TargetMinutes: 60})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.srv.RunLive(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	select {
	case <-h.srv.LiveReady():
	case <-time.After(15 * time.Second):
		t.Fatal("the listener did not start")
	}

	mine := h.browser()
	mine.login(f.mgr.Email, postgrestest.Password)
	a := openStream(t, h, mine)
	b := openStream(t, h, h.browserFor(t, h.b))

	// Two of alpha's leads breach in one sweep: one notice of 2.
	f.handoff(t, "one@late.test", f.rep)
	f.handoff(t, "two@late.test", f.rep)
	f.breach(t, "three@late.test") // the sweep breaches all three at once
	require.Equal(t, "event: breach", a.next(t, "event:"))
	require.Equal(t, `data: {"count":3}`, a.next(t, "data:"))

	// Beta's own breach is the first notice its stream gets.
	alwaysOpen(t, h, h.b)
	_, err := h.db.Store.SaveAgreement(ctx, h.b.ID, h.b.Admin(), postgres.SaveAgreementInput{Clauses: []sla.Clause{{Kind: sla.KindRespond, TargetMinutes: 60}}}, h.clock.Now())
	require.NoError(t, err)
	rep := h.member(h.b, "rep@beta.test", tenant.RoleRep)
	p := systemPrincipal
	p.Tenant = h.b.Tenant
	email := "beta@late.test"
	res, err := h.db.Store.UpsertLead(ctx, h.b.ID, p, lead.Input{Email: &email}, h.clock.Now())
	require.NoError(t, err)
	_, err = h.db.Store.Transition(ctx, h.b.ID, p, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &rep.ID}, h.clock.Now())
	require.NoError(t, err)
	h.clock.Advance(61 * time.Minute)
	_, err = h.db.Store.SweepDueTimers(ctx, h.clock.Now(), 100, postgres.SweepOptions{})
	require.NoError(t, err)
	require.Equal(t, `data: {"count":1}`, b.next(t, "data:"), "beta never heard of alpha's breaches")
}
