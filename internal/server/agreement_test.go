package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/sla"
)

// alwaysOpen makes tenant tn's default calendar 24/7, so clocks in these
// tests run on the wall clock whatever the hour the test runs at.
func alwaysOpen(t *testing.T, h *harness, tn postgrestest.Tenant) sla.Calendar {
	t.Helper()
	ctx := context.Background()
	cals, err := h.db.Store.FindCalendars(ctx, tn.ID)
	require.NoError(t, err)
	for _, c := range cals {
		if c.IsDefault {
			c, err := h.db.Store.UpdateCalendar(ctx, tn.ID, tn.Admin(), c.ID, sla.CalendarInput{Name: c.Name, TimeZone: c.TimeZone, AlwaysOpen: true}, h.clock.Now())
			require.NoError(t, err)
			return c
		}
	}
	t.Fatal("no default calendar")
	return sla.Calendar{}
}

// withAgreement saves clauses as the next version of tenant alpha.
func (f *salesFixture) withAgreement(t *testing.T, cs ...sla.Clause) sla.Agreement {
	t.Helper()
	ctx := context.Background()
	cur, err := f.h.db.Store.FindAgreement(ctx, f.h.a.ID)
	require.NoError(t, err)
	a, err := f.h.db.Store.SaveAgreement(ctx, f.h.a.ID, f.h.a.Admin(), postgres.SaveAgreementInput{BaseVersion: cur.Version, Clauses: cs}, f.h.clock.Now())
	require.NoError(t, err)
	return a
}

// breach hands a lead to rep and lets its 60-minute respond clock run out.
func (f *salesFixture) breach(t *testing.T, email string) (lead.Lead, postgres.Breach) {
	t.Helper()
	ctx := context.Background()
	l := f.handoff(t, email, f.rep)
	f.h.clock.Advance(61 * time.Minute)
	_, err := f.h.db.Store.SweepDueTimers(ctx, f.h.clock.Now(), 100, postgres.SweepOptions{BaseURL: "http://accord.test"})
	require.NoError(t, err)
	page, err := f.h.db.Store.FindBreaches(ctx, f.h.a.ID, postgres.SLAFilter{LeadID: &l.ID})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	return l, page.Items[0]
}

func TestAgreementPage_ReadAndEdit(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	enterprise := "enterprise"
	_, err := h.db.Store.ReplaceSegments(context.Background(), h.a.ID, h.a.Admin(), []string{"enterprise", "smb"}, h.clock.Now())
	require.NoError(t, err)
	f.withAgreement(t,
		sla.Clause{Kind: sla.KindRespond, TargetMinutes: 240, Scope: sla.Scope{Segment: &enterprise}},
		sla.Clause{Kind: sla.KindVolume, TargetCount: ptr(400)})

	t.Run("EveryoneReads", func(t *testing.T) {
		rep := h.browser()
		rep.login(f.rep.Email, postgrestest.Password)
		p := rep.get("/agreement")
		require.Equal(t, http.StatusOK, p.status)
		require.Contains(t, p.text("#side-sales"), "Sales accepts or rejects enterprise leads within 4 business hours")
		require.Contains(t, p.text("#side-marketing"), "0 of 400", "this period's standing")
		require.Contains(t, p.text("#side-marketing"), "judged from the next period", "a clause saved mid-period")
		require.Zero(t, p.doc.Find(`a[href="/agreement/edit"]`).Length(), "a rep has no edit link")
		require.Equal(t, http.StatusForbidden, rep.get("/agreement/edit").status)
		require.Equal(t, http.StatusForbidden, rep.post("/agreement", url.Values{"base_version": {"1"}, "count": {"0"}}).status)
	})

	admin := h.browser()
	admin.login(h.a.AdminEmail, postgrestest.Password)
	edit := admin.get("/agreement/edit")
	require.Equal(t, http.StatusOK, edit.status)
	require.Equal(t, 1, edit.doc.Find(`[name="base_version"][value="1"]`).Length())
	form := formValues(edit, "#agreement-form")
	require.Equal(t, "2", form.Get("count"))

	t.Run("BadInputSavesNothing", func(t *testing.T) {
		bad := cloneValues(form)
		bad.Set("c0.target", "0")
		bad.Set("apply_to_running", "false")
		bad.Set("action", "save")
		p := admin.post("/agreement", bad)
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		require.Contains(t, p.body, "target")
		bad = cloneValues(form)
		bad.Set("c0.target", "4")
		bad.Set("action", "save")
		p = admin.post("/agreement", bad)
		require.Equal(t, http.StatusUnprocessableEntity, p.status, "save asks whether to apply to running timers")
		require.Contains(t, p.text("body"), "running timers")
		a, err := h.db.Store.FindAgreement(context.Background(), h.a.ID)
		require.NoError(t, err)
		require.Equal(t, 1, a.Version)
	})

	t.Run("PreviewThenSave", func(t *testing.T) {
		in := cloneValues(form)
		in.Set("c0.target", "2")
		in.Set("c0.unit", "hours")
		pv := admin.post("/agreement/preview", in, "HX-Request", "true")
		require.Equal(t, http.StatusOK, pv.status, pv.body)
		require.Contains(t, pv.text("#preview-result"), "replayed", pv.body)
		in.Set("apply_to_running", "true")
		in.Set("action", "save")
		p := admin.post("/agreement", in)
		require.Equal(t, http.StatusSeeOther, p.status, p.body)
		show := admin.get("/agreement")
		require.Contains(t, show.text("#side-sales"), "within 2 business hours")
		require.Contains(t, show.text("#history"), "Version 2")
	})

	t.Run("StaleVersionIsAConflict", func(t *testing.T) {
		in := cloneValues(form) // still base version 1
		in.Set("apply_to_running", "false")
		in.Set("action", "save")
		p := admin.post("/agreement", in)
		require.Equal(t, http.StatusConflict, p.status)
		require.Contains(t, p.text("body"), "Someone saved a new version meanwhile")
	})
}

func TestCalendarEditor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.browser()
	admin.login(h.a.AdminEmail, postgrestest.Password)
	require.Equal(t, http.StatusOK, admin.get("/agreement/calendars/new").status)
	base := url.Values{"name": {"Sydney"}, "time_zone": {"Australia/Sydney"}, "hours_mon": {"09:00-12:00, 13:00-17:30"}}

	cases := map[string]struct {
		change func(url.Values)
		want   string
	}{
		"reversed interval": {func(v url.Values) { v.Set("hours_tue", "17:00-09:00") }, "ends before it starts"},
		"overlap":           {func(v url.Values) { v.Set("hours_wed", "09:00-12:00, 11:00-13:00") }, "overlap"},
		"unknown zone":      {func(v url.Values) { v.Set("time_zone", "Mars/Olympus") }, "time zone"},
		"holiday":           {func(v url.Values) { v.Set("holidays", "2026-13-40 Nope") }, "YYYY-MM-DD"},
	}
	for name, c := range cases {
		v := cloneValues(base)
		c.change(v)
		p := admin.post("/agreement/calendars", v)
		require.Equal(t, http.StatusUnprocessableEntity, p.status, name)
		require.Contains(t, strings.ToLower(p.text("form")), strings.ToLower(c.want), name)
	}
	cals, err := h.db.Store.FindCalendars(context.Background(), h.a.ID)
	require.NoError(t, err)
	require.Len(t, cals, 1, "nothing saved half-way")

	ok := cloneValues(base)
	ok.Set("holidays", "2026-12-25 Christmas Day\n2026-12-26 Boxing Day")
	p := admin.post("/agreement/calendars", ok)
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	cals, err = h.db.Store.FindCalendars(context.Background(), h.a.ID)
	require.NoError(t, err)
	require.Len(t, cals, 2)
	var sydney sla.Calendar
	for _, c := range cals {
		if c.Name == "Sydney" {
			sydney = c
		}
	}
	require.Len(t, sydney.Holidays, 2)
	require.Len(t, sydney.Hours[time.Monday], 2)

	t.Run("OtherTenant404", func(t *testing.T) {
		other := h.browser()
		other.login(h.b.AdminEmail, postgrestest.Password)
		require.Equal(t, http.StatusNotFound, other.get("/agreement/calendars/"+sydney.ID.String()).status)
		require.Equal(t, http.StatusNotFound, other.post("/agreement/calendars/"+sydney.ID.String(), without(ok, "csrf_token")).status)
	})
}

func TestBreachesPage(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	alwaysOpen(t, h, h.a)
	f.withAgreement(t, sla.Clause{Kind: sla.KindRespond, TargetMinutes: 60})
	late := f.handoff(t, "late@x.test", f.rep)
	f.h.clock.Advance(50 * time.Minute) // 83 %: at risk
	ctx := context.Background()
	_, err := h.db.Store.SweepDueTimers(ctx, h.clock.Now(), 100, postgres.SweepOptions{})
	require.NoError(t, err)

	rep := h.browser()
	rep.login(f.rep.Email, postgrestest.Password)
	p := rep.get("/breaches?tab=at_risk")
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.text("#timers-table"), "late")
	require.Contains(t, rep.get("/inbox").text("#inbox-table"), "10 min", "the inbox countdown")
	require.NotZero(t, rep.get("/inbox").doc.Find(".countdown-risk").Length(), "red when at risk")

	_, b := f.breach(t, "later@x.test")
	_ = late
	p = rep.get("/breaches?tab=breached")
	require.Contains(t, p.text("#breaches-table"), "later")
	require.Contains(t, p.text("#breaches-table"), "late", "the first lead breached too")

	// The rep acknowledges their breach in place.
	p = rep.post("/breaches/"+b.ID.String()+"/acknowledge", nil, "HX-Request", "true")
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Contains(t, p.body, "acknowledged")
	// A rep may not excuse.
	require.Equal(t, http.StatusForbidden, rep.post("/breaches/"+b.ID.String()+"/excuse", url.Values{"reason": {"dup"}}, "HX-Request", "true").status)

	// The manager asks to excuse; they may not approve their own request.
	mgr := h.browser()
	mgr.login(f.mgr.Email, postgrestest.Password)
	p = mgr.post("/breaches/"+b.ID.String()+"/excuse", url.Values{"reason": {""}}, "HX-Request", "true")
	require.Equal(t, http.StatusUnprocessableEntity, p.status, "a reason is required")
	p = mgr.post("/breaches/"+b.ID.String()+"/excuse", url.Values{"reason": {"Duplicate of an accepted lead"}}, "HX-Request", "true")
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Contains(t, p.body, "excuse asked")

	admin := h.browser()
	admin.login(h.a.AdminEmail, postgrestest.Password)
	require.Equal(t, http.StatusNotFound, h.browserFor(t, h.b).post("/breaches/"+b.ID.String()+"/approve", nil, "HX-Request", "true").status,
		"another tenant's admin gets 404")
	p = admin.post("/breaches/"+b.ID.String()+"/approve", nil, "HX-Request", "true")
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Contains(t, p.body, "Excused: it no longer counts")
	got, err := h.db.Store.FindBreach(ctx, h.a.ID, b.ID)
	require.NoError(t, err)
	require.True(t, got.Excused())

	t.Run("Filters", func(t *testing.T) {
		p := admin.get("/breaches?tab=breached&holder_id=" + f.rep2.ID.String())
		require.Equal(t, http.StatusOK, p.status)
		require.NotZero(t, p.doc.Find("#no-breaches").Length())
		p = admin.get("/breaches?tab=breached&side=sales&kind=respond&team_id=" + f.team.ID.String())
		require.Equal(t, 2, p.doc.Find("#breaches-table tbody tr").Length())
		require.Equal(t, http.StatusUnprocessableEntity, admin.get("/breaches?tab=breached&side=neither").status)
	})
}

// browserFor signs in tenant tn's admin.
func (h *harness) browserFor(t *testing.T, tn postgrestest.Tenant) *browser {
	t.Helper()
	b := h.browser()
	b.login(tn.AdminEmail, postgrestest.Password)
	return b
}

func TestLeadPage_ShowsClocksPerHolder(t *testing.T) {
	t.Parallel()
	f := newSalesFixture(t)
	h := f.h
	alwaysOpen(t, h, h.a)
	f.withAgreement(t, sla.Clause{Kind: sla.KindRespond, TargetMinutes: 240})
	l := f.handoff(t, "held@x.test", f.rep)
	h.clock.Advance(30 * time.Minute)
	p := systemPrincipal
	p.Tenant = h.a.Tenant
	_, err := h.db.Store.Assign(context.Background(), h.a.ID, p, l.ID, f.rep2.ID, h.clock.Now())
	require.NoError(t, err)
	h.clock.Advance(45 * time.Minute)

	admin := h.browserFor(t, h.a)
	page := admin.get("/leads/" + l.ID.String())
	require.Equal(t, http.StatusOK, page.status)
	clocks := page.text("#lead-timers")
	require.Contains(t, clocks, "Respond")
	require.Contains(t, clocks, "Running")
	require.Contains(t, clocks, "rey")
	require.Contains(t, clocks, "30 min")
	require.Contains(t, clocks, "rosa")

	status, body, _ := h.api("GET", "/leads/"+l.ID.String(), h.token(h.a, auth.ScopeRead), nil)
	require.Equal(t, http.StatusOK, status)
	timers := body["timers"].([]any)
	require.Len(t, timers, 1)
	require.Equal(t, f.rep2.ID.String(), timers[0].(map[string]any)["holder_id"])
}

// without copies v minus the keys given.
func without(v url.Values, keys ...string) url.Values {
	out := cloneValues(v)
	for _, k := range keys {
		out.Del(k)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// formValues reads the fields of the form sel as a browser would submit
// them (without the submit buttons).
func formValues(p page, sel string) url.Values {
	out := url.Values{}
	form := p.doc.Find(sel)
	form.Find("input").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		if name == "" {
			return
		}
		typ, _ := s.Attr("type")
		if (typ == "checkbox" || typ == "radio") && !s.Is("[checked]") {
			return
		}
		if typ == "submit" {
			return
		}
		val, _ := s.Attr("value")
		out.Add(name, val)
	})
	form.Find("select").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		opt := s.Find("option[selected]")
		if opt.Length() == 0 {
			opt = s.Find("option").First()
		}
		val, _ := opt.Attr("value")
		out.Set(name, val)
	})
	form.Find("textarea").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		out.Set(name, s.Text())
	})
	return out
}
