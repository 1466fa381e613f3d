package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/mail/mailtest"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/webhook"
)

// The environment of a worker process that TestSLA_ProcessesExactlyOnce
// starts by running this test binary again.
const (
	envWorkerDB      = "ACCORD_TEST_WORKER_DB"       // database URL as the app role; set only in a worker process
	envWorkerSetRole = "ACCORD_TEST_WORKER_SET_ROLE" // "1": reach the app role by SET ROLE
	envWorkerName    = "ACCORD_TEST_WORKER_NAME"     // application_name in pg_stat_activity
	envWorkerSMTP    = "ACCORD_TEST_WORKER_SMTP"     // host:port of the SMTP listener
	envWorkerBaseURL = "ACCORD_TEST_WORKER_BASE_URL"
)

// TestHelperWorkerProcess is not a test: it is the body of a worker process
// (accord worker, configured from the environment above) and returns at
// once in an ordinary test run.
func TestHelperWorkerProcess(t *testing.T) {
	url := os.Getenv(envWorkerDB)
	if url == "" {
		return
	}
	if err := workerProcess(url); err != nil {
		fmt.Fprintln(os.Stderr, "worker process:", err)
		os.Exit(3)
	}
}

func workerProcess(url string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pool, err := postgres.OpenPool(ctx, url, postgres.PoolOptions{MaxConns: 8, SetRole: os.Getenv(envWorkerSetRole) == "1",
		ApplicationName: os.Getenv(envWorkerName)})
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := postgres.NewStore(pool, logger)
	if err != nil {
		return err
	}
	host, portText, err := net.SplitHostPort(os.Getenv(envWorkerSMTP))
	if err != nil {
		return fmt.Errorf("smtp address: %w", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("smtp port: %w", err)
	}
	w, err := New(Options{Logger: logger, Store: store, Now: time.Now, BaseURL: os.Getenv(envWorkerBaseURL), Name: os.Getenv(envWorkerName),
		Mailer: mail.NewSender(mail.Config{Host: host, Port: port, From: "Accord <accord@acme.test>", TLS: "none"}, time.Now),
		// River fetches at most every 100 ms, up to Concurrency jobs.
		Concurrency: 50,
		// Small batches: many sweep transactions, so one is open when the
		// test kills a process.
		SweepBatch:     100,
		WebhookBackoff: func(int) time.Duration { return 100 * time.Millisecond },
		// Jobs of a killed process are retried seconds later, not minutes
		// (River's rescuer still looks only every 30 seconds).
		JobTimeout: 5 * time.Second, RescueStuckJobsAfter: 5 * time.Second})
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

// workerProc is a running worker process.
type workerProc struct {
	name   string
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan struct{}
	err    error // after done
}

// syncBuffer is a bytes.Buffer safe for a process's output and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWorkerProcess runs this test binary as worker name.
func startWorkerProcess(t *testing.T, f *slaFixture, name string, smtp *mailtest.Server, baseURL string) *workerProc {
	t.Helper()
	host, port := smtp.Addr()
	setRole := "0"
	if f.db.SetRole {
		setRole = "1"
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWorkerProcess$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), envWorkerDB+"="+f.db.AppURL, envWorkerSetRole+"="+setRole, envWorkerName+"="+name,
		envWorkerSMTP+"="+net.JoinHostPort(host, strconv.Itoa(port)), envWorkerBaseURL+"="+baseURL)
	p := &workerProc{name: name, cmd: cmd, output: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	require.NoError(t, cmd.Start())
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(p.output.String(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// stop asks the process to stop (SIGTERM) and waits for a clean exit.
func (p *workerProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
		require.NoError(t, p.err, "%s exits cleanly on SIGTERM", p.name)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not stop within 20 s of SIGTERM", p.name)
	}
}

// leaderMidSweep returns the River leader among the workers if its sweep
// transaction is open (it claimed timers and holds their row locks) and has
// run for a while, or "".
func leaderMidSweep(t *testing.T, c *pgx.Conn) string {
	t.Helper()
	var name string
	err := c.QueryRow(context.Background(), `
		SELECT a.application_name FROM pg_stat_activity a JOIN river.river_leader l ON l.leader_id = a.application_name
		WHERE a.datname = current_database()
		  AND a.backend_xid IS NOT NULL AND a.xact_start < clock_timestamp() - interval '100 milliseconds'
		  AND (a.state = 'idle in transaction' OR a.query ~ 'sla_|notifications|leads|users|memberships')
		LIMIT 1`).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return ""
	}
	require.NoError(t, err)
	return name
}

// TestSLA_ProcessesExactlyOnce: three worker processes share 2,000 due
// timers; one is killed (SIGKILL) in the middle of a sweep. The other two
// finish: one breach per timer at its due time, each ladder step once, each
// notification once with one e-mail (a resend keeps its Message-ID), every
// webhook event delivered and correctly signed, no job left failing.
func TestSLA_ProcessesExactlyOnce(t *testing.T) {
	t.Parallel()
	// Groups of leads, all on the respond clause of ladderClause:
	//   history: handed off 3 h ago, breached at the import (2 h ago); the
	//            workers run both ladder steps (2 h and 1 h ago);
	//   atRisk:  handed off 50 min ago; at risk 5 min ago, due in 10 min;
	//   detected: handed off 150 min ago, stored while running (125 min ago),
	//            due 90 min ago: the workers record the breach.
	const nHistory, nAtRisk, nDetected = 1200, 300, 500
	const total = nHistory + nAtRisk + nDetected
	now := time.Now().UTC().Truncate(time.Millisecond)
	f := newSLAFixture(t, now.AddDate(0, 0, -30))
	c := f.owner(t)
	smtp := mailtest.NewServer(t)
	// A sixth of the events fail their first delivery and are retried.
	hk := newHook(t, func(r hookRequest, prior int) int {
		if prior == 0 && strings.IndexByte("01", r.EventID[0]) >= 0 {
			return 500
		}
		return 200
	})
	ep := f.endpoint(t, hk.srv.URL+"/hook", "accord", webhook.BreachCreated, webhook.BreachEscalated, webhook.TimerAtRisk)

	began := time.Now()
	type spec struct {
		group          string
		at, recorded   time.Time
		name           string
		due            time.Time
		detectedBefore bool
	}
	specs := make([]spec, total)
	for i := range specs {
		switch {
		case i < nHistory:
			specs[i] = spec{group: "history", at: now.Add(-3 * time.Hour), recorded: now}
		case i < nHistory+nAtRisk:
			specs[i] = spec{group: "atRisk", at: now.Add(-50 * time.Minute), recorded: now}
		default:
			specs[i] = spec{group: "detected", at: now.Add(-150 * time.Minute), recorded: now.Add(-125 * time.Minute)}
		}
		specs[i].name = fmt.Sprintf("%s%04d", strings.ToUpper(specs[i].group[:1])+specs[i].group[1:], i)
		specs[i].due = specs[i].at.Add(time.Hour)
	}
	leads := f.handoffMany(t, total, func(i int) (string, time.Time, time.Time) { return specs[i].name, specs[i].at, specs[i].recorded })
	t.Logf("%d leads handed off in %s", total, time.Since(began).Round(time.Millisecond))
	timerOf := make([]timerRow, total)
	{
		rows, err := c.Query(context.Background(), `SELECT lead_id, id, status, due_at FROM sla_timers WHERE kind = 'respond'`)
		require.NoError(t, err)
		byLead := map[uuid.UUID]timerRow{}
		for rows.Next() {
			var l uuid.UUID
			var r timerRow
			require.NoError(t, rows.Scan(&l, &r.ID, &r.Status, &r.DueAt))
			byLead[l] = r
		}
		require.NoError(t, rows.Err())
		for i, l := range leads {
			timerOf[i] = byLead[l.ID]
			want := map[string]string{"history": "breached", "atRisk": "at_risk", "detected": "running"}[specs[i].group]
			require.Equal(t, want, timerOf[i].Status, "%s before the workers", specs[i].name)
		}
	}
	require.Equal(t, nHistory, count(t, c, `SELECT count(*) FROM sla_breaches`))

	started := time.Now()
	procs := make([]*workerProc, 3)
	for i := range procs {
		procs[i] = startWorkerProcess(t, f, fmt.Sprintf("accord-worker-%d", i+1), smtp, "https://accord.example")
	}

	// Kill the River leader while its sweep transaction is open, once the
	// work has visibly begun (a sweep has committed): the others take over
	// its timers at once and, after re-electing a leader, rescue its jobs.
	var victim *workerProc
	progress := func() int {
		return count(t, c, `SELECT (SELECT count(*) FROM sla_escalations) + (SELECT count(*) FROM sla_breaches) - $1`, nHistory)
	}
	deadline := time.Now().Add(60 * time.Second)
	for victim == nil {
		require.True(t, time.Now().Before(deadline), "the leader was not seen in the middle of a sweep")
		if name := leaderMidSweep(t, c); name != "" && progress() > 0 {
			for _, p := range procs {
				if p.name == name {
					victim = p
				}
			}
			break
		}
		if count(t, c, `SELECT count(*) FROM sla_timers WHERE next_check_at <= $1`, now) == 0 {
			t.Fatal("the sweeps finished before a worker could be caught in one; add timers")
		}
		time.Sleep(2 * time.Millisecond)
	}
	require.NotNil(t, victim)
	before := progress()
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	<-victim.done
	var exitErr *exec.ExitError
	require.ErrorAs(t, victim.err, &exitErr)
	require.Equal(t, syscall.SIGKILL, exitErr.Sys().(syscall.WaitStatus).Signal())
	t.Logf("killed %s (the leader) in a sweep %s after the start, %d of %d ladder steps and breaches recorded",
		victim.name, time.Since(started).Round(time.Millisecond), before, 2*(nHistory+nDetected)+nDetected)

	// The two others finish, the killed one's jobs included once River
	// rescues them.
	hookJobs := func() []jobRow { return jobs(t, c, "webhook.deliver") }
	mailJobs := func() []jobRow { return jobs(t, c, "mail.send") }
	delivered := func() bool {
		ok := map[string]bool{}
		for _, r := range hk.requests() {
			if r.Status == 200 {
				ok[r.EventID] = true
			}
		}
		for _, j := range hookJobs() {
			if !ok[webhookJob(t, j).Event.ID] {
				return false
			}
		}
		return true
	}
	mailed := func() bool {
		got := map[string]bool{}
		for _, m := range smtp.Messages() {
			got[m.Header("Message-ID")] = true
		}
		for _, j := range mailJobs() {
			if !got[messageID(t, j)] {
				return false
			}
		}
		return true
	}
	waitFor(t, 120*time.Second, "the surviving workers to finish", func() bool {
		return count(t, c, `SELECT count(*) FROM sla_timers WHERE next_check_at <= $1`, time.Now()) == 0 &&
			jobsSettled(t, c) && delivered() && mailed()
	})
	t.Logf("all done %s after the start", time.Since(started).Round(time.Millisecond))
	for _, p := range procs {
		if p != victim {
			p.stop(t)
		}
	}

	// Breaches: one per timer due, at its due time.
	breaches := breachesByTimer(t, c)
	require.Len(t, breaches, nHistory+nDetected)
	steps := stepsByTimer(t, c)
	for i, s := range specs {
		tm := timerOf[i]
		b, breached := breaches[tm.ID]
		switch s.group {
		case "history":
			require.True(t, breached, s.name)
			require.True(t, now.Equal(b.DetectedAt), "%s: detected by the import", s.name)
		case "detected":
			require.True(t, breached, s.name)
			require.False(t, b.DetectedAt.Before(started), "%s: detected by a worker", s.name)
			require.False(t, b.DetectedAt.After(time.Now()))
		case "atRisk":
			require.False(t, breached, s.name)
			require.Empty(t, steps[tm.ID])
			continue
		}
		require.True(t, s.due.Equal(b.DueAt) && s.due.Equal(b.BreachedAt), "%s: breached at its due time %s, not %s", s.name, s.due, b.BreachedAt)
		require.Len(t, steps[tm.ID], 2, "%s: both ladder steps, once each", s.name)
		require.Equal(t, 2, b.Level)
	}
	rows, err := c.Query(context.Background(), `SELECT t.id, t.status, t.at_risk_notified FROM sla_timers t WHERE t.kind = 'respond'`)
	require.NoError(t, err)
	type state struct {
		status   string
		notified bool
	}
	states := map[uuid.UUID]state{}
	for rows.Next() {
		var id uuid.UUID
		var s state
		require.NoError(t, rows.Scan(&id, &s.status, &s.notified))
		states[id] = s
	}
	require.NoError(t, rows.Err())
	for i := nHistory; i < nHistory+nAtRisk; i++ {
		require.Equal(t, state{"at_risk", true}, states[timerOf[i].ID], specs[i].name)
	}

	// Notifications: the expected ones, each once (the unique index would
	// refuse a second; this checks none is missing or extra).
	type key struct{ email, dedupe string }
	want := map[key]bool{}
	for i, s := range specs {
		id := timerOf[i].ID.String()
		switch s.group {
		case "history", "detected":
			want[key{"rep@acme.test", "breach:" + id + ":0"}] = true
			want[key{"mgr@acme.test", "breach:" + id + ":0"}] = true
			want[key{"admin@acme.test", "breach:" + id + ":1"}] = true
		case "atRisk":
			want[key{"rep@acme.test", "at_risk:" + id}] = true
		}
	}
	ns := notifications(t, c)
	got := map[key]notificationRow{}
	for _, n := range ns {
		k := key{n.Email, n.DedupeKey}
		_, dup := got[k]
		require.False(t, dup, "%v notified twice", k)
		got[k] = n
		require.True(t, want[k], "unexpected notification %+v", n)
	}
	for k := range want {
		_, ok := got[k]
		require.True(t, ok, "%v was not notified", k)
	}

	// E-mails: one job per notification, and every e-mail received for a
	// notification carries that job's Message-ID (a resend after the kill
	// repeats it, never a second id); none is lost.
	type envelope struct{ to, subject string }
	jobFor := map[envelope]string{} // → Message-ID
	for _, j := range mailJobs() {
		a := mailJob(t, j)
		e := envelope{a.Message.To, a.Message.Subject}
		_, dup := jobFor[e]
		require.False(t, dup, "two e-mail jobs for %v", e)
		jobFor[e] = messageID(t, j)
	}
	require.Len(t, jobFor, len(ns), "one e-mail per notification")
	for _, n := range ns {
		_, ok := jobFor[envelope{n.Email, n.Title}]
		require.True(t, ok, "no e-mail for %+v", n)
	}
	received := map[envelope]map[string]int{}
	messages := smtp.Messages()
	for _, m := range messages {
		require.Len(t, m.To, 1)
		e := envelope{m.To[0], decodeSubject(t, m)}
		if received[e] == nil {
			received[e] = map[string]int{}
		}
		received[e][m.Header("Message-ID")]++
	}
	resent := 0
	for e, ids := range received {
		id, ok := jobFor[e]
		require.True(t, ok, "an e-mail no notification asked for: %v", e)
		require.Equal(t, map[string]int{id: ids[id]}, ids, "one Message-ID for %v", e)
		resent += ids[id] - 1
	}
	require.Len(t, received, len(jobFor), "every e-mail arrived")
	t.Logf("%d e-mails for %d notifications (%d sent again after the kill)", len(messages), len(ns), resent)

	// Webhooks: one event per occurrence, each delivered (at least once)
	// with a valid signature, any repeat identical.
	events := map[string]webhook.DeliverArgs{}
	perTimer := map[string]map[string]int{} // timer → type → events
	for _, j := range hookJobs() {
		a := webhookJob(t, j)
		require.Equal(t, ep.ID.String(), a.EndpointID)
		_, dup := events[a.Event.ID]
		require.False(t, dup, "event %s queued twice", a.Event.ID)
		events[a.Event.ID] = a
		var data struct {
			TimerID string `json:"timer_id"`
		}
		require.NoError(t, json.Unmarshal(a.Event.Data, &data))
		if perTimer[data.TimerID] == nil {
			perTimer[data.TimerID] = map[string]int{}
		}
		perTimer[data.TimerID][a.Event.Type]++
	}
	for i, s := range specs {
		id := timerOf[i].ID.String()
		switch s.group {
		case "history", "detected":
			require.Equal(t, map[string]int{webhook.BreachCreated: 1, webhook.BreachEscalated: 1}, perTimer[id], s.name)
		case "atRisk":
			require.Equal(t, map[string]int{webhook.TimerAtRisk: 1}, perTimer[id], s.name)
		}
	}
	bodies := map[string]string{}
	retried, again := 0, 0
	for _, r := range hk.requests() {
		_, ok := events[r.EventID]
		require.True(t, ok, "a delivery of an event never queued: %s", r.EventID)
		require.NoError(t, webhook.Verify(ep.Secret, r.Signature, r.Body, r.ReceivedAt, time.Minute), "signature of %s", r.EventID)
		if b, seen := bodies[r.EventID]; seen {
			require.Equal(t, b, string(r.Body), "a repeat of %s is the same event", r.EventID)
			again++
		}
		bodies[r.EventID] = string(r.Body)
		if r.Status != 200 {
			retried++
		}
	}
	require.Len(t, bodies, len(events))
	t.Logf("%d webhook events, %d deliveries (%d answered 500, %d repeats)", len(events), len(hk.requests()), retried, again)
	require.NotZero(t, retried)

	// River: every job completed, none failed for good.
	states2 := map[string]int{}
	rescued := 0
	for _, j := range jobs(t, c, "") {
		states2[j.State]++
		for _, e := range j.Errors {
			if strings.Contains(e, "Stuck job rescued") {
				rescued++
			}
		}
	}
	require.Equal(t, map[string]int{"completed": len(events) + len(jobFor)}, states2)
	t.Logf("%d jobs rescued from the killed worker", rescued)

}
