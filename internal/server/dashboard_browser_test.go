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
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/sla"
)

// TestBrowser_Dashboard: a sales manager opens the dashboard, filters on a
// source and then changes the period; the cards and charts update in place
// and the URL carries the filters; a drill-down lists exactly the leads a
// card counts.
func TestBrowser_Dashboard(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	ctx := context.Background()
	p := systemPrincipal
	p.Tenant = h.a.Tenant
	handoff := func(email, source string) lead.Lead {
		res, err := h.db.Store.UpsertLead(ctx, h.a.ID, p, lead.Input{Email: &email, FirstName: strPtr(strings.Split(email, "@")[0]), Source: &source}, h.clock.Now())
		require.NoError(t, err)
		l, err := h.db.Store.Transition(ctx, h.a.ID, p, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep.ID}, h.clock.Now())
		require.NoError(t, err)
		return l
	}
	web := handoff("webby@lead.test", "webinar")
	paid1 := handoff("paula@lead.test", "paid_search")
	handoff("pedro@lead.test", "paid_search")
	_, err := h.db.Store.Transition(ctx, h.a.ID, p, web.ID, lead.TransitionInput{To: lead.StageAccepted}, h.clock.Now())
	require.NoError(t, err)
	_, err = h.db.Store.Transition(ctx, h.a.ID, p, paid1.ID, lead.TransitionInput{To: lead.StageRejected, Reason: "no_budget"}, h.clock.Now())
	require.NoError(t, err)

	b := browsertest.New(t, 90*time.Second)
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return strings.TrimSpace(s)
	}
	waitText := func(sel, want string) {
		t.Helper()
		require.NoError(t, chromedp.Do(b, chromedp.Poll[chromedp.Void](
			`document.querySelector(`+jsString(sel)+`) && document.querySelector(`+jsString(sel)+`).textContent.trim() === `+jsString(want),
			chromedp.WithPollingTimeout(20*time.Second))), "%s should read %q, reads %q", sel, want, text(sel))
	}
	require.NoError(t, chromedp.Do(b,
		chromedp.Navigate(h.ts.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), f.mgr.Email),
		chromedp.SendKeys(chromedp.ID("password"), postgrestest.Password),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(chromedp.ID("kpis")),
	))
	browsertest.Screenshot(t, b, "dashboard")
	require.Equal(t, "3", text("#kpi-handoffs .kpi-value"))
	require.Equal(t, "50.0 %", text("#kpi-acceptance .kpi-value"))
	require.Contains(t, text("#funnel-table"), "Accepted")
	require.Contains(t, text("#by-source-table"), "webinar")
	require.Contains(t, text("#rejections-table"), "no_budget")

	// A source filter: the body updates in place, the URL carries it.
	require.NoError(t, chromedp.Do(b,
		chromedp.Evaluate[chromedp.Void](`window.__noReload = true`),
		chromedp.SendKeys(chromedp.ID("f-source"), "paid_search"),
		chromedp.Click(chromedp.ID("apply-filters")),
	))
	waitText("#kpi-handoffs .kpi-value", "2")
	require.Equal(t, "0.0 %", text("#kpi-acceptance .kpi-value"), "one rejected, none accepted")
	search, err := chromedp.Run(b, chromedp.Evaluate[string](`window.location.search`))
	require.NoError(t, err)
	require.Contains(t, search, "source=paid_search")
	noReload, err := chromedp.Run(b, chromedp.Evaluate[bool](`window.__noReload === true`))
	require.NoError(t, err)
	require.True(t, noReload, "updated in place")

	// Last month: nothing happened then.
	require.NoError(t, chromedp.Do(b,
		chromedp.SetValue(chromedp.ID("f-period"), "last_month"),
		chromedp.Click(chromedp.ID("apply-filters")),
	))
	waitText("#kpi-handoffs .kpi-value", "0")
	require.Equal(t, "no data", text("#kpi-acceptance .kpi-value"), "no decisions: no data, not 0 %")
	// The heading and the form show the period applied, not the one before.
	lastMonth := time.Date(h.clock.Now().In(berlinOf(t)).Year(), h.clock.Now().In(berlinOf(t)).Month(), 1, 0, 0, 0, 0, berlinOf(t)).AddDate(0, -1, 0)
	require.True(t, strings.HasPrefix(text("#dashboard .subtitle"), lastMonth.Format("January 2006")), text("#dashboard .subtitle"))
	from, err := chromedp.Run(b, chromedp.Value(chromedp.ID("f-from")))
	require.NoError(t, err)
	require.Equal(t, lastMonth.Format("2006-01-02"), from)
	search, err = chromedp.Run(b, chromedp.Evaluate[string](`window.location.search`))
	require.NoError(t, err)
	require.Contains(t, search, "period=last_month")
	browsertest.Screenshot(t, b, "dashboard-last-month")

	// A shared link opens the same view; its handoffs card drills down to
	// exactly the two paid_search leads.
	require.NoError(t, chromedp.Do(b,
		chromedp.Navigate(h.ts.URL+"/?period=this_month&source=paid_search"),
		chromedp.WaitVisible(chromedp.ID("kpis")),
	))
	require.Equal(t, "2", text("#kpi-handoffs .kpi-value"))
	require.NoError(t, chromedp.Do(b,
		chromedp.Click(chromedp.CSS("#kpi-handoffs")),
		chromedp.WaitVisible(chromedp.ID("lead-cohort")),
	))
	browsertest.Screenshot(t, b, "dashboard-drilldown")
	names, err := chromedp.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#leads-table tbody tr .cell-strong')].map(e => e.textContent.trim()).sort()`))
	require.NoError(t, err)
	require.Equal(t, []string{"paula", "pedro"}, names)

	// A breach appears without a reload.
	alwaysOpen(t, h, h.a)
	f.withAgreement(t, sla.Clause{Kind: sla.KindRespond, TargetMinutes: 60})
	liveCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); h.srv.RunLive(liveCtx) }()
	t.Cleanup(func() { stop(); <-done })
	<-h.srv.LiveReady()
	// This month and the next: the breach, an hour after its handoff, may
	// fall into the next one near a month's end.
	local := h.clock.Now().In(berlinOf(t))
	first := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, berlinOf(t))
	twoMonths := "/?from=" + first.Format("2006-01-02") + "&to=" + first.AddDate(0, 2, 0).Format("2006-01-02")
	require.NoError(t, chromedp.Do(b,
		chromedp.Navigate(h.ts.URL+twoMonths),
		chromedp.WaitVisible(chromedp.ID("kpis")),
		chromedp.Evaluate[chromedp.Void](`window.__noReload = true`),
		chromedp.Poll[chromedp.Void](`window.accordLive && window.accordLive.readyState === 1`, chromedp.WithPollingTimeout(15*time.Second)),
	))
	require.Equal(t, "no data", text("#kpi-sla-sales .kpi-value"))
	f.breach(t, "late@lead.test")
	require.NoError(t, chromedp.Do(b, chromedp.Poll[chromedp.Void](
		`document.getElementById('live-breaches') && document.getElementById('live-breaches').textContent !== ''`,
		chromedp.WithPollingTimeout(20*time.Second))))
	require.Equal(t, "A new breach just now: the figures below include it.", text("#live-breaches"))
	require.Equal(t, "0.0 %", text("#kpi-sla-sales .kpi-value"), "one breached, none met")
	noReload, err = chromedp.Run(b, chromedp.Evaluate[bool](`window.__noReload === true`))
	require.NoError(t, err)
	require.True(t, noReload)
	browsertest.Screenshot(t, b, "dashboard-live-breach")

	// The compliance card drills down to the timers it counts.
	require.NoError(t, chromedp.Do(b,
		chromedp.Click(chromedp.CSS("#kpi-sla-sales")),
		chromedp.WaitVisible(chromedp.ID("resolved-scope")),
	))
	browsertest.Screenshot(t, b, "dashboard-compliance-drilldown")
	counted, err := chromedp.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#timers-table tbody tr')].map(e => e.querySelector('.cell-strong').textContent.trim() + ':' + e.dataset.status)`))
	require.NoError(t, err)
	require.Equal(t, []string{"late:breached"}, counted)
}

func jsString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `\'`) + "'"
}
