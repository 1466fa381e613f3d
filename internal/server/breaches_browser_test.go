package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/browsertest"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/sla"
)

// TestBrowser_BreachExcuseApproval: a manager asks in the browser to excuse
// a breach, the row updates in place; the admin approves it and the breach
// leaves compliance (shown excused, stored excused).
func TestBrowser_BreachExcuseApproval(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	alwaysOpen(t, h, h.a)
	f.withAgreement(t, sla.Clause{Kind: sla.KindRespond, TargetMinutes: 60})
	_, b := f.breach(t, "late@prospect.test")
	row := "#breach-" + b.ID.String()

	signIn := func(email string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(h.ts.URL+"/login"),
			chromedp.WaitVisible(chromedp.ID("login-form")),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), postgrestest.Password),
			chromedp.Submit(chromedp.ID("login-form")),
			chromedp.WaitVisible(chromedp.ID("dashboard")),
		)
	}
	ctx := browsertest.New(t, 90*time.Second)
	require.NoError(t, chromedp.Do(ctx,
		signIn(f.mgr.Email),
		chromedp.Navigate(h.ts.URL+"/breaches?tab=breached"),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Click(chromedp.CSS(row+` summary[data-action="excuse"]`)),
		chromedp.SendKeys(chromedp.CSS(row+` input[name="reason"]`), "Duplicate of an accepted lead"),
		chromedp.Click(chromedp.CSS(row+` form.action-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+` .badge-warn`)),
	))
	browsertest.Screenshot(t, ctx, "breach-excuse-asked")
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row+` .badge-warn`)))
	require.NoError(t, err)
	require.Equal(t, "excuse asked", status)
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+row+` [data-action="approve"]').length`))
	require.NoError(t, err)
	require.Zero(t, n, "the one who asked may not approve")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		signIn(h.a.AdminEmail),
		chromedp.Navigate(h.ts.URL+"/breaches?tab=breached"),
		chromedp.Click(chromedp.CSS(row+` [data-action="approve"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+`.row-inactive`)),
	))
	browsertest.Screenshot(t, ctx, "breach-excused")
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row)))
	require.NoError(t, err)
	require.Contains(t, text, "excused")
	require.Contains(t, text, "Duplicate of an accepted lead")
	got, err := h.db.Store.FindBreach(context.Background(), h.a.ID, b.ID)
	require.NoError(t, err)
	require.True(t, got.Excused(), "stored excused: it leaves compliance")
}
