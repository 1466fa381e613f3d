package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/browsertest"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
)

// salesFixture is tenant alpha with a sales team (a manager, two reps) and
// a marketing user, and routing to the team.
type salesFixture struct {
	h         *harness
	team      tenant.Team
	mgr, rep  auth.Member
	rep2, mkt auth.Member
}

func newSalesFixture(t *testing.T) *salesFixture {
	t.Helper()
	h := newHarness(t)
	ctx := context.Background()
	f := &salesFixture{h: h}
	f.mgr = h.member(h.a, "mgr@alpha.test", tenant.RoleManager)
	f.rep = h.member(h.a, "rey@alpha.test", tenant.RoleRep)
	f.rep2 = h.member(h.a, "rosa@alpha.test", tenant.RoleRep)
	f.mkt = h.member(h.a, "mara@alpha.test", tenant.RoleMarketing)
	var err error
	f.team, err = h.db.Store.CreateTeam(ctx, h.a.ID, h.a.Admin(), tenant.TeamInput{Name: "Sales", Side: tenant.SideSales, ManagerID: &f.mgr.ID}, h.clock.Now())
	require.NoError(t, err)
	for _, m := range []auth.Member{f.mgr, f.rep, f.rep2} {
		_, err := h.db.Store.UpdateMember(ctx, h.a.ID, h.a.Admin(), m.ID, auth.MemberUpdate{TeamID: &f.team.ID}, h.clock.Now())
		require.NoError(t, err)
	}
	require.NoError(t, h.db.Store.ReplaceRouting(ctx, h.a.ID, h.a.Admin(), lead.Routing{DefaultTeamID: &f.team.ID}, h.clock.Now()))
	return f
}

var systemPrincipal = auth.Principal{Type: auth.ActorToken, Name: "fixture", Scope: auth.ScopeAdmin}

// handoff creates a lead and hands it to owner.
func (f *salesFixture) handoff(t *testing.T, email string, owner auth.Member) lead.Lead {
	t.Helper()
	ctx := context.Background()
	p := systemPrincipal
	p.Tenant = f.h.a.Tenant
	res, err := f.h.db.Store.UpsertLead(ctx, f.h.a.ID, p, lead.Input{Email: &email, FirstName: strPtr(strings.Split(email, "@")[0]), Company: strPtr("Initech")}, f.h.clock.Now())
	require.NoError(t, err)
	l, err := f.h.db.Store.Transition(ctx, f.h.a.ID, p, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &owner.ID}, f.h.clock.Now())
	require.NoError(t, err)
	return l
}

func strPtr(s string) *string { return &s }

func TestInbox(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	first := f.handoff(t, "first@lead.test", f.rep)
	h.clock.Advance(10 * time.Minute)
	second := f.handoff(t, "second@lead.test", f.rep)
	other := f.handoff(t, "other@lead.test", f.rep2)
	h.clock.Advance(25 * time.Minute)

	b := h.browser()
	b.login("rey@alpha.test", postgrestest.Password)
	p := b.get("/inbox")
	require.Equal(t, http.StatusOK, p.status)
	rows := p.doc.Find("#inbox-table tbody tr")
	require.Equal(t, 2, rows.Length(), "only the rep's own leads")
	require.Equal(t, "lead-"+first.ID.String(), rows.First().AttrOr("id", ""), "longest waiting first")
	require.Equal(t, "waiting 35 min", strings.TrimSpace(rows.First().Find(".waiting .muted").Text()))
	require.NotContains(t, p.body, other.ID.String())

	hx := func(path string, form url.Values) page {
		return b.post(path, form, "HX-Request", "true", "X-CSRF-Token", b.csrf)
	}
	t.Run("Accept", func(t *testing.T) {
		p := hx("/inbox/"+first.ID.String()+"/accept", url.Values{"version": {strconv.Itoa(first.Version)}})
		require.Equal(t, http.StatusOK, p.status)
		require.True(t, strings.HasPrefix(p.body, `<tr id="lead-`+first.ID.String()+`"`), "the row comes back in place")
		require.Contains(t, p.body, `data-stage="accepted"`)
		require.Contains(t, p.body, "Accepted. It is yours to work now.")
	})

	t.Run("RejectNeedsReason", func(t *testing.T) {
		p := hx("/inbox/"+second.ID.String()+"/reject", url.Values{"version": {strconv.Itoa(second.Version)}, "reason": {""}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		require.Contains(t, p.body, "pick the reason")
		require.Contains(t, p.body, `<details class="action" open>`, "the reject form stays open")
	})

	t.Run("Reject", func(t *testing.T) {
		p := hx("/inbox/"+second.ID.String()+"/reject", url.Values{"version": {strconv.Itoa(second.Version)}, "reason": {"no_budget"}, "note": {"Student project"}})
		require.Equal(t, http.StatusOK, p.status)
		require.Contains(t, p.body, `data-stage="rejected"`)
		require.Contains(t, p.body, "row-done")
		events, err := h.db.Store.FindTimeline(context.Background(), h.a.ID, second.ID)
		require.NoError(t, err)
		last := events[len(events)-1]
		require.Equal(t, "no_budget", last.Reason)
		require.Equal(t, "Student project", last.Note)
		require.Equal(t, "rey", last.Actor.Name)
	})

	t.Run("StaleVersionShowsCurrentState", func(t *testing.T) {
		third := f.handoff(t, "third@lead.test", f.rep)
		// The manager accepts it on the rep's behalf meanwhile.
		mp := auth.Principal{Type: auth.ActorUser, ID: f.mgr.ID, Name: "mgr", Role: tenant.RoleManager, Tenant: h.a.Tenant, TeamID: &f.team.ID}
		_, err := h.db.Store.Transition(context.Background(), h.a.ID, mp, third.ID, lead.TransitionInput{To: lead.StageAccepted}, h.clock.Now())
		require.NoError(t, err)
		p := hx("/inbox/"+third.ID.String()+"/reject", url.Values{"version": {strconv.Itoa(third.Version)}, "reason": {"no_budget"}})
		require.Equal(t, http.StatusConflict, p.status)
		require.Contains(t, p.body, "Someone else changed this lead meanwhile: it is now Accepted")
		require.Contains(t, p.body, `data-stage="accepted"`)
	})

	t.Run("TouchAndSnooze", func(t *testing.T) {
		p := hx("/inbox/"+first.ID.String()+"/touch", url.Values{"kind": {"call"}, "note": {"Left a voicemail"}})
		require.Equal(t, http.StatusOK, p.status)
		require.Contains(t, p.body, "Call logged.")
		p = hx("/inbox/"+first.ID.String()+"/touch", url.Values{"kind": {"page_view"}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status)

		l, err := h.db.Store.FindLead(context.Background(), h.a.ID, first.ID)
		require.NoError(t, err)
		h.clock.Advance(time.Minute)
		tomorrow := h.clock.Now().In(time.FixedZone("", 0)).AddDate(0, 0, 2).Format(time.DateOnly)
		p = hx("/inbox/"+first.ID.String()+"/snooze", url.Values{"version": {strconv.Itoa(l.Version)}, "until": {tomorrow}, "reason": {""}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		require.Contains(t, p.body, `data-field-error="reason_snooze"`)
		p = hx("/inbox/"+first.ID.String()+"/snooze", url.Values{"version": {strconv.Itoa(l.Version)}, "until": {tomorrow}, "reason": {"Call back on Thursday"}})
		require.Equal(t, http.StatusOK, p.status)
		require.Contains(t, p.body, "Snoozed until")
		events, err := h.db.Store.FindTimeline(context.Background(), h.a.ID, first.ID)
		require.NoError(t, err)
		require.Equal(t, "pause", events[len(events)-1].Type)
	})

	t.Run("OtherRepsLead", func(t *testing.T) {
		p := hx("/inbox/"+other.ID.String()+"/accept", url.Values{"version": {strconv.Itoa(other.Version)}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		require.Contains(t, p.body, "is for the lead&#39;s owner")
		require.Equal(t, http.StatusNotFound, b.get("/leads/"+other.ID.String()).status, "a rep opens only their own leads")
	})

	t.Run("OtherTenantNotFound", func(t *testing.T) {
		h.member(h.b, "rep@beta.test", tenant.RoleRep)
		c := h.browser()
		c.login("rep@beta.test", postgrestest.Password)
		c.get("/inbox")
		p := c.post("/inbox/"+first.ID.String()+"/accept", url.Values{}, "HX-Request", "true", "X-CSRF-Token", c.csrf)
		require.Equal(t, http.StatusNotFound, p.status)
		require.Equal(t, http.StatusNotFound, c.get("/leads/"+first.ID.String()).status)
	})
}

func TestInbox_ManagerReassign(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	l := f.handoff(t, "move@lead.test", f.rep)
	b := h.browser()
	b.login("mgr@alpha.test", postgrestest.Password)
	p := b.get("/inbox")
	require.Equal(t, 1, p.doc.Find("#inbox-table tbody tr").Length(), "the manager sees the team's leads")
	require.Equal(t, 3, p.doc.Find("#owner-"+l.ID.String()+" option").Length(), "the team's reps and its manager")
	p = b.post("/inbox/"+l.ID.String()+"/reassign", url.Values{"owner_id": {f.rep2.ID.String()}}, "HX-Request", "true", "X-CSRF-Token", b.csrf)
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "Reassigned to rosa.")
	moved, err := h.db.Store.FindLead(context.Background(), h.a.ID, l.ID)
	require.NoError(t, err)
	require.Equal(t, f.rep2.ID, *moved.OwnerID)
	_, unread, err := h.db.Store.FindNotifications(context.Background(), h.a.ID, f.rep2.ID, 10)
	require.NoError(t, err)
	require.Equal(t, 1, unread, "the new owner is told")

	p = b.post("/inbox/"+l.ID.String()+"/reassign", url.Values{"owner_id": {f.mkt.ID.String()}}, "HX-Request", "true", "X-CSRF-Token", b.csrf)
	require.Equal(t, http.StatusUnprocessableEntity, p.status, "marketing does not own leads")

	rep := h.browser()
	rep.login("rosa@alpha.test", postgrestest.Password)
	rep.get("/inbox")
	p = rep.post("/inbox/"+l.ID.String()+"/reassign", url.Values{"owner_id": {f.rep.ID.String()}}, "HX-Request", "true", "X-CSRF-Token", rep.csrf)
	require.Equal(t, http.StatusForbidden, p.status, "reps do not reassign")
	p = rep.get("/notifications")
	require.Contains(t, p.text("#notifications"), "A lead was assigned to you")
	require.Equal(t, "1", rep.get("/").text("#bell-count"))
}

func TestLeadsPages(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	for i := 0; i < 30; i++ {
		f.handoff(t, "lead"+strconv.Itoa(i)+"@list.test", f.rep)
	}
	target := f.handoff(t, "needle@haystack.test", f.rep2)

	b := h.browser()
	b.login(h.a.AdminEmail, postgrestest.Password)
	p := b.get("/leads")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, 31, p.doc.Find("#leads-table tbody tr").Length())

	p = b.get("/leads?q=haystack")
	require.Equal(t, 1, p.doc.Find("#leads-table tbody tr").Length())
	p = b.get("/leads?owner_id=" + f.rep.ID.String() + "&stage=mql")
	require.Equal(t, 30, p.doc.Find("#leads-table tbody tr").Length())
	p = b.get("/leads?stage=nonsense")
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.text("#form-errors"), "correct")

	t.Run("Paging", func(t *testing.T) {
		// 31 leads, 50 a page by default: use the API's limit through the page.
		p := b.get("/leads?limit=20")
		require.Equal(t, 20, p.doc.Find("#leads-table tbody tr").Length())
		next, ok := p.doc.Find("#next-page").Attr("href")
		require.True(t, ok)
		p = b.get(next)
		require.Equal(t, 11, p.doc.Find("#leads-table tbody tr").Length())
		require.Zero(t, p.doc.Find("#next-page").Length())
		require.Equal(t, 1, p.doc.Find("#first-page").Length())
	})

	t.Run("LeadPageAndMoves", func(t *testing.T) {
		p := b.get("/leads/" + target.ID.String())
		require.Equal(t, http.StatusOK, p.status)
		require.Equal(t, "needle", p.text("#lead-name"))
		require.Contains(t, p.text("#lead-timeline"), "Handed off to sales")
		require.Contains(t, p.text("#lead-timeline"), "Assigned to rosa")
		require.Equal(t, 1, p.doc.Find(`form[data-move="accepted"]`).Length(), "an admin may accept")
		p = b.post("/leads/"+target.ID.String()+"/transitions", url.Values{"to": {"rejected"}, "version": {strconv.Itoa(target.Version)}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		require.Contains(t, p.text(`form[data-move="rejected"]`), "reason")
		p = b.post("/leads/"+target.ID.String()+"/transitions", url.Values{"to": {"accepted"}, "version": {strconv.Itoa(target.Version)}})
		require.Equal(t, http.StatusSeeOther, p.status)
		p = b.get("/leads/" + target.ID.String())
		require.Contains(t, p.text("#flash"), "Moved to Accepted")
		require.Equal(t, 1, p.doc.Find(`form[data-move="opportunity"]`).Length())
		p = b.post("/leads/"+target.ID.String()+"/transitions", url.Values{"to": {"opportunity"}, "amount": {"12,500.50"}, "version": {strconv.Itoa(target.Version + 1)}})
		require.Equal(t, http.StatusSeeOther, p.status)
		p = b.get("/leads/" + target.ID.String())
		require.Contains(t, p.text("#lead-details"), "12500.50 EUR")
		p = b.post("/leads/"+target.ID.String()+"/activities", url.Values{"kind": {"page_view"}, "url": {"javascript:alert(1)"}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		require.Contains(t, p.text("#lead-activity"), "http(s) URL")
		p = b.post("/leads/"+target.ID.String()+"/activities", url.Values{"kind": {"meeting"}, "note": {"Demo booked"}})
		require.Equal(t, http.StatusSeeOther, p.status)
		require.Contains(t, b.get("/leads/"+target.ID.String()).text("#lead-timeline"), "Demo booked")
	})

	t.Run("Visibility", func(t *testing.T) {
		rep := h.browser()
		rep.login("rosa@alpha.test", postgrestest.Password)
		p := rep.get("/leads")
		require.Equal(t, 1, p.doc.Find("#leads-table tbody tr").Length(), "a rep lists their own leads")
		other := h.browser()
		other.login(h.b.AdminEmail, postgrestest.Password)
		require.Equal(t, http.StatusNotFound, other.get("/leads/"+target.ID.String()).status)
		require.Equal(t, 0, other.get("/leads").doc.Find("#leads-table tbody tr").Length())
		require.Equal(t, http.StatusNotFound, other.get("/leads/"+uuid.NewString()).status)
		require.Equal(t, http.StatusNotFound, other.get("/leads/not-a-uuid").status)
	})
}

// TestBrowser_InboxAcceptReject: a rep accepts one lead and rejects another
// with a reason from the inbox; each row updates in place without a reload.
func TestBrowser_InboxAcceptReject(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	a := f.handoff(t, "ana@prospect.test", f.rep)
	r := f.handoff(t, "bob@prospect.test", f.rep)
	h.clock.Advance(20 * time.Minute)
	ctx := browsertest.New(t, 60*time.Second)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), "rey@alpha.test"),
		chromedp.SendKeys(chromedp.ID("password"), postgrestest.Password),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(chromedp.ID("dashboard")),
		chromedp.Navigate(h.ts.URL+"/inbox"),
		chromedp.WaitVisible(chromedp.ID("inbox-table")),
		// A marker that a full page load would wipe out.
		chromedp.Evaluate[chromedp.Void](`window.__noReload = true`),
	))
	browsertest.Screenshot(t, ctx, "inbox-before")

	rowA := "#lead-" + a.ID.String()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(rowA+` button[data-action="accept"]`)),
		chromedp.WaitVisible(chromedp.CSS(rowA+`[data-stage="accepted"] .row-message-success`)),
	))
	rowR := "#lead-" + r.ID.String()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(rowR+` summary[data-action="reject"]`)),
		chromedp.WaitVisible(chromedp.CSS(rowR+` select[name=reason]`)),
		chromedp.SetValue(chromedp.CSS(rowR+` select[name=reason]`), "not_icp"),
		chromedp.SendKeys(chromedp.CSS(rowR+` input[name=note]`), "Agency, not a buyer"),
		chromedp.Click(chromedp.CSS(rowR+` form[hx-post$="/reject"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(rowR+`[data-stage="rejected"]`)),
	))
	browsertest.Screenshot(t, ctx, "inbox-after")
	noReload, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true`))
	require.NoError(t, err)
	require.True(t, noReload, "the page was not reloaded")
	badge, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(rowA+` [data-stage-badge]`)))
	require.NoError(t, err)
	require.Equal(t, "Accepted", badge)

	got, err := h.db.Store.FindLead(context.Background(), h.a.ID, r.ID)
	require.NoError(t, err)
	require.Equal(t, lead.StageRejected, got.Stage)
	events, err := h.db.Store.FindTimeline(context.Background(), h.a.ID, r.ID)
	require.NoError(t, err)
	require.Equal(t, "not_icp", events[len(events)-1].Reason)
	require.Equal(t, "Agency, not a buyer", events[len(events)-1].Note)
}

// TestInbox_FullPageLinksToTheRest: a rep with more open leads than an
// inbox page holds is told so and sent to the lead list filtered to them;
// a page that is not full says nothing of the kind.
func TestInbox_FullPageLinksToTheRest(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	ctx := context.Background()
	f.handoff(t, "one@lead.test", f.rep)
	b := h.browser()
	b.login("rey@alpha.test", postgrestest.Password)
	p := b.get("/inbox")
	require.Equal(t, http.StatusOK, p.status)
	require.Zero(t, p.doc.Find("#inbox-more").Length(), "one lead: the whole inbox is shown")

	conn := h.db.OwnerConn(t)
	_, err := conn.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, false)`, h.a.ID.String())
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `
		INSERT INTO leads (tenant_id, id, email, stage, stage_changed_at, owner_id, currency, created_at, updated_at)
		SELECT $1, gen_random_uuid(), 'backlog' || g || '@lead.test', 'accepted', $3, $2, 'EUR', $3, $3
		FROM generate_series(1, $4::int) g`, h.a.ID, f.rep.ID, h.clock.Now().Add(-time.Hour), postgres.InboxLimit)
	require.NoError(t, err)
	p = b.get("/inbox")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, postgres.InboxLimit, p.doc.Find("#inbox-table tbody tr").Length())
	more := p.doc.Find("#inbox-more")
	require.Equal(t, 1, more.Length(), "a full page says there may be more")
	require.Contains(t, more.Text(), "first 200 leads")
	require.Equal(t, "/leads?owner_id="+f.rep.ID.String(), more.Find("a").AttrOr("href", ""))
}
