package server_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/browsertest"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
)

// TestBrowser_SignInSwitchSignOut drives headless Chromium through the shell:
// sign in, the dashboard shell, switch tenant from the header, sign out.
func TestBrowser_SignInSwitchSignOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	postgrestest.CreateMember(t, h.db.Store, h.b, h.a.AdminEmail, "ignored", tenant.RoleViewer, h.clock.Now())
	ctx := browsertest.New(t, 60*time.Second)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), h.a.AdminEmail),
		chromedp.SendKeys(chromedp.ID("password"), postgrestest.Password),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(chromedp.ID("dashboard")),
	))
	browsertest.Screenshot(t, ctx, "dashboard-signed-in")
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("user-name")))
	require.NoError(t, err)
	require.Equal(t, "Admin of alpha", name)
	tn, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("tenant-name")))
	require.NoError(t, err)
	require.Equal(t, "Tenant alpha", tn)
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	require.NoError(t, err)
	require.Equal(t, "Dashboard", heading)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("kpi-handoffs"))))

	// Picking the other tenant in the header switches at once: SetValue
	// fires the change event, on which app.js submits the form.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("tenant-select"), h.b.ID.String()),
		// The success message exists only on the page after the switch;
		// WaitVisible re-queries across the navigation.
		chromedp.WaitVisible(chromedp.CSS("#flash .flash-success")),
	))
	tn, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("tenant-name")))
	require.NoError(t, err)
	require.Equal(t, "Tenant beta", tn)
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("flash")))
	require.NoError(t, err)
	require.Contains(t, flash, "You are now working in Tenant beta")
	role, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".user-role")))
	require.NoError(t, err)
	require.Equal(t, "Viewer", role)
	browsertest.Screenshot(t, ctx, "switched-tenant")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("flash")))
	require.NoError(t, err)
	require.Contains(t, msg, "You are signed out")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+"/settings/users"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	))
}
