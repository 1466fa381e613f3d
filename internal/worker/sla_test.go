package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/mail/mailtest"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/webhook"
)

// t0 is a fixed present for the tests that do not need the wall clock.
var t0 = time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)

// ladderClause is a 60-minute respond clause (at risk at 45 minutes) whose
// ladder notifies the holder and their manager at the breach and the admins
// 60 minutes later.
func ladderClause() sla.Clause {
	return sla.Clause{Kind: sla.KindRespond, TargetMinutes: 60, Escalation: []sla.Step{
		{AfterMinutes: 0, Notify: []string{"holder", "manager"}},
		{AfterMinutes: 60, Notify: []string{"role:admin"}},
	}}
}

// slaFixture is tenant acme with an always-open default calendar, a rep on
// a team managed by mgr, and an agreement.
type slaFixture struct {
	db       *postgrestest.DB
	tn       postgrestest.Tenant
	rep, mgr auth.Member
	api      auth.Principal
}

// newSLAFixture builds the fixture as of created with clauses (default:
// ladderClause).
func newSLAFixture(t testing.TB, created time.Time, clauses ...sla.Clause) *slaFixture {
	t.Helper()
	ctx := context.Background()
	if len(clauses) == 0 {
		clauses = []sla.Clause{ladderClause()}
	}
	db := postgrestest.NewDB(t)
	f := &slaFixture{db: db, tn: postgrestest.CreateTenant(t, db.Store, "acme", created)}
	f.mgr = postgrestest.CreateMember(t, db.Store, f.tn, "mgr@acme.test", "Mia Manager", tenant.RoleManager, created)
	f.rep = postgrestest.CreateMember(t, db.Store, f.tn, "rep@acme.test", "Rey Rep", tenant.RoleRep, created)
	team, err := db.Store.CreateTeam(ctx, f.tn.ID, f.tn.Admin(), tenant.TeamInput{Name: "Sales", Side: tenant.SideSales, ManagerID: &f.mgr.ID}, created)
	require.NoError(t, err)
	for _, m := range []auth.Member{f.rep, f.mgr} {
		_, err := db.Store.UpdateMember(ctx, f.tn.ID, f.tn.Admin(), m.ID, auth.MemberUpdate{TeamID: &team.ID}, created)
		require.NoError(t, err)
	}
	cals, err := db.Store.FindCalendars(ctx, f.tn.ID)
	require.NoError(t, err)
	for _, c := range cals {
		if c.IsDefault {
			_, err := db.Store.UpdateCalendar(ctx, f.tn.ID, f.tn.Admin(), c.ID, sla.CalendarInput{Name: c.Name, TimeZone: c.TimeZone, AlwaysOpen: true}, created)
			require.NoError(t, err)
		}
	}
	_, err = db.Store.SaveAgreement(ctx, f.tn.ID, f.tn.Admin(), postgres.SaveAgreementInput{BaseVersion: 0, Clauses: clauses}, created)
	require.NoError(t, err)
	f.api = auth.Principal{Type: auth.ActorToken, ID: uuid.New(), Name: "CRM sync", Scope: auth.ScopeIngest, Tenant: f.tn.Tenant}
	// The calendar edit queued a recompute of (no) running timers; drop it
	// so that every job a test sees is one it caused.
	_, err = f.owner(t).Exec(ctx, `DELETE FROM river.river_job`)
	require.NoError(t, err)
	return f
}

// handoff creates lead name and hands it to the rep at at, as stored at
// recorded (at <= recorded; an earlier at is history).
func (f *slaFixture) handoff(t testing.TB, name string, at, recorded time.Time) lead.Lead {
	t.Helper()
	ctx := context.Background()
	email := strings.ToLower(name) + "@lead.test"
	res, err := f.db.Store.UpsertLead(ctx, f.tn.ID, f.api, lead.Input{Email: &email, FirstName: &name, Company: ptr("Initech"), CreatedAt: &at}, recorded)
	require.NoError(t, err)
	l, err := f.db.Store.Transition(ctx, f.tn.ID, f.api, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep.ID, At: &at}, recorded)
	require.NoError(t, err)
	return l
}

// handoffMany is handoff for n leads, a few at a time; spec gives the i-th
// lead's name, handoff and record times.
func (f *slaFixture) handoffMany(t testing.TB, n int, spec func(i int) (string, time.Time, time.Time)) []lead.Lead {
	t.Helper()
	out := make([]lead.Lead, n)
	errs := make(chan error, 4)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				name, at, recorded := spec(i)
				email := strings.ToLower(name) + "@lead.test"
				ctx := context.Background()
				res, err := f.db.Store.UpsertLead(ctx, f.tn.ID, f.api, lead.Input{Email: &email, FirstName: &name, CreatedAt: &at}, recorded)
				if err == nil {
					out[i], err = f.db.Store.Transition(ctx, f.tn.ID, f.api, res.Lead.ID, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep.ID, At: &at}, recorded)
				}
				if err != nil {
					errs <- fmt.Errorf("lead %s: %w", name, err)
					for range next {
					}
					return
				}
			}
		}()
	}
	for i := range n {
		select {
		case next <- i:
		case err := <-errs:
			close(next)
			wg.Wait()
			t.Fatal(err)
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	return out
}

// endpoint registers a webhook endpoint for events.
func (f *slaFixture) endpoint(t testing.TB, url, format string, events ...string) postgres.WebhookEndpoint {
	t.Helper()
	ep, err := f.db.Store.CreateWebhookEndpoint(context.Background(), f.tn.ID, f.tn.Admin(), url, events, format, t0.Add(-time.Hour))
	require.NoError(t, err)
	return ep
}

// owner is a connection as the schema owner inside tenant acme, for reading
// what the worker wrote.
func (f *slaFixture) owner(t testing.TB) *pgx.Conn {
	t.Helper()
	c := f.db.OwnerConn(t)
	_, err := c.Exec(context.Background(), `SELECT set_config('accord.tenant_id', $1, false)`, f.tn.ID.String())
	require.NoError(t, err)
	return c
}

// count runs a count query.
func count(t testing.TB, c *pgx.Conn, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, c.QueryRow(context.Background(), q, args...).Scan(&n), q)
	return n
}

// timerRow is what a test reads back of a timer.
type timerRow struct {
	ID             uuid.UUID
	Kind, Status   string
	DueAt, WarnAt  time.Time
	BreachedAt     *time.Time
	NextCheckAt    *time.Time
	AtRiskNotified bool
	Level          int
}

func timersOf(t testing.TB, c *pgx.Conn, leadID uuid.UUID) map[string]timerRow {
	t.Helper()
	rows, err := c.Query(context.Background(), `SELECT id, kind, status, due_at, warn_at, breached_at, next_check_at, at_risk_notified, escalation_level
		FROM sla_timers WHERE lead_id = $1`, leadID)
	require.NoError(t, err)
	out := map[string]timerRow{}
	for rows.Next() {
		var r timerRow
		require.NoError(t, rows.Scan(&r.ID, &r.Kind, &r.Status, &r.DueAt, &r.WarnAt, &r.BreachedAt, &r.NextCheckAt, &r.AtRiskNotified, &r.Level))
		out[r.Kind] = r
	}
	require.NoError(t, rows.Err())
	return out
}

// breachRow is one recorded breach.
type breachRow struct {
	TimerID                       uuid.UUID
	DueAt, BreachedAt, DetectedAt time.Time
	Level                         int
}

func breachesByTimer(t testing.TB, c *pgx.Conn) map[uuid.UUID]breachRow {
	t.Helper()
	rows, err := c.Query(context.Background(), `SELECT timer_id, due_at, breached_at, detected_at, escalation_level FROM sla_breaches`)
	require.NoError(t, err)
	out := map[uuid.UUID]breachRow{}
	for rows.Next() {
		var b breachRow
		require.NoError(t, rows.Scan(&b.TimerID, &b.DueAt, &b.BreachedAt, &b.DetectedAt, &b.Level))
		_, dup := out[b.TimerID]
		require.False(t, dup, "a second breach of timer %s", b.TimerID)
		out[b.TimerID] = b
	}
	require.NoError(t, rows.Err())
	return out
}

// stepsByTimer returns the ladder steps recorded per timer, with when.
func stepsByTimer(t testing.TB, c *pgx.Conn) map[uuid.UUID]map[int]time.Time {
	t.Helper()
	rows, err := c.Query(context.Background(), `SELECT timer_id, step, fired_at FROM sla_escalations`)
	require.NoError(t, err)
	out := map[uuid.UUID]map[int]time.Time{}
	for rows.Next() {
		var id uuid.UUID
		var step int
		var at time.Time
		require.NoError(t, rows.Scan(&id, &step, &at))
		if out[id] == nil {
			out[id] = map[int]time.Time{}
		}
		_, dup := out[id][step]
		require.False(t, dup, "step %d of timer %s recorded twice", step, id)
		out[id][step] = at
	}
	require.NoError(t, rows.Err())
	return out
}

// notificationRow is one in-app notification.
type notificationRow struct {
	ID        int64
	UserID    uuid.UUID
	Email     string
	Kind      string
	Title     string
	Link      string
	DedupeKey string
}

func notifications(t testing.TB, c *pgx.Conn) []notificationRow {
	t.Helper()
	rows, err := c.Query(context.Background(), `SELECT n.id, n.user_id, u.email, n.kind, n.title, n.link, coalesce(n.dedupe_key, '')
		FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.kind <> 'lead.assigned' ORDER BY n.id`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[notificationRow])
	require.NoError(t, err)
	return out
}

// jobRow is one River job.
type jobRow struct {
	ID      int64
	Kind    string
	State   string
	Attempt int
	Args    []byte
	Errors  []string
}

func jobs(t testing.TB, c *pgx.Conn, kind string) []jobRow {
	t.Helper()
	rows, err := c.Query(context.Background(), `SELECT id, kind, state::text, attempt, args, coalesce(errors::text[], '{}')
		FROM river.river_job WHERE kind = $1 OR $1 = '' ORDER BY id`, kind)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[jobRow])
	require.NoError(t, err)
	return out
}

// webhookJob decodes a webhook.deliver job's arguments.
func webhookJob(t testing.TB, j jobRow) webhook.DeliverArgs {
	t.Helper()
	var a webhook.DeliverArgs
	require.NoError(t, json.Unmarshal(j.Args, &a))
	return a
}

// messageID is the Message-ID header the e-mail of mail job j carries:
// the one the job names (the store derives it from the notification), else
// the one the worker derives from the job.
func messageID(t testing.TB, j jobRow) string {
	t.Helper()
	a := mailJob(t, j)
	id := a.Message.MessageID
	if id == "" {
		id = jobMessageID(j.ID, a.TenantID)
	}
	return "<" + id + "@acme.test>"
}

// mailJob decodes a mail.send job's arguments.
func mailJob(t testing.TB, j jobRow) mail.SendArgs {
	t.Helper()
	var a mail.SendArgs
	require.NoError(t, json.Unmarshal(j.Args, &a))
	return a
}

// waitFor polls cond until it holds or the deadline passes: for work done
// asynchronously by River or by other processes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jobsSettled reports whether every River job is finished (completed,
// cancelled or discarded), none waiting, running or to be retried.
func jobsSettled(t testing.TB, c *pgx.Conn) bool {
	t.Helper()
	return count(t, c, `SELECT count(*) FROM river.river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')`) == 0
}

// startWorker runs w until the test ends and checks that it stopped cleanly.
func startWorker(t testing.TB, w *Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// hook is a webhook receiver: it records every request and answers with
// the status that answer picks (nil: 204).
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []hookRequest
	answer func(r hookRequest, prior int) int // prior: earlier requests to r's path for r's event
	seen   chan hookRequest
}

type hookRequest struct {
	Path       string
	Header     http.Header
	Body       []byte
	Status     int
	EventID    string
	Signature  string
	ReceivedAt time.Time
}

func newHook(t testing.TB, answer func(r hookRequest, prior int) int) *hook {
	t.Helper()
	h := &hook{answer: answer, seen: make(chan hookRequest, 10_000)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := hookRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Status: http.StatusNoContent,
			EventID: r.Header.Get("Accord-Event-Id"), Signature: r.Header.Get("Accord-Signature"), ReceivedAt: time.Now()}
		h.mu.Lock()
		prior := 0
		for _, g := range h.got {
			if g.Path == req.Path && g.EventID == req.EventID {
				prior++
			}
		}
		if h.answer != nil {
			req.Status = h.answer(req, prior)
		}
		h.got = append(h.got, req)
		h.mu.Unlock()
		select {
		case h.seen <- req:
		default:
		}
		w.WriteHeader(req.Status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// next waits for the next request.
func (h *hook) next(t testing.TB) hookRequest {
	t.Helper()
	select {
	case r := <-h.seen:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook request arrived")
		return hookRequest{}
	}
}

// decodeSubject decodes an RFC 2047 Subject header.
func decodeSubject(t testing.TB, m mailtest.Received) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header("Subject"))
	require.NoError(t, err)
	return s
}

// mailText is the decoded body of a text-only message.
func mailText(t testing.TB, m mailtest.Received) string {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(m.Data))
	require.NoError(t, err)
	require.Equal(t, "quoted-printable", msg.Header.Get("Content-Transfer-Encoding"))
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	require.NoError(t, err)
	return string(b)
}

func ptr[T any](v T) *T { return &v }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fixedClock is a clock tests set.
type fixedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fixedClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// TestSLA_CatchUpAfterDowntime: timers fall due while no worker runs; the
// worker started two days later breaches every one at its due time
// (detected now), records the stale ladder steps and warnings without
// notifying anyone, and still notifies what is recent.
func TestSLA_CatchUpAfterDowntime(t *testing.T) {
	t.Parallel()
	// first_touch warns at 10 % of three days, so its warning is stale (more
	// than 24 hours old) two days in, while its due time is still ahead.
	firstTouch := sla.Clause{Kind: sla.KindFirstTouch, TargetMinutes: 3 * 24 * 60, WarnAtPercent: 10}
	f := newSLAFixture(t, t0.AddDate(0, 0, -30), ladderClause(), firstTouch)
	ctx := context.Background()
	catchUp := t0.Add(48 * time.Hour)
	hk := newHook(t, nil)
	f.endpoint(t, hk.srv.URL, "accord", webhook.BreachCreated, webhook.BreachEscalated, webhook.TimerAtRisk)

	// Live: handed off while the worker was up, then it went down.
	const live = 20
	liveLeads := f.handoffMany(t, live, func(i int) (string, time.Time, time.Time) {
		at := t0.Add(time.Duration(i) * time.Minute)
		return fmt.Sprintf("Live%02d", i), at, at
	})
	// Imported during the downtime with history already breached: the
	// breach is recorded by the import, its ladder waits for the worker.
	imported := make([]lead.Lead, 3)
	for i := range imported {
		at := t0.Add(-26 * time.Hour)
		imported[i] = f.handoff(t, fmt.Sprintf("Old%d", i), at, t0)
		touch := at.Add(time.Minute) // met: only the respond clock is late
		_, _, err := f.db.Store.AddActivity(ctx, f.tn.ID, f.api, imported[i].ID, lead.ActivityInput{Kind: lead.ActCall, At: &touch}, t0)
		require.NoError(t, err)
	}
	// Recent: at risk five minutes before the worker comes back.
	recent := f.handoff(t, "Recent", catchUp.Add(-50*time.Minute), catchUp.Add(-50*time.Minute))

	smtp := mailtest.NewServer(t)
	host, port := smtp.Addr()
	w, err := New(Options{Logger: discard, Store: f.db.Store, Now: func() time.Time { return catchUp },
		Mailer:  mail.NewSender(mail.Config{Host: host, Port: port, From: "Accord <accord@acme.test>", TLS: "none"}, time.Now),
		BaseURL: "https://accord.example"})
	require.NoError(t, err)
	startWorker(t, w)

	c := f.owner(t)
	waitFor(t, 30*time.Second, "the worker to catch up", func() bool {
		return count(t, c, `SELECT count(*) FROM sla_breaches WHERE detected_at = $1`, catchUp) == live &&
			count(t, c, `SELECT count(*) FROM sla_timers WHERE next_check_at <= $1`, catchUp) == 0
	})
	msg := <-smtp.Received() // the recent warning
	waitFor(t, 30*time.Second, "the queued jobs", func() bool { return jobsSettled(t, c) })

	breaches := breachesByTimer(t, c)
	steps := stepsByTimer(t, c)
	for i, l := range liveLeads {
		ts := timersOf(t, c, l.ID)
		respond := ts["respond"]
		due := t0.Add(time.Duration(i)*time.Minute + time.Hour)
		require.Equal(t, "breached", respond.Status, l.Name())
		b, ok := breaches[respond.ID]
		require.True(t, ok, "%s has a breach", l.Name())
		require.True(t, due.Equal(b.DueAt) && due.Equal(b.BreachedAt), "%s breached at its due time %s, not %s", l.Name(), due, b.BreachedAt)
		require.True(t, catchUp.Equal(b.DetectedAt), "%s detected when the worker came back", l.Name())
		require.Len(t, steps[respond.ID], 2, "%s: both stale ladder steps are recorded", l.Name())
		for step, at := range steps[respond.ID] {
			require.True(t, catchUp.Equal(at), "%s: step %d recorded at the catch-up", l.Name(), step)
		}
		require.Equal(t, 2, b.Level)
		require.Nil(t, respond.NextCheckAt, "%s: the ladder is done", l.Name())

		ft := ts["first_touch"]
		require.Equal(t, "at_risk", ft.Status, "%s: first touch at risk", l.Name())
		require.True(t, ft.AtRiskNotified, "%s: the stale warning is recorded", l.Name())
		require.True(t, ft.DueAt.Equal(*ft.NextCheckAt), "%s: next look at the due time", l.Name())
		_, breached := breaches[ft.ID]
		require.False(t, breached)
	}
	for _, l := range imported {
		respond := timersOf(t, c, l.ID)["respond"]
		b := breaches[respond.ID]
		require.True(t, respond.DueAt.Equal(b.BreachedAt))
		require.True(t, t0.Equal(b.DetectedAt), "detected by the import, not the worker")
		require.Len(t, steps[respond.ID], 2, "both stale ladder steps are recorded")
		for step, at := range steps[respond.ID] {
			require.True(t, catchUp.Equal(at), "step %d recorded at the catch-up", step)
		}
		require.Equal(t, 2, respond.Level)
		require.Nil(t, respond.NextCheckAt, "the ladder is done")
	}

	// Nothing stale notified anyone: the one notification, e-mail and
	// webhook are the recent warning's.
	ns := notifications(t, c)
	require.Len(t, ns, 1, "%+v", ns)
	recentTimer := timersOf(t, c, recent.ID)["respond"]
	require.Equal(t, "at_risk:"+recentTimer.ID.String(), ns[0].DedupeKey)
	require.Equal(t, f.rep.ID, ns[0].UserID)
	require.Equal(t, []string{"rep@acme.test"}, msg.To)
	require.Contains(t, decodeSubject(t, msg), "At risk: Recent")
	hooks := jobs(t, c, "webhook.deliver")
	require.Len(t, hooks, 1)
	require.Equal(t, webhook.TimerAtRisk, webhookJob(t, hooks[0]).Event.Type)
	require.Len(t, jobs(t, c, "mail.send"), 1)
	require.Len(t, smtp.Messages(), 1)
	req := hk.next(t)
	require.Equal(t, webhookJob(t, hooks[0]).Event.ID, req.EventID)

}

// TestSLA_AtRiskNotifiedOnce: the warning reaches the holder once, through
// repeated sweeps, recomputations (a touch, a calendar edit, an agreement
// applied to running timers, a snooze that moves the warning past now and
// back) and a second worker sweeping at the same time.
func TestSLA_AtRiskNotifiedOnce(t *testing.T) {
	t.Parallel()
	f := newSLAFixture(t, t0.AddDate(0, 0, -30))
	ctx := context.Background()
	f.endpoint(t, "http://127.0.0.1:1/hook", "accord", webhook.TimerAtRisk)
	l := f.handoff(t, "Wanda", t0, t0)
	c := f.owner(t)
	respond := timersOf(t, c, l.ID)["respond"]
	require.True(t, t0.Add(45*time.Minute).Equal(respond.WarnAt))

	clock := &fixedClock{now: t0}
	mailer := mail.NewSender(mail.Config{Host: "127.0.0.1", Port: 1, From: "accord@acme.test", TLS: "none"}, time.Now) // never called: no job runs
	newWorker := func() *Worker {
		w, err := New(Options{Logger: discard, Store: f.db.Store, Now: clock.Now, Mailer: mailer, NoBreachLoop: true})
		require.NoError(t, err)
		return w
	}
	w1, w2 := newWorker(), newWorker()
	sweep := func(w *Worker, at time.Time) postgres.SweepResult {
		t.Helper()
		clock.Set(at)
		res, err := w.sweepOnce(ctx, at)
		require.NoError(t, err)
		return res
	}
	atRisk := func() int {
		return count(t, c, `SELECT count(*) FROM notifications WHERE kind = 'timer.at_risk'`)
	}

	require.Zero(t, sweep(w1, t0.Add(44*time.Minute)).Claimed, "not yet")
	res := sweep(w1, t0.Add(46*time.Minute))
	require.Equal(t, 1, res.AtRisk)
	require.Equal(t, 1, res.Notifications)
	require.Equal(t, 1, atRisk())
	require.Zero(t, sweep(w1, t0.Add(47*time.Minute)).Claimed, "nothing due until the due time")

	// A touch recomputes the lead's timers in its own transaction.
	touch := t0.Add(48 * time.Minute)
	_, _, err := f.db.Store.AddActivity(ctx, f.tn.ID, f.api, l.ID, lead.ActivityInput{Kind: lead.ActCall, At: &touch}, touch)
	require.NoError(t, err)
	after := timersOf(t, c, l.ID)["respond"]
	require.True(t, after.AtRiskNotified)
	require.True(t, after.DueAt.Equal(*after.NextCheckAt), "the worker looks again at the due time, not the warning")

	// Two workers at once.
	var wg sync.WaitGroup
	results := make([]postgres.SweepResult, 2)
	for i, w := range []*Worker{w1, w2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := w.sweepOnce(ctx, t0.Add(49*time.Minute))
			assert(t, err == nil, "sweep: %v", err)
			results[i] = r
		}()
	}
	wg.Wait()
	require.Zero(t, results[0].AtRisk+results[1].AtRisk)

	// A calendar edit queues a recompute, which the worker runs.
	cals, err := f.db.Store.FindCalendars(ctx, f.tn.ID)
	require.NoError(t, err)
	_, err = f.db.Store.UpdateCalendar(ctx, f.tn.ID, f.tn.Admin(), cals[0].ID, sla.CalendarInput{Name: "Always", TimeZone: cals[0].TimeZone, AlwaysOpen: true}, t0.Add(50*time.Minute))
	require.NoError(t, err)
	recompute := jobs(t, c, postgres.RecomputeArgs{}.Kind())
	require.Len(t, recompute, 1)
	var args postgres.RecomputeArgs
	require.NoError(t, json.Unmarshal(recompute[0].Args, &args))
	clock.Set(t0.Add(51 * time.Minute))
	rw := &recomputeWorker{store: f.db.Store, logger: discard, now: clock.Now}
	require.NoError(t, rw.Work(ctx, &river.Job[postgres.RecomputeArgs]{Args: args}))
	// An agreement version applied to running timers re-pins them.
	_, err = f.db.Store.RecomputeTimers(ctx, f.tn.ID, true, t0.Add(52*time.Minute))
	require.NoError(t, err)
	require.Zero(t, sweep(w2, t0.Add(53*time.Minute)).AtRisk)

	// A snooze moves the warning (and due time) past now; passing the new
	// warning does not warn again.
	until := t0.Add(3 * time.Hour)
	_, err = f.db.Store.Snooze(ctx, f.tn.ID, f.api, l.ID, lead.SnoozeInput{Until: until, Reason: "prospect asked for a call back"}, t0.Add(54*time.Minute))
	require.NoError(t, err)
	snoozed := timersOf(t, c, l.ID)["respond"]
	require.True(t, snoozed.WarnAt.After(t0.Add(54*time.Minute)), "the pause moved the warning past now, to %s", snoozed.WarnAt)
	require.Equal(t, "running", snoozed.Status)
	require.Zero(t, sweep(w1, snoozed.WarnAt.Add(time.Minute)).AtRisk)
	require.Zero(t, sweep(w2, snoozed.WarnAt.Add(2*time.Minute)).AtRisk)

	require.Equal(t, 1, atRisk(), "one at-risk notification")
	require.Len(t, jobs(t, c, "mail.send"), 1, "one at-risk e-mail")
	hooks := jobs(t, c, "webhook.deliver")
	require.Len(t, hooks, 1, "one timer.at_risk webhook")
	require.Equal(t, webhook.TimerAtRisk, webhookJob(t, hooks[0]).Event.Type)

	// The timer still breaches when its (moved) due time passes.
	res = sweep(w1, snoozed.DueAt.Add(time.Second))
	require.Equal(t, 1, res.Breached)
	require.Zero(t, res.AtRisk)
	require.Equal(t, 1, atRisk())
}

// assert reports a failure from a goroutine other than the test's.
func assert(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}

// TestSLA_WebhookDelivery: a breach's webhooks reach a local receiver,
// signed with the endpoint's secret, as the API documents them; a 500 is
// retried with the same event id; a Slack endpoint gets {"text": …}.
func TestSLA_WebhookDelivery(t *testing.T) {
	t.Parallel()
	f := newSLAFixture(t, t0.AddDate(0, 0, -30))
	ctx := context.Background()
	// The Accord endpoint fails each event's first attempt.
	hk := newHook(t, func(r hookRequest, prior int) int {
		if r.Path == "/accord" && prior == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	accord := f.endpoint(t, hk.srv.URL+"/accord", "accord", webhook.BreachCreated)
	slack := f.endpoint(t, hk.srv.URL+"/slack", "slack", webhook.BreachCreated)
	f.endpoint(t, hk.srv.URL+"/other", "accord", webhook.LeadAccepted) // not subscribed

	// History: handed off two hours ago, so breached an hour ago at the
	// import; the breach's first ladder step is the worker's.
	l := f.handoff(t, "Nadia", t0.Add(-2*time.Hour), t0)
	w, err := New(Options{Logger: discard, Store: f.db.Store, Now: func() time.Time { return t0 }, BaseURL: "https://accord.example",
		NoBreachLoop: true, WebhookBackoff: func(int) time.Duration { return 10 * time.Millisecond }})
	require.NoError(t, err)
	res, err := w.sweepOnce(ctx, t0)
	require.NoError(t, err)
	require.Equal(t, 2, res.Escalations)
	c := f.owner(t)
	hooks := jobs(t, c, "webhook.deliver")
	require.Len(t, hooks, 2, "one delivery per subscribed endpoint")
	startWorker(t, w)

	got := map[string][]hookRequest{}
	for range 3 {
		r := hk.next(t)
		got[r.Path] = append(got[r.Path], r)
	}
	waitFor(t, 30*time.Second, "the deliveries to finish", func() bool { return jobsSettled(t, c) })
	require.Equal(t, []string{"/accord", "/slack"}, sortedKeys(got), "nothing for an endpoint not subscribed")

	first, retry := got["/accord"][0], got["/accord"][1]
	require.Equal(t, http.StatusInternalServerError, first.Status)
	require.Equal(t, http.StatusOK, retry.Status)
	require.NotEmpty(t, first.EventID)
	require.Equal(t, first.EventID, retry.EventID, "a retry carries the same event id")
	require.JSONEq(t, string(first.Body), string(retry.Body), "and the same event")
	for _, r := range []hookRequest{first, retry} {
		require.NoError(t, webhook.Verify(accord.Secret, r.Signature, r.Body, t0, 5*time.Minute))
		require.Error(t, webhook.Verify(slack.Secret, r.Signature, r.Body, t0, 5*time.Minute), "another endpoint's secret")
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	}

	var body map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(retry.Body, &body))
	require.Equal(t, []string{"created_at", "data", "id", "tenant", "type"}, sortedKeys(body))
	var ev struct {
		ID        string    `json:"id"`
		Type      string    `json:"type"`
		CreatedAt time.Time `json:"created_at"`
		Tenant    string    `json:"tenant"`
		Data      struct {
			TimerID    uuid.UUID  `json:"timer_id"`
			LeadID     uuid.UUID  `json:"lead_id"`
			Kind       string     `json:"kind"`
			HolderID   *uuid.UUID `json:"holder_id"`
			DueAt      time.Time  `json:"due_at"`
			BreachedAt *time.Time `json:"breached_at"`
			LeadURL    string     `json:"lead_url"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(retry.Body, &ev))
	respond := timersOf(t, c, l.ID)["respond"]
	require.Equal(t, first.EventID, ev.ID)
	require.Equal(t, webhook.BreachCreated, ev.Type)
	require.Equal(t, webhook.BreachCreated, retry.Header.Get("Accord-Event-Type"))
	require.True(t, t0.Equal(ev.CreatedAt))
	require.Equal(t, "acme", ev.Tenant)
	require.Equal(t, respond.ID, ev.Data.TimerID)
	require.Equal(t, l.ID, ev.Data.LeadID)
	require.Equal(t, "respond", ev.Data.Kind)
	require.Equal(t, f.rep.ID, *ev.Data.HolderID)
	require.True(t, t0.Add(-time.Hour).Equal(ev.Data.DueAt))
	require.True(t, t0.Add(-time.Hour).Equal(*ev.Data.BreachedAt))
	require.Equal(t, "https://accord.example/leads/"+l.ID.String(), ev.Data.LeadURL)

	sl := got["/slack"]
	require.Len(t, sl, 1)
	require.Equal(t, http.StatusOK, sl[0].Status)
	var text map[string]string
	require.NoError(t, json.Unmarshal(sl[0].Body, &text))
	require.Equal(t, []string{"text"}, sortedKeys(text))
	require.Equal(t, "Breached: Nadia — response", text["text"])
	require.Equal(t, first.EventID, sl[0].EventID, "one event id for every endpoint")

	for _, j := range jobs(t, c, "webhook.deliver") {
		require.Equal(t, "completed", j.State)
		if webhookJob(t, j).EndpointID == accord.ID.String() {
			require.Equal(t, 2, j.Attempt)
			require.Len(t, j.Errors, 1)
			require.Contains(t, j.Errors[0], "endpoint answered 500")
		} else {
			require.Equal(t, 1, j.Attempt)
		}
	}
	require.Len(t, hk.requests(), 3, "no more deliveries")
}

// TestSLA_BreachMail: a breach's ladder e-mails the holder and manager at
// the breach and the admin at the second step, over SMTP, with a link to
// the lead; a temporary SMTP failure is retried with the same Message-ID.
func TestSLA_BreachMail(t *testing.T) {
	t.Parallel()
	f := newSLAFixture(t, t0.AddDate(0, 0, -30))
	ctx := context.Background()
	smtp := mailtest.NewServer(t)
	smtp.FailNext(1)
	host, port := smtp.Addr()
	sender := mail.NewSender(mail.Config{Host: host, Port: port, From: "Accord <accord@acme.test>", TLS: "none"}, time.Now)

	// Handed off 2 h 10 min ago: breached 70 minutes ago, so both steps
	// (at the breach, 60 minutes later) are due.
	l := f.handoff(t, "Nadia", t0.Add(-130*time.Minute), t0)
	w, err := New(Options{Logger: discard, Store: f.db.Store, Now: func() time.Time { return t0 }, Mailer: sender,
		BaseURL: "https://accord.example/", NoBreachLoop: true})
	require.NoError(t, err)
	res, err := w.sweepOnce(ctx, t0)
	require.NoError(t, err)
	require.Equal(t, 2, res.Escalations)
	require.Equal(t, 3, res.Notifications)
	startWorker(t, w)

	byTo := map[string]mailtest.Received{}
	for range 3 {
		select {
		case m := <-smtp.Received():
			require.Len(t, m.To, 1)
			byTo[m.To[0]] = m
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of 3 e-mails arrived", len(byTo))
		}
	}
	c := f.owner(t)
	waitFor(t, 30*time.Second, "the mail jobs to finish", func() bool { return jobsSettled(t, c) })
	require.Equal(t, []string{"admin@acme.test", "mgr@acme.test", "rep@acme.test"}, sortedKeys(byTo))
	link := "https://accord.example/leads/" + l.ID.String()
	for to, m := range byTo {
		subject := decodeSubject(t, m)
		if to == "admin@acme.test" {
			require.Equal(t, "Still unresolved: Nadia — response (escalation 1)", subject)
		} else {
			require.Equal(t, "Breached: Nadia — response", subject)
		}
		require.Equal(t, "accord@acme.test", m.From)
		text := mailText(t, m)
		require.Contains(t, text, link, "a link to the lead")
		require.Contains(t, text, "Tenant acme")
	}
	require.Contains(t, mailText(t, byTo["rep@acme.test"]), "Hello Rey Rep")

	// Message-IDs are fixed by the jobs: distinct per e-mail, and the same
	// for the retried one as for its failed first attempt (which mailtest
	// did not keep, so check the job: two attempts, one Message-ID).
	ids := map[string]bool{}
	mails := jobs(t, c, "mail.send")
	require.Len(t, mails, 3)
	retried := 0
	for _, j := range mails {
		require.Equal(t, "completed", j.State)
		a := mailJob(t, j)
		want := messageID(t, j)
		require.Equal(t, want, byTo[a.Message.To].Header("Message-ID"))
		ids[want] = true
		if j.Attempt == 2 {
			retried++
		}
	}
	require.Len(t, ids, 3)
	require.Equal(t, 1, retried, "the temporary failure was retried")
	require.Len(t, smtp.Messages(), 3, "one e-mail per notification")

	ns := notifications(t, c)
	require.Len(t, ns, 3)
	for _, n := range ns {
		require.Equal(t, "/leads/"+l.ID.String(), n.Link)
	}
}

// TestSLA_DetectedBreachEscalates: a timer the worker breaches on time (it
// was running when last stored) runs its ladder like one breached by
// history: holder and manager at the breach, admins an hour later.
func TestSLA_DetectedBreachEscalates(t *testing.T) {
	t.Parallel()
	f := newSLAFixture(t, t0.AddDate(0, 0, -30))
	ctx := context.Background()
	f.endpoint(t, "http://127.0.0.1:1/hook", "accord", webhook.BreachCreated, webhook.BreachEscalated)
	l := f.handoff(t, "Lena", t0, t0)
	sender := mail.NewSender(mail.Config{Host: "127.0.0.1", Port: 1, From: "accord@acme.test", TLS: "none"}, time.Now) // jobs are not run
	w, err := New(Options{Logger: discard, Store: f.db.Store, Now: func() time.Time { return t0 }, Mailer: sender, NoBreachLoop: true})
	require.NoError(t, err)
	c := f.owner(t)

	res, err := w.sweepOnce(ctx, t0.Add(61*time.Minute))
	require.NoError(t, err)
	require.Equal(t, 1, res.Breached)
	respond := timersOf(t, c, l.ID)["respond"]
	require.Equal(t, "breached", respond.Status)
	require.Equal(t, 1, respond.Level)
	require.True(t, t0.Add(2*time.Hour).Equal(*respond.NextCheckAt), "next: the second step")
	keys := map[string]bool{}
	for _, n := range notifications(t, c) {
		keys[n.Email+" "+n.DedupeKey] = true
	}
	step0 := "breach:" + respond.ID.String() + ":0"
	require.Equal(t, map[string]bool{"rep@acme.test " + step0: true, "mgr@acme.test " + step0: true}, keys)
	require.Len(t, jobs(t, c, "mail.send"), 2)
	hooks := jobs(t, c, "webhook.deliver")
	require.Len(t, hooks, 1)
	require.Equal(t, webhook.BreachCreated, webhookJob(t, hooks[0]).Event.Type)

	res, err = w.sweepOnce(ctx, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, res.Escalations)
	require.Len(t, notifications(t, c), 3)
	require.Len(t, jobs(t, c, "webhook.deliver"), 2)
	require.Len(t, stepsByTimer(t, c)[respond.ID], 2)
}

func TestWebhookBackoff(t *testing.T) {
	t.Parallel()
	for attempt, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 5: 160 * time.Second, 9: 30 * time.Minute, 60: 30 * time.Minute} {
		require.Equal(t, want, webhookBackoff(attempt), "attempt %d", attempt)
	}
	created := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	require.False(t, givenUp(created, ptr(created.Add(23*time.Hour))))
	require.True(t, givenUp(created, ptr(created.Add(24*time.Hour+time.Second))), "24 hours after the event was queued")
}

// TestSLA_PeriodsClosedByTheLoop: the breach loop records a period clause's
// result once its month has ended, tells admins and managers in-app and by
// e-mail, and records it once however often it looks again.
func TestSLA_PeriodsClosedByTheLoop(t *testing.T) {
	t.Parallel()
	volume := sla.Clause{Kind: sla.KindVolume, TargetCount: ptr(4)}
	f := newSLAFixture(t, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), ladderClause(), volume)
	ctx := context.Background()
	// One handoff in October against a target of four: missed.
	f.handoff(t, "Olga", time.Date(2026, 10, 14, 9, 0, 0, 0, time.UTC), time.Date(2026, 10, 14, 9, 0, 0, 0, time.UTC))
	smtp := mailtest.NewServer(t)
	host, port := smtp.Addr()
	sender := mail.NewSender(mail.Config{Host: host, Port: port, From: "Accord <accord@acme.test>", TLS: "none"}, time.Now)
	w, err := New(Options{Logger: discard, Store: f.db.Store, Now: func() time.Time { return t0 }, Mailer: sender, BaseURL: "https://accord.example"})
	require.NoError(t, err)
	c := f.owner(t)
	startWorker(t, w)

	waitFor(t, 30*time.Second, "the October result", func() bool {
		return count(t, c, `SELECT count(*) FROM sla_period_results`) > 0
	})
	var start, status string
	var actual float64
	require.NoError(t, c.QueryRow(ctx, `SELECT period_start::text, status, actual FROM sla_period_results`).Scan(&start, &status, &actual))
	require.Equal(t, "2026-10-01", start)
	require.Equal(t, "missed", status)
	require.Equal(t, 1.0, actual)

	var recipients []string
	for _, n := range notifications(t, c) {
		if strings.HasPrefix(n.DedupeKey, "period:") {
			recipients = append(recipients, n.Email)
			require.Equal(t, "/agreement", n.Link)
		}
	}
	sort.Strings(recipients)
	require.Equal(t, []string{"admin@acme.test", "mgr@acme.test"}, recipients, "the admin and the sales manager")
	select {
	case m := <-smtp.Received():
		require.Contains(t, decodeSubject(t, m), "Missed for October 2026")
	case <-time.After(30 * time.Second):
		t.Fatal("no e-mail about the missed period")
	}

	res, err := w.closePeriods(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, res.Recorded, "recorded once")
	require.Equal(t, 1, count(t, c, `SELECT count(*) FROM sla_period_results`))
}
