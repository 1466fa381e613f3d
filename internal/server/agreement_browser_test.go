package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/browsertest"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/sla"
)

// TestBrowser_AgreementEditPreviewSave: an admin tightens the respond
// threshold from 4 to 2 hours, previews it over the last 90 days, saves it,
// and the inbox countdown of a lead handed off afterwards runs on 2 hours.
func TestBrowser_AgreementEditPreviewSave(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	ctx := context.Background()
	alwaysOpen(t, h, h.a)
	f.withAgreement(t, sla.Clause{Kind: sla.KindRespond, TargetMinutes: 240})
	// History: a lead handed off 3 days ago and accepted after 3 hours —
	// met under 4 hours, breached under 2.
	p := systemPrincipal
	p.Tenant = h.a.Tenant
	handoffAt := h.clock.Now().Add(-72 * time.Hour)
	created := handoffAt.Add(-time.Hour)
	res, err := h.db.Store.UpsertLead(ctx, h.a.ID, p, lead.Input{Email: strPtr("old@prospect.test"), CreatedAt: &created}, h.clock.Now())
	require.NoError(t, err)
	_, err = h.db.Store.Transition(ctx, h.a.ID, p, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep.ID, At: &handoffAt}, h.clock.Now())
	require.NoError(t, err)
	accepted := handoffAt.Add(3 * time.Hour)
	_, err = h.db.Store.Transition(ctx, h.a.ID, p, res.Lead.ID, lead.TransitionInput{To: lead.StageAccepted, At: &accepted}, h.clock.Now())
	require.NoError(t, err)

	b := browsertest.New(t, 90*time.Second)
	require.NoError(t, chromedp.Do(b,
		chromedp.Navigate(h.ts.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), h.a.AdminEmail),
		chromedp.SendKeys(chromedp.ID("password"), postgrestest.Password),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(chromedp.ID("dashboard")),
		chromedp.Navigate(h.ts.URL+"/agreement"),
		chromedp.Click(chromedp.ID("edit-agreement")),
		chromedp.WaitVisible(chromedp.ID("agreement-form")),
		chromedp.SetValue(chromedp.CSS(`input[name="c0.target"]`), "2"),
		chromedp.Click(chromedp.ID("preview-button")),
		chromedp.WaitVisible(chromedp.ID("preview-result")),
	))
	browsertest.Screenshot(t, b, "agreement-preview")
	current, err := chromedp.Run(b, chromedp.Text(chromedp.ID("preview-current")))
	require.NoError(t, err)
	proposed, err := chromedp.Run(b, chromedp.Text(chromedp.ID("preview-proposed")))
	require.NoError(t, err)
	require.Equal(t, "1 met · 0 breached", current, "in force: accepted within 4 hours")
	require.Equal(t, "0 met · 1 breached", proposed, "proposed: 3 hours is over 2")

	require.NoError(t, chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`input[name="apply_to_running"][value="false"]`)),
		chromedp.Click(chromedp.ID("save-agreement")),
		chromedp.WaitVisible(chromedp.ID("side-sales")),
	))
	sentence, err := chromedp.Run(b, chromedp.Text(chromedp.ID("side-sales")))
	require.NoError(t, err)
	require.Contains(t, sentence, "within 2 business hours")
	a, err := h.db.Store.FindAgreement(ctx, h.a.ID)
	require.NoError(t, err)
	require.Equal(t, 2, a.Version)
	require.Equal(t, 120, a.Clauses[0].TargetMinutes)

	// A lead handed off now runs on the new threshold.
	fresh := f.handoff(t, "fresh@prospect.test", f.rep)
	timers, err := h.db.Store.FindTimers(ctx, h.a.ID, postgres.SLAFilter{LeadID: &fresh.ID})
	require.NoError(t, err)
	require.Len(t, timers.Items, 1)
	require.True(t, fresh.StageChangedAt.Add(2*time.Hour).Equal(timers.Items[0].DueAt))

	require.NoError(t, chromedp.Do(b,
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), f.rep.Email),
		chromedp.SendKeys(chromedp.ID("password"), postgrestest.Password),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(chromedp.ID("dashboard")),
		chromedp.Navigate(h.ts.URL+"/inbox"),
		chromedp.WaitVisible(chromedp.ID("inbox-table")),
	))
	browsertest.Screenshot(t, b, "agreement-inbox-countdown")
	row := "#lead-" + fresh.ID.String()
	left, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(row+` .countdown-left`)))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(left, "2 h 0 min") || strings.HasPrefix(left, "1 h 59 min"), "countdown %q", left)
	due, err := chromedp.Run(b, chromedp.AttributeValue(chromedp.CSS(row+` .countdown`), "data-due"))
	require.NoError(t, err)
	require.Equal(t, timers.Items[0].DueAt.UTC().Format(time.RFC3339), due.Value)
}
