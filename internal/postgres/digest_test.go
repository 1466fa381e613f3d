package postgres_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

func TestStore_DigestSettings(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()
	defaults := postgres.DigestSettings{
		Weekly:  []tenant.Role{tenant.RoleAdmin, tenant.RoleMarketing, tenant.RoleManager},
		Monthly: []tenant.Role{tenant.RoleAdmin, tenant.RoleMarketing, tenant.RoleManager},
	}

	t.Run("Defaults", func(t *testing.T) {
		got, err := bd.store.FindDigestSettings(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, defaults, got)
	})

	t.Run("Update", func(t *testing.T) {
		saved, err := bd.store.UpdateDigestSettings(ctx, bd.a.ID, bd.a.Admin(), postgres.DigestSettings{
			Weekly:  []tenant.Role{tenant.RoleViewer, tenant.RoleRep, tenant.RoleRep},
			Monthly: nil,
		}, t0)
		require.NoError(t, err)
		want := postgres.DigestSettings{Weekly: []tenant.Role{tenant.RoleRep, tenant.RoleViewer}, Monthly: []tenant.Role{}}
		require.Equal(t, want, saved, "duplicates dropped, roles in their usual order")
		got, err := bd.store.FindDigestSettings(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, want, got)
		entries, err := bd.store.FindAuditEntries(ctx, bd.a.ID, "digests", 10)
		require.NoError(t, err)
		require.Len(t, entries, 1)
		require.Equal(t, "digests.set", entries[0].Action)
	})

	t.Run("Invalid", func(t *testing.T) {
		_, err := bd.store.UpdateDigestSettings(ctx, bd.a.ID, bd.a.Admin(), postgres.DigestSettings{
			Weekly: []tenant.Role{"boss"}, Monthly: []tenant.Role{tenant.RoleAdmin, ""},
		}, t0)
		var errs validator.Errors
		require.ErrorAs(t, err, &errs)
		require.Contains(t, errs["weekly"], `"boss" is not a role`)
		require.Contains(t, errs["monthly"], `"" is not a role`)
		got, err := bd.store.FindDigestSettings(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, []tenant.Role{tenant.RoleRep, tenant.RoleViewer}, got.Weekly, "nothing changed")
	})

	t.Run("OtherTenantNotChanged", func(t *testing.T) {
		got, err := bd.store.FindDigestSettings(ctx, bd.b.ID)
		require.NoError(t, err)
		require.Equal(t, defaults, got)
		entries, err := bd.store.FindAuditEntries(ctx, bd.b.ID, "digests", 10)
		require.NoError(t, err)
		require.Empty(t, entries)
	})
}

// captured is what a test composer saw.
type captured struct {
	mu      sync.Mutex
	digests []postgres.Digest
}

func (c *captured) compose(_ context.Context, d postgres.Digest) (mail.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.digests = append(c.digests, d)
	return mail.Message{Subject: string(d.Kind) + " " + d.Period.Label(), Text: "figures", HTML: "<p>figures</p>"}, nil
}

func (c *captured) of(tid tenant.ID, kind postgres.DigestKind) []postgres.Digest {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []postgres.Digest
	for _, d := range c.digests {
		if d.Tenant.ID == tid && d.Kind == kind {
			out = append(out, d)
		}
	}
	return out
}

// TestStore_SendDueDigests: each tenant's last week and last month are sent
// once, from 06:00 on the morning after in the tenant's zone, to active
// members of the chosen roles, with the figures of FindMetrics and
// FindScorecard; a month found long after it ended is recorded silently.
func TestStore_SendDueDigests(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	at := func(m time.Month, day, hour int) time.Time { return time.Date(2026, m, day, hour, 0, 0, 0, berlin) }
	// One handoff in the week of 23 Nov, accepted; rep2 is switched off.
	created := at(time.November, 24, 8)
	res, err := f.store.UpsertLead(ctx, f.a.ID, f.api, lead.Input{Email: str("d@dg.test"), Source: str("webinar"), CreatedAt: &created}, at(time.November, 25, 9))
	require.NoError(t, err)
	for _, in := range []lead.TransitionInput{{To: lead.StageMQL, OwnerID: &f.rep1.ID, At: ptrTo(at(time.November, 24, 9))},
		{To: lead.StageAccepted, At: ptrTo(at(time.November, 24, 10))}} {
		_, err := f.store.Transition(ctx, f.a.ID, f.api, res.Lead.ID, in, at(time.November, 25, 9))
		require.NoError(t, err)
	}
	// Weekly to reps as well; a switched-off member gets nothing.
	_, err = f.store.UpdateDigestSettings(ctx, f.a.ID, f.a.Admin(), postgres.DigestSettings{
		Weekly:  []tenant.Role{tenant.RoleAdmin, tenant.RoleManager, tenant.RoleRep},
		Monthly: []tenant.Role{tenant.RoleAdmin, tenant.RoleMarketing, tenant.RoleManager}}, t0)
	require.NoError(t, err)
	inactive := false
	_, err = f.store.UpdateMember(ctx, f.a.ID, f.a.Admin(), f.rep2.ID, auth.MemberUpdate{Active: &inactive}, t0)
	require.NoError(t, err)

	seen := &captured{}
	opts := postgres.DigestOptions{BaseURL: "https://accord.example/", Compose: seen.compose}
	mailJobs := func() map[string][]string {
		conn := f.db.OwnerConn(t)
		rows, err := conn.Query(ctx, `SELECT args FROM river.river_job WHERE kind = 'mail.send' ORDER BY id`)
		require.NoError(t, err)
		out := map[string][]string{}
		for rows.Next() {
			var raw []byte
			require.NoError(t, rows.Scan(&raw))
			var a mail.SendArgs
			require.NoError(t, json.Unmarshal(raw, &a))
			out[a.Message.Subject] = append(out[a.Message.Subject], a.Message.To)
		}
		require.NoError(t, rows.Err())
		return out
	}

	t.Run("NotBeforeTheMorningAfter", func(t *testing.T) {
		got, err := f.store.SendDueDigests(ctx, at(time.November, 30, 5).Add(59*time.Minute), opts)
		require.NoError(t, err)
		require.Zero(t, got.Sent, "05:59 on Monday: the week's review waits for 06:00")
		// October ended 29 days ago (and before the tenants existed): recorded, not sent.
		require.Equal(t, 2, got.Silent)
		require.Empty(t, mailJobs())
	})

	monday := at(time.November, 30, 9)
	t.Run("WeeklyOnce", func(t *testing.T) {
		got, err := f.store.SendDueDigests(ctx, monday, opts)
		require.NoError(t, err)
		require.Equal(t, postgres.DigestResult{Sent: 2, Emails: 4}, got, "alpha: admin, manager, rep1; beta: its admin")
		again, err := f.store.SendDueDigests(ctx, monday.Add(time.Hour), opts)
		require.NoError(t, err)
		require.Equal(t, postgres.DigestResult{}, again)

		jobs := mailJobs()
		require.ElementsMatch(t, []string{`"Admin of alpha" <admin@alpha.test>`, `"Manager" <mgr@alpha.test>`, `"Rep One" <rep1@alpha.test>`,
			`"Admin of beta" <admin@beta.test>`}, jobs["weekly week of 23 Nov 2026"])
		require.Len(t, jobs, 1)

		ds := seen.of(f.a.ID, postgres.DigestWeekly)
		require.Len(t, ds, 1)
		d := ds[0]
		from, to := d.Period.Dates()
		require.Equal(t, []string{"2026-11-23", "2026-11-30"}, []string{from, to})
		require.Equal(t, "https://accord.example/?from=2026-11-23&to=2026-11-30", d.DashboardURL)
		require.Nil(t, d.Scorecard)
		// The figures are FindMetrics' for the same period, to the digit.
		want, err := f.store.FindMetrics(ctx, f.a.ID, d.Period, metric.Filter{}, monday)
		require.NoError(t, err)
		require.Equal(t, want, d.Figures)
		require.EqualValues(t, 1, d.Figures.Handoffs)
		require.EqualValues(t, 1, d.Figures.Accepted)
		require.Len(t, seen.of(f.b.ID, postgres.DigestWeekly), 1)
	})

	t.Run("MonthlyOnceWithConcurrentWorkers", func(t *testing.T) {
		dec1 := at(time.December, 1, 7)
		var wg sync.WaitGroup
		results := make([]postgres.DigestResult, 4)
		for i := range results {
			wg.Go(func() {
				r, err := f.store.SendDueDigests(ctx, dec1, opts)
				require.NoError(t, err)
				results[i] = r
			})
		}
		wg.Wait()
		var total postgres.DigestResult
		for _, r := range results {
			total.Sent += r.Sent
			total.Silent += r.Silent
			total.Emails += r.Emails
		}
		require.Equal(t, postgres.DigestResult{Sent: 2, Emails: 4}, total, "alpha: admin, marketer, manager; beta: admin")
		require.Len(t, mailJobs()["monthly November 2026"], 4)
		ds := seen.of(f.a.ID, postgres.DigestMonthly)
		require.Len(t, ds, 1)
		require.Equal(t, "November 2026", ds[0].Period.Label())
		require.NotNil(t, ds[0].Scorecard)
		want, err := f.store.FindScorecard(ctx, f.a.ID, ds[0].Period, dec1)
		require.NoError(t, err)
		require.Equal(t, want, *ds[0].Scorecard)
	})

	t.Run("RunsPerTenant", func(t *testing.T) {
		runs, err := f.store.FindDigestRuns(ctx, f.a.ID, 10)
		require.NoError(t, err)
		require.Len(t, runs, 3)
		require.Equal(t, postgres.DigestMonthly, runs[0].Kind)
		require.Equal(t, "2026-11-01", runs[0].PeriodStart.Format(time.DateOnly))
		require.True(t, runs[0].Announced)
		require.Equal(t, 3, runs[0].Recipients)
		require.Equal(t, postgres.DigestWeekly, runs[1].Kind)
		require.Equal(t, "2026-11-23", runs[1].PeriodStart.Format(time.DateOnly))
		require.Equal(t, "2026-10-01", runs[2].PeriodStart.Format(time.DateOnly))
		require.False(t, runs[2].Announced, "October was recorded without sending")

		// Beta sees its own runs only; recording alpha's never touched them.
		beta, err := f.store.FindDigestRuns(ctx, f.b.ID, 10)
		require.NoError(t, err)
		require.Len(t, beta, 3)
		require.Equal(t, 1, beta[0].Recipients)
		// As the application role inside beta: alpha's runs are invisible,
		// and no run can be deleted.
		tx, err := f.db.Pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, true)`, f.b.ID.String())
		require.NoError(t, err)
		var n int
		require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM digest_runs WHERE tenant_id = $1`, f.a.ID).Scan(&n))
		require.Zero(t, n, "row-level security hides alpha's runs from beta")
		_, err = tx.Exec(ctx, `DELETE FROM digest_runs`)
		require.Error(t, err, "runs are history")
	})

	t.Run("SwitchedOff", func(t *testing.T) {
		_, err := f.store.UpdateDigestSettings(ctx, f.a.ID, f.a.Admin(), postgres.DigestSettings{}, t0)
		require.NoError(t, err)
		got, err := f.store.SendDueDigests(ctx, at(time.December, 7, 9), opts)
		require.NoError(t, err)
		require.Equal(t, postgres.DigestResult{Sent: 1, Silent: 1, Emails: 1}, got, "alpha records its week unsent; beta sends")
	})
}
