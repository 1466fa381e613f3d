package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/content"
	"github.com/accordhq/accord/internal/demo"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
)

// requireShape asserts what every seeded history promises: no broken
// funnel invariant, one campaign rejected far more than the others, and one
// rep far slower than the others to decide and to touch.
func requireShape(t *testing.T, c postgres.HistoryCheck, slow uuid.UUID) {
	t.Helper()
	require.Empty(t, c.Problems)
	bad := c.RejectionRate[demo.RejectedCampaign]
	require.Greater(t, bad, 0.6, "rates %v", c.RejectionRate)
	for campaign, rate := range c.RejectionRate {
		if campaign != demo.RejectedCampaign {
			require.Less(t, rate, bad-0.2, "campaign %q against %v", campaign, c.RejectionRate)
		}
	}
	require.Contains(t, c.MedianRespond, slow)
	require.Contains(t, c.MedianFirstTouch, slow)
	for owner, d := range c.MedianRespond {
		if owner != slow {
			require.Greater(t, c.MedianRespond[slow], 4*d, "respond medians %v", c.MedianRespond)
			require.Greater(t, c.MedianFirstTouch[slow], 4*c.MedianFirstTouch[owner], "first-touch medians %v", c.MedianFirstTouch)
		}
	}
}

func userID(t *testing.T, db *postgrestest.DB, email string) uuid.UUID {
	t.Helper()
	u, err := db.Store.FindUserByEmail(context.Background(), email)
	require.NoError(t, err)
	return u.ID
}

func TestSeed_Demo(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	ctx := context.Background()
	other := postgrestest.CreateTenant(t, db.Store, "other", postgrestest.Now())
	started := time.Now()
	out, err := cli(t, db, "seed", "demo")
	require.NoError(t, err)
	t.Logf("seed demo took %s", time.Since(started))
	require.Contains(t, out, "Demo history: ")
	require.Contains(t, out, "raj@acme.test")
	tid := mustTenant(t, db, "acme")

	c, err := db.Store.CheckLeadHistories(ctx, tid, time.Now())
	require.NoError(t, err)
	require.GreaterOrEqual(t, c.Leads, 3000)
	require.LessOrEqual(t, c.Leads, 4000)
	requireShape(t, c, userID(t, db, demoSlowRep))
	for _, st := range lead.Stages {
		require.Positive(t, c.Stages[string(st)], "stage %s in %v", st, c.Stages)
	}
	require.GreaterOrEqual(t, len(c.Campaigns), 8)
	t.Logf("stages %v", c.Stages)
	t.Logf("campaigns %v", c.Campaigns)
	t.Logf("rejection rates %v", c.RejectionRate)
	t.Logf("medians: respond %v, first touch %v", c.MedianRespond, c.MedianFirstTouch)

	// The tenant around the history: routing, the rule, targets, the bell.
	rt, err := db.Store.FindRouting(ctx, tid)
	require.NoError(t, err)
	require.NotNil(t, rt.DefaultTeamID)
	team, err := db.Store.FindTeam(ctx, tid, *rt.DefaultTeamID)
	require.NoError(t, err)
	require.Equal(t, "Sales", team.Name)
	q, err := db.Store.FindQualification(ctx, tid)
	require.NoError(t, err)
	require.True(t, q.Active())
	targets, err := db.Store.FindTargets(ctx, tid)
	require.NoError(t, err)
	require.NotEmpty(t, targets)
	for _, email := range []string{"sam@acme.test", "mara@acme.test", "raj@acme.test", "rey@acme.test"} {
		ns, _, err := db.Store.FindNotifications(ctx, tid, userID(t, db, email), 10)
		require.NoError(t, err)
		require.NotEmpty(t, ns, "%s has notifications", email)
	}

	// The content library: used and unused assets, an archived one, and
	// requests from sales.
	assets, err := db.Store.FindAssets(ctx, tid, content.Filter{}, time.Time{}, time.Time{}, "", 50)
	require.NoError(t, err)
	require.Len(t, assets.Assets, 7, "one of eight is archived")
	var used, unused int
	for _, a := range assets.Assets {
		if a.Uses > 0 {
			used++
		} else {
			unused++
		}
	}
	require.GreaterOrEqual(t, used, 4)
	require.GreaterOrEqual(t, unused, 1, "some content goes unused, as in life")
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	usage, reqs, err := db.Store.ContentUsage(ctx, tid, metric.NewPeriod(time.Now().AddDate(0, 0, -90), time.Now().AddDate(0, 0, 1), loc), time.Now())
	require.NoError(t, err)
	require.Positive(t, usage.UsedAssets)
	require.Positive(t, usage.WonWithContent, "wins with content used before winning")
	require.EqualValues(t, 1, reqs.Open)

	t.Run("OtherTenantSeesNothing", func(t *testing.T) {
		c, err := db.Store.CheckLeadHistories(ctx, other.ID, time.Now())
		require.NoError(t, err)
		require.Zero(t, c.Leads)
		require.Zero(t, c.Transitions)
		require.Zero(t, c.Activities)
		a, err := db.Store.FindAssets(ctx, other.ID, content.Filter{All: true}, time.Time{}, time.Time{}, "", 50)
		require.NoError(t, err)
		require.Empty(t, a.Assets)
	})

	t.Run("SecondRunLeavesIt", func(t *testing.T) {
		_, err := cli(t, db, "seed", "demo")
		require.NoError(t, err)
		n, err := db.Store.CountLeads(ctx, tid)
		require.NoError(t, err)
		require.Equal(t, c.Leads, n)
	})
}

func TestSeed_Synthetic(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	ctx := context.Background()
	other := postgrestest.CreateTenant(t, db.Store, "other", postgrestest.Now())
	out, err := cli(t, db, "seed", "synthetic", "--tenant", "Synth", "--leads", "2000", "--days", "30", "--seed", "7", "--chunk", "800")
	require.NoError(t, err)
	require.Contains(t, out, "Created tenant synth. Every login uses the password ")
	require.Contains(t, out, "synthetic-admin@synth.test")
	require.Contains(t, out, "Tenant synth: 2,000 leads")
	require.Equal(t, 3, strings.Count(out, " / 2,000 leads"), "progress per chunk: %s", out)
	tid := mustTenant(t, db, "synth")

	members, err := db.Store.FindMembers(ctx, tid)
	require.NoError(t, err)
	roles := map[string]int{}
	for _, m := range members {
		roles[string(m.Role)]++
	}
	require.Equal(t, map[string]int{"admin": 1, "manager": 1, "marketing": 1, "rep": 20}, roles)

	c, err := db.Store.CheckLeadHistories(ctx, tid, time.Now())
	require.NoError(t, err)
	require.Equal(t, 2000, c.Leads)
	requireShape(t, c, userID(t, db, "rep07@synth.test"))

	t.Run("OtherTenantSeesNothing", func(t *testing.T) {
		c, err := db.Store.CheckLeadHistories(ctx, other.ID, time.Now())
		require.NoError(t, err)
		require.Zero(t, c.Leads)
		require.Zero(t, c.Transitions)
	})

	t.Run("AddsToAnExistingTenant", func(t *testing.T) {
		out, err := cli(t, db, "seed", "synthetic", "--tenant", "synth", "--leads", "500", "--days", "10")
		require.NoError(t, err)
		require.Contains(t, out, "Adding to tenant synth")
		require.Contains(t, out, "Tenant synth: 500 leads")
		c, err := db.Store.CheckLeadHistories(ctx, tid, time.Now())
		require.NoError(t, err)
		require.Equal(t, 2500, c.Leads)
		require.Empty(t, c.Problems)
		members, err := db.Store.FindMembers(ctx, tid)
		require.NoError(t, err)
		require.Len(t, members, 23, "the staff is reused")
	})

	t.Run("IntoTheDemoTenant", func(t *testing.T) {
		_, err := cli(t, db, "seed", "demo")
		require.NoError(t, err)
		out, err := cli(t, db, "seed", "synthetic", "--tenant", "acme", "--leads", "300", "--days", "5")
		require.NoError(t, err)
		require.Contains(t, out, "Tenant acme: 300 leads")
		c, err := db.Store.CheckLeadHistories(ctx, mustTenant(t, db, "acme"), time.Now())
		require.NoError(t, err)
		require.Empty(t, c.Problems)
	})
}

func TestSeed_BadArguments(t *testing.T) {
	t.Parallel()
	// No database is reached: bad arguments fail first.
	env := envOf(map[string]string{"DATABASE_URL": "postgres://accord@127.0.0.1:1/accord", "DB_WAIT": "0s", "LOG_LEVEL": "error"})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"seed"}, "usage: accord seed demo | accord seed synthetic"},
		{[]string{"seed", "nonsense"}, `unknown seed "nonsense"`},
		{[]string{"seed", "demo", "extra"}, "seed demo takes no arguments"},
		{[]string{"seed", "synthetic", "--leads", "10"}, "--tenant must name the tenant by its slug"},
		{[]string{"seed", "synthetic", "--tenant", "Not a slug!", "--leads", "10"}, "--tenant must be 2–40 lower-case letters"},
		{[]string{"seed", "synthetic", "--tenant", "x", "--leads", "10"}, "--tenant must be 2–40 lower-case letters"},
		{[]string{"seed", "synthetic", "--tenant", "bench"}, "--leads must be from 1 to 10,000,000"},
		{[]string{"seed", "synthetic", "--tenant", "bench", "--leads", "0"}, "--leads must be from 1 to 10,000,000"},
		{[]string{"seed", "synthetic", "--tenant", "bench", "--leads", "10000001"}, "--leads must be from 1 to 10,000,000"},
		{[]string{"seed", "synthetic", "--tenant", "bench", "--leads", "10", "--days", "0"}, "--days must be from 1 to 3650"},
		{[]string{"seed", "synthetic", "--tenant", "bench", "--leads", "10", "--days", "3651"}, "--days must be from 1 to 3650"},
		{[]string{"seed", "synthetic", "--tenant", "bench", "--leads", "ten"}, `invalid value "ten" for flag -leads`},
		{[]string{"seed", "synthetic", "--tenant", "bench", "--leads", "10", "more"}, `unexpected argument "more"`},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, env, &out, &errOut)
		require.ErrorContains(t, err, tc.want, "accord %s", strings.Join(tc.args, " "))
		require.NotContains(t, err.Error(), "127.0.0.1:1", "no database reached for %v", tc.args)
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"seed", "synthetic", "--tenant", "bench", "--leads", "0", "--days", "0"}, env, &out, &errOut)
	require.ErrorContains(t, err, "--leads must be")
	require.ErrorContains(t, err, "--days must be", "every bad flag is reported at once")
}
