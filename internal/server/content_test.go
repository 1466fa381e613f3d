package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/browsertest"
	"github.com/accordhq/accord/internal/content"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
)

// asset adds an asset to tenant alpha's library as the marketer.
func (f *salesFixture) asset(t *testing.T, title, link string) content.Asset {
	t.Helper()
	kind, stage := content.KindCaseStudy, lead.StageMQL
	a, err := f.h.db.Store.CreateAsset(context.Background(), f.h.a.ID, auth.Actor{Type: auth.ActorUser, ID: f.mkt.ID, Name: f.mkt.Name},
		content.AssetInput{Title: &title, URL: &link, Kind: &kind, Stage: &stage}, f.h.clock.Now())
	require.NoError(t, err)
	return a
}

func TestContentPages(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	mkt := h.browser()
	mkt.login("mara@alpha.test", postgrestest.Password)

	form := url.Values{"title": {"Security one-pager"}, "url": {"javascript:alert(1)"}, "kind": {"one_pager"}, "stage": {"sql"}, "segment": {""}, "tags": {"security, SOC2"}}
	p := mkt.post("/content", form)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.text("#err-url"), "http:// or https://")
	require.Equal(t, "Security one-pager", p.doc.Find("#asset-title").AttrOr("value", ""), "what was typed stays")

	form.Set("url", "https://cdn.example.com/security.pdf")
	p = mkt.post("/content", form)
	require.Equal(t, http.StatusSeeOther, p.status, p.text("#form-errors"))
	assetPath := p.header.Get("Location")
	p = mkt.get(assetPath)
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "Security one-pager", p.text("#asset-title-h"))
	require.Contains(t, p.text("#asset-details"), "security, soc2")

	p = mkt.get("/content")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, 1, p.doc.Find("#content-table tbody tr").Length())
	require.Equal(t, "1", p.text("#fig-active"))
	require.Equal(t, "0", p.text("#fig-used"))
	require.Equal(t, "100.0 %", p.text("#fig-unused"), "the one active asset went unused")
	p = mkt.get("/content?kind=poster")
	require.Equal(t, http.StatusUnprocessableEntity, p.status)

	rep := h.browser()
	rep.login("rey@alpha.test", postgrestest.Password)
	require.Equal(t, http.StatusOK, rep.get("/content").status, "everyone browses")
	require.Equal(t, http.StatusForbidden, rep.get("/content/new").status, "reps do not manage the library")
	require.Equal(t, http.StatusForbidden, rep.post(assetPath+"/archive", url.Values{"archived": {"true"}}).status)

	p = mkt.post(assetPath+"/archive", url.Values{"archived": {"true"}})
	require.Equal(t, http.StatusSeeOther, p.status)
	p = mkt.get(assetPath)
	require.Contains(t, p.text("#asset-archived"), "cannot be shared")
	require.Equal(t, 0, mkt.get("/content").doc.Find("#content-table tbody tr").Length())

	// Requests: no text is refused; a request from a lead keeps the lead.
	l := f.handoff(t, "deal@prospect.test", f.rep)
	rep.get("/content/requests?lead_id=" + l.ID.String())
	p = rep.post("/content/requests", url.Values{"title": {""}, "objection": {"  "}, "lead_id": {l.ID.String()}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.NotEmpty(t, p.text("#err-title"))
	require.NotEmpty(t, p.text("#err-objection"))
	p = rep.post("/content/requests", url.Values{"title": {"Logistics case study"}, "objection": {"No customers like us"}, "lead_id": {l.ID.String()}})
	require.Equal(t, http.StatusSeeOther, p.status)
	reqPath := p.header.Get("Location")
	p = rep.get(reqPath)
	require.Equal(t, "Open", p.text("#request-status"))
	require.Equal(t, 0, p.doc.Find("#req-status").Length(), "reps do not change the status")

	// The lead page shares too, and lists what was used with its link.
	live := f.asset(t, "ROI calculator", "https://example.com/roi")
	rep.get("/leads/" + l.ID.String())
	p = rep.post("/leads/"+l.ID.String()+"/share", url.Values{"asset_id": {live.ID.String()}, "note": {"Presented on the call"}})
	require.Equal(t, http.StatusSeeOther, p.status, p.text("#lead-message"))
	p = rep.get("/leads/" + l.ID.String())
	require.Contains(t, p.text("#lead-content"), "ROI calculator")
	require.True(t, strings.HasPrefix(p.doc.Find("#link-"+live.ID.String()).AttrOr("value", ""), "http://accord.test/c/"))
	require.Contains(t, p.text("#lead-timeline"), "Shared ROI calculator")
	archivedID := strings.TrimPrefix(assetPath, "/content/")
	require.Equal(t, 0, p.doc.Find(`#share-asset option[value="`+archivedID+`"]`).Length(), "archived assets are not offered")
	p = rep.post("/leads/"+l.ID.String()+"/share", url.Values{"asset_id": {archivedID}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.text("#lead-content"), "archived")
	p = rep.post("/leads/"+l.ID.String()+"/share", url.Values{"asset_id": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)

	other := h.browser()
	other.login(h.b.AdminEmail, postgrestest.Password)
	for _, path := range []string{assetPath, reqPath, "/content/not-an-id", "/content/requests/not-an-id"} {
		require.Equal(t, http.StatusNotFound, other.get(path).status, path)
	}
	require.Equal(t, http.StatusNotFound, other.post(reqPath, url.Values{"comment": {"hi"}}).status)
	form.Del("csrf_token") // post put the marketer's in
	require.Equal(t, http.StatusNotFound, other.post(assetPath, form).status)
	require.Equal(t, http.StatusNotFound, other.post("/leads/"+l.ID.String()+"/share", url.Values{"asset_id": {strings.TrimPrefix(assetPath, "/content/")}}).status)
}

// TestBrowser_ContentShareAndRequest: a rep shares an asset from the inbox
// in place, sees it on the lead's timeline and in the asset's figures; then
// asks for a missing asset, marketing fulfils it, and the rep sees that.
func TestBrowser_ContentShareAndRequest(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	l := f.handoff(t, "ana@prospect.test", f.rep)
	a := f.asset(t, "Logistics case study", "https://cdn.example.com/logistics.pdf")
	h.clock.Advance(5 * time.Minute)

	ctx := browsertest.New(t, 90*time.Second)
	row := "#lead-" + l.ID.String()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), "rey@alpha.test"),
		chromedp.SendKeys(chromedp.ID("password"), postgrestest.Password),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(chromedp.ID("dashboard")),
		chromedp.Navigate(h.ts.URL+"/inbox"),
		chromedp.WaitVisible(chromedp.ID("inbox-table")),
		chromedp.Evaluate[chromedp.Void](`window.__noReload = true`),
		chromedp.Click(chromedp.CSS(row+` summary[data-action="share"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+` select[name=asset_id]`)),
		chromedp.SetValue(chromedp.CSS(row+` select[name=asset_id]`), a.ID.String()),
		chromedp.SendKeys(chromedp.CSS(row+` form[hx-post$="/share"] input[name=note]`), "Sent after the call"),
		chromedp.Click(chromedp.CSS(row+` form[hx-post$="/share"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(row+` .tracked-link`)),
	))
	browsertest.Screenshot(t, ctx, "content-inbox-shared")
	noReload, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true`))
	require.NoError(t, err)
	require.True(t, noReload, "shared in place")
	link, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(row+` .tracked-link`)))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(link, "http://accord.test/c/"), link)

	var timeline, uses string
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+"/leads/"+l.ID.String()),
		chromedp.WaitVisible(chromedp.ID("lead-timeline")),
	))
	timeline, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("lead-timeline")))
	require.NoError(t, err)
	require.Contains(t, timeline, "Shared Logistics case study")
	require.Contains(t, timeline, "Sent after the call")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+"/content/"+a.ID.String()),
		chromedp.WaitVisible(chromedp.ID("asset-figures")),
	))
	browsertest.Screenshot(t, ctx, "content-asset")
	uses, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#asset-figures tr[data-figure="Uses"] td`)))
	require.NoError(t, err)
	require.Equal(t, "1", uses)
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("asset-uses")))
	require.NoError(t, err)
	require.Contains(t, who, "ana")

	// The request round trip.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+"/content/requests"),
		chromedp.WaitVisible(chromedp.ID("request-form")),
		chromedp.SendKeys(chromedp.ID("req-title"), "ROI calculator"),
		chromedp.SendKeys(chromedp.ID("req-objection"), "Too expensive for a team of our size"),
		chromedp.Submit(chromedp.ID("request-form")),
		chromedp.WaitVisible(chromedp.ID("request-status")),
	))
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("request-status")))
	require.NoError(t, err)
	require.Equal(t, "Open", status)
	reqURL, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	require.NoError(t, err)

	roi := f.asset(t, "ROI calculator", "https://example.com/roi")
	mkt := h.browser()
	mkt.login("mara@alpha.test", postgrestest.Password)
	p := mkt.get("/content/requests")
	require.Contains(t, p.text("#requests-table"), "ROI calculator", "marketing sees the queue")
	mkt.get(reqURL)
	p = mkt.post(reqURL, url.Values{"status": {"fulfilled"}, "asset_id": {roi.ID.String()}, "comment": {"Here you go"}})
	require.Equal(t, http.StatusSeeOther, p.status, p.text("#form-errors"))

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+"/notifications"),
		chromedp.WaitVisible(chromedp.ID("notifications")),
	))
	notes, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("notifications")))
	require.NoError(t, err)
	require.Contains(t, notes, "Your content request is fulfilled: ROI calculator")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+reqURL),
		chromedp.WaitVisible(chromedp.ID("request-status")),
	))
	browsertest.Screenshot(t, ctx, "content-request-fulfilled")
	status, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("request-status")))
	require.NoError(t, err)
	require.Equal(t, "Fulfilled", status)
	asset, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("request-asset")))
	require.NoError(t, err)
	require.Equal(t, "ROI calculator", asset)
	thread, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("request-thread")))
	require.NoError(t, err)
	require.Contains(t, thread, "Here you go")
}
