package worker

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/mail/mailtest"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// mailParts decodes a multipart/alternative message into its text and
// HTML parts.
func mailParts(t testing.TB, m mailtest.Received) (text, html string) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(m.Data))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		require.NoError(t, err)
		switch {
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain"):
			text = string(b)
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/html"):
			html = string(b)
		}
	}
	require.NotEmpty(t, text)
	require.NotEmpty(t, html)
	return text, html
}

// digestCards reads the KPI cards of a digest's HTML: label → value, delta
// and previous value.
func digestCards(t testing.TB, doc *goquery.Document) map[string][3]string {
	t.Helper()
	out := map[string][3]string{}
	doc.Find(`[data-testid=digest-card]`).Each(func(_ int, s *goquery.Selection) {
		get := func(id string) string { return strings.TrimSpace(s.Find(`[data-testid=` + id + `]`).Text()) }
		out[get("card-label")] = [3]string{get("card-value"), get("card-delta"), strings.TrimPrefix(get("card-previous"), "previous: ")}
	})
	return out
}

// TestDigest_WeeklyAndMonthly: over a small history in Europe/Berlin whose
// figures are worked out by hand below, the weekly pipeline review of the
// week of 23 Nov 2026 reaches the admin, the marketer and the manager (not
// the rep, not the viewer) once, however often and however concurrently
// the worker looks; the monthly performance report of November follows on
// 1 December with the scorecard.
func TestDigest_WeeklyAndMonthly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	at := func(day, hour, min int) time.Time {
		return time.Date(2026, time.November, day, hour, min, 0, 0, berlin)
	}
	monday := at(30, 9, 0) // the morning after the week of 23 Nov
	volume := sla.Clause{Kind: sla.KindVolume, TargetCount: ptr(5)}
	f := newSLAFixture(t, at(1, 0, 0).AddDate(0, -2, 0), ladderClause(), volume)
	postgrestest.CreateMember(t, f.db.Store, f.tn, "mkt@acme.test", "Mo Marketing", tenant.RoleMarketing, at(1, 0, 0))
	postgrestest.CreateMember(t, f.db.Store, f.tn, "exec@acme.test", "Vi Viewer", tenant.RoleViewer, at(1, 0, 0))

	// History, each event stored when it happened (as live use would), so
	// that decisions in time meet their clocks.
	mk := func(name, source string, handoff time.Time) lead.Lead {
		t.Helper()
		email := strings.ToLower(name) + "@lead.test"
		created := handoff.Add(-time.Hour)
		res, err := f.db.Store.UpsertLead(ctx, f.tn.ID, f.api, lead.Input{Email: &email, FirstName: &name, Source: &source, CreatedAt: &created}, created)
		require.NoError(t, err)
		l, err := f.db.Store.Transition(ctx, f.tn.ID, f.api, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep.ID, At: &handoff}, handoff)
		require.NoError(t, err)
		return l
	}
	move := func(l lead.Lead, in lead.TransitionInput, when time.Time) {
		t.Helper()
		in.At = &when
		_, err := f.db.Store.Transition(ctx, f.tn.ID, f.api, l.ID, in, when)
		require.NoError(t, err)
	}
	call := func(l lead.Lead, when time.Time) {
		t.Helper()
		_, _, err := f.db.Store.AddActivity(ctx, f.tn.ID, f.api, l.ID, lead.ActivityInput{Kind: lead.ActCall, At: &when}, when)
		require.NoError(t, err)
	}
	cents := func(c int64) *lead.Cents { v := lead.Cents(c); return &v }
	// The week before (16–22 Nov): D, handed off, called never, accepted
	// within the hour, an opportunity of 5,000.
	d := mk("D", "webinar", at(17, 9, 0))
	move(d, lead.TransitionInput{To: lead.StageAccepted}, at(17, 9, 30))
	move(d, lead.TransitionInput{To: lead.StageOpportunity, Amount: cents(5_000_00)}, at(20, 10, 0))
	// The week of 23 Nov: A called after 30 minutes, accepted, an
	// opportunity of 10,000; B rejected untouched; C called after two hours,
	// never decided (its respond clock breached at 10:00); D won for 6,000.
	a := mk("A", "webinar", at(23, 10, 0))
	call(a, at(23, 10, 30))
	move(a, lead.TransitionInput{To: lead.StageAccepted}, at(23, 10, 40))
	move(a, lead.TransitionInput{To: lead.StageOpportunity, Amount: cents(10_000_00)}, at(25, 10, 0))
	b := mk("B", "paid_search", at(24, 9, 0))
	move(b, lead.TransitionInput{To: lead.StageRejected, Reason: "no_budget"}, at(24, 9, 20))
	c := mk("C", "paid_search", at(25, 9, 0))
	call(c, at(25, 11, 0))
	move(d, lead.TransitionInput{To: lead.StageWon, Amount: cents(6_000_00)}, at(26, 15, 0))
	// E, handed off this morning: its clock runs.
	mk("E", "organic", at(30, 8, 50))

	smtp := mailtest.NewServer(t)
	host, port := smtp.Addr()
	clock := &fixedClock{now: monday}
	w, err := New(Options{Logger: discard, Store: f.db.Store, Now: clock.Now, NoBreachLoop: true, Digests: true,
		Mailer:  mail.NewSender(mail.Config{Host: host, Port: port, From: "Accord <accord@acme.test>", TLS: "none"}, time.Now),
		BaseURL: "https://accord.example"})
	require.NoError(t, err)
	// C's clock breached on Wednesday: the sweep records it (too old to
	// notify anyone).
	_, err = w.sweepOnce(ctx, monday)
	require.NoError(t, err)
	startWorker(t, w) // looks for digests at start, beside the calls below

	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			_, err := w.sendDigests(ctx, monday)
			require.NoError(t, err)
		})
	}
	wg.Wait()
	res, err := w.sendDigests(ctx, monday.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, res.Sent, "sent already")

	c2 := f.owner(t)
	waitFor(t, 30*time.Second, "the weekly digests", func() bool { return len(smtp.Messages()) >= 3 && jobsSettled(t, c2) })
	msgs := smtp.Messages()
	require.Len(t, msgs, 3, "once per recipient")
	var to []string
	for _, m := range msgs {
		to = append(to, m.To...)
		require.Equal(t, "Weekly pipeline review — week of 23 Nov 2026", decodeSubject(t, m))
	}
	sort.Strings(to)
	require.Equal(t, []string{"admin@acme.test", "mgr@acme.test", "mkt@acme.test"}, to, "the chosen roles only")

	text, html := mailParts(t, msgs[0])
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	require.NoError(t, err)
	require.Zero(t, doc.Find("script, link, img, style").Length(), "nothing a mail client would block")
	require.Equal(t, "23 Nov – 29 Nov 2026 · compared with 16 Nov – 22 Nov 2026", strings.Join(strings.Fields(doc.Find("[data-testid=digest-period]").Text()), " "))
	require.Equal(t, map[string][3]string{
		// A, B and C against D.
		"Handoffs": {"3", "+200 %", "1"},
		// A accepted, B rejected, C undecided; D was accepted.
		"Lead acceptance rate": {"50.0 %", "−50.0 pp", "100.0 %"},
		// A became an opportunity; so did D the week before.
		"Lead → opportunity": {"33.3 %", "−66.7 pp", "100.0 %"},
		// D won, nothing lost; nothing closed the week before.
		"Win rate": {"100.0 %", "no data", "no data"},
		// A after 30 minutes, C after 120: the median is 75; D never touched.
		"Speed to lead (median)": {"1 h 15 min", "no data", "no data"},
		// Respond: A and B met, C breached; D met the week before.
		"SLA compliance — sales":     {"66.7 %", "−33.3 pp", "100.0 %"},
		"SLA compliance — marketing": {"no data", "no data", "no data"},
		// A's 10,000 against D's 5,000.
		"Pipeline created": {"EUR 10,000", "+100 %", "EUR 5,000"},
		// D's won amount replaces its opportunity's; nothing won before.
		"Revenue won": {"EUR 6,000", "no data", "EUR 0"},
	}, digestCards(t, doc))
	var funnel []string
	doc.Find("[data-testid=funnel-row]").Each(func(_ int, s *goquery.Selection) {
		funnel = append(funnel, s.Find("[data-testid=funnel-count]").Text()+" "+s.Find("[data-testid=funnel-share]").Text())
	})
	require.Equal(t, []string{"3 100.0 %", "1 33.3 %", "1 33.3 %", "1 33.3 %", "0 0.0 %"}, funnel, "mql, accepted, sql (A skipped it), opportunity, won")
	var sources []string
	doc.Find("[data-testid=source-row]").Each(func(_ int, s *goquery.Selection) {
		var cells []string
		s.Find("td").Each(func(_ int, td *goquery.Selection) {
			cells = append(cells, strings.Join(strings.Fields(td.Text()), " "))
		})
		sources = append(sources, strings.Join(cells, " | "))
	})
	require.Equal(t, []string{
		"paid_search | 2 | 0 (0.0 %) | 0 | EUR 0 | EUR 0",
		"webinar | 1 | 1 (100.0 %) | 1 | EUR 10,000 | EUR 6,000",
	}, sources)
	require.Equal(t, "1 running, 0 at risk · see breaches", strings.Join(strings.Fields(doc.Find("#digest-timers").Text()), " "), "E's clock")
	require.Equal(t, "https://accord.example/?from=2026-11-23&to=2026-11-30", doc.Find("#digest-dashboard-link").AttrOr("href", ""))
	require.Contains(t, text, "- Handoffs: 3 (+200 %; previous 1)")
	require.Contains(t, text, "- Win rate: 100.0 % (no data; previous no data)")
	require.Contains(t, text, "https://accord.example/?from=2026-11-23&to=2026-11-30")
	require.NotContains(t, text, "<")

	// 1 December: the monthly report of November, once; the week is not sent again.
	dec1 := time.Date(2026, time.December, 1, 9, 0, 0, 0, berlin)
	clock.Set(dec1)
	for range 2 {
		_, err := w.sendDigests(ctx, dec1)
		require.NoError(t, err)
	}
	waitFor(t, 30*time.Second, "the monthly digests", func() bool { return len(smtp.Messages()) >= 6 && jobsSettled(t, c2) })
	msgs = smtp.Messages()
	require.Len(t, msgs, 6)
	monthly := msgs[3:]
	for _, m := range monthly {
		require.Equal(t, "Monthly performance report — November 2026", decodeSubject(t, m))
	}
	_, html = mailParts(t, monthly[0])
	doc, err = goquery.NewDocumentFromReader(strings.NewReader(html))
	require.NoError(t, err)
	cards := digestCards(t, doc)
	require.Equal(t, "5", cards["Handoffs"][0], "A, B, C, D and E")
	require.Equal(t, "EUR 15,000", cards["Pipeline created"][0], "D's 5,000 and A's 10,000")
	require.Zero(t, doc.Find("#digest-funnel").Length(), "the monthly report has the scorecard instead")
	var rows []string
	doc.Find("[data-testid=scorecard-row]").Each(func(_ int, s *goquery.Selection) {
		get := func(id string) string { return strings.TrimSpace(s.Find(`[data-testid=` + id + `]`).Text()) }
		rows = append(rows, get("scorecard-actual")+" / "+get("scorecard-target")+" "+get("scorecard-status"))
	})
	// Respond: A, B, D met, C breached (E still running); volume: five handoffs.
	require.ElementsMatch(t, []string{"75 % / 100 % Missed", "5 / 5 Met"}, rows)
}
