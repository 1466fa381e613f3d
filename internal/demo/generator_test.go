package demo

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
)

var testNow = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

var testReasons = []string{"bad_data", "bad_timing", "competitor", "duplicate", "no_authority", "no_budget", "not_icp", "unresponsive"}

func testConfig(n int) Config {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	team := uuid.MustParse("00000000-0000-0000-0000-00000000aaaa")
	reps := []Rep{
		{ID: uuid.MustParse("00000000-0000-0000-0000-000000000001"), Name: "Rey Alvarez", TeamID: team, TeamName: "Sales"},
		{ID: uuid.MustParse("00000000-0000-0000-0000-000000000002"), Name: "Rosa Marin", TeamID: team, TeamName: "Sales"},
		{ID: uuid.MustParse("00000000-0000-0000-0000-000000000003"), Name: "Raj Patel", TeamID: team, TeamName: "Sales", Slow: true},
	}
	return Config{
		Seed: 42, Now: testNow, Days: 90, Leads: n, Location: berlin,
		Segments: []string{"smb", "mid", "enterprise"}, Reasons: testReasons, Reps: reps,
		Marketer:      auth.Actor{Type: auth.ActorUser, ID: uuid.MustParse("00000000-0000-0000-0000-00000000000a"), Name: "Mara Lindqvist"},
		Qualification: lead.Qualification{PageViews: &lead.PageViewRule{URLContains: "/pricing", Count: 3, WithinHours: 48}},
		Website:       "https://acme.test",
	}
}

func generate(t *testing.T, cfg Config) []Lead {
	t.Helper()
	g, err := New(cfg)
	require.NoError(t, err)
	out := make([]Lead, g.Len())
	for i := range out {
		g.Lead(i, &out[i])
	}
	return out
}

// checkHistory asserts the funnel invariants of one generated lead.
func checkHistory(t *testing.T, l Lead, cfg Config) {
	t.Helper()
	api := lead.Mover{API: true}
	require.NotEmpty(t, l.Transitions)
	first := l.Transitions[0]
	require.Equal(t, 1, first.Seq)
	require.Equal(t, lead.Stage(""), first.From)
	require.Equal(t, lead.StageNew, first.To)
	require.Equal(t, l.CreatedAt, first.At)
	handoffs := 0
	for k, tr := range l.Transitions {
		require.Equal(t, k+1, tr.Seq)
		require.True(t, tr.At.Before(cfg.Now), "transition in the past")
		if k == 0 {
			continue
		}
		prev := l.Transitions[k-1]
		require.Equal(t, prev.To, tr.From)
		require.True(t, tr.At.After(prev.At), "times strictly increase: %s then %s", prev.At, tr.At)
		needsReason, needsAmount, err := lead.CheckMove(tr.From, tr.To, api)
		require.NoError(t, err, "lead %s seq %d", l.ID, tr.Seq)
		if needsReason {
			require.Contains(t, cfg.Reasons, tr.Reason)
		}
		if tr.Reason != "" {
			require.Contains(t, cfg.Reasons, tr.Reason)
		}
		if needsAmount {
			require.Positive(t, tr.Amount)
		}
		if tr.To == lead.StageMQL {
			handoffs++
			require.NotEqual(t, uuid.Nil, tr.OwnerID)
		}
	}
	require.Len(t, l.Assignments, handoffs)
	last := l.Transitions[len(l.Transitions)-1]
	require.Equal(t, last.To, l.Stage)
	require.Equal(t, last.At, l.StageChangedAt)
	require.Equal(t, last.OwnerID, l.OwnerID)
	require.False(t, l.UpdatedAt.Before(last.At))
	for _, a := range l.Activities {
		require.False(t, a.At.Before(l.CreatedAt))
		require.True(t, a.At.Before(cfg.Now))
		require.False(t, a.At.After(l.UpdatedAt))
		require.True(t, a.Kind.Valid())
		if a.Kind == lead.ActPageView {
			require.True(t, lead.ValidHTTPURL(a.URL), a.URL)
		}
		if a.Kind.Touch() {
			require.Equal(t, auth.ActorUser, a.Actor.Type)
		}
	}
	for _, p := range l.Pauses {
		require.True(t, p.Until.After(p.At))
		require.True(t, p.At.Before(cfg.Now))
	}
	if l.Stage == lead.StageNew {
		// The qualification rule would have handed it off.
		var views []time.Time
		for _, a := range l.Activities {
			if a.Kind == lead.ActPageView && cfg.Qualification.PageViews.MatchesURL(a.URL) {
				views = append(views, a.At)
			}
		}
		score := l.Score
		ok, _ := cfg.Qualification.Qualifies(lead.Lead{Score: &score, ICPFit: l.ICPFit}, views)
		require.False(t, ok, "a lead left in new satisfies the qualification rule")
	}
	switch l.Stage {
	case lead.StageOpportunity, lead.StageWon:
		require.Positive(t, l.Amount)
	}
	require.Positive(t, l.Version)
	require.Contains(t, []string{"smb", "mid", "enterprise"}, l.Segment)
	require.GreaterOrEqual(t, l.Score, 0)
	require.LessOrEqual(t, l.Score, 100)
}

func TestDemo_Histories(t *testing.T) {
	t.Parallel()
	cfg := testConfig(3600)
	leads := generate(t, cfg)
	emails, externals, ids := map[string]bool{}, map[string]bool{}, map[uuid.UUID]bool{}
	for i, l := range leads {
		checkHistory(t, l, cfg)
		require.False(t, emails[l.Email], "email %s twice", l.Email)
		require.False(t, externals[l.ExternalID])
		require.False(t, ids[l.ID])
		emails[l.Email], externals[l.ExternalID], ids[l.ID] = true, true, true
		if i > 0 {
			require.False(t, l.CreatedAt.Before(leads[i-1].CreatedAt), "leads come in creation order")
		}
	}
	require.True(t, leads[0].CreatedAt.After(testNow.AddDate(0, 0, -91)))

	t.Run("Deterministic", func(t *testing.T) {
		again := generate(t, cfg)
		require.Equal(t, leads, again)
		other := cfg
		other.Seed = 7
		require.NotEqual(t, leads[10].Transitions, generate(t, other)[10].Transitions)
	})

	t.Run("Shape", func(t *testing.T) {
		stages, campaigns := map[lead.Stage]int{}, map[string]bool{}
		ruleHandoffs := 0
		for _, l := range leads {
			stages[l.Stage]++
			campaigns[l.Campaign] = true
			for _, tr := range l.Transitions {
				if tr.Actor.Name == "Qualification rule" {
					ruleHandoffs++
				}
			}
		}
		for _, st := range lead.Stages {
			require.Positive(t, stages[st], "some leads end in %s: %v", st, stages)
		}
		require.Len(t, campaigns, len(Campaigns))
		require.Positive(t, ruleHandoffs)
		t.Logf("stages %v, rule handoffs %d", stages, ruleHandoffs)
	})

	t.Run("RejectedCampaign", func(t *testing.T) {
		rates := rejectionRates(leads)
		t.Logf("rejection rates %v", rates)
		bad := rates[RejectedCampaign]
		require.Greater(t, bad, 0.6)
		for c, r := range rates {
			if c != RejectedCampaign {
				require.Less(t, r, bad-0.2, "campaign %q", c)
			}
		}
	})

	t.Run("SlowRep", func(t *testing.T) {
		respond, touch := responseMedians(leads)
		slow := cfg.Reps[2].ID
		for _, rep := range cfg.Reps[:2] {
			require.Greater(t, respond[slow], 4*respond[rep.ID])
			require.Greater(t, touch[slow], 4*touch[rep.ID])
		}
		t.Logf("median respond %v, first touch %v", respond, touch)
	})

	t.Run("Notifications", func(t *testing.T) {
		g, err := New(cfg)
		require.NoError(t, err)
		ns := g.Notifications(uuid.New(), cfg.Marketer.ID)
		kinds := map[string]int{}
		for _, n := range ns {
			kinds[n.Kind]++
			require.True(t, n.CreatedAt.Before(cfg.Now))
		}
		require.Equal(t, map[string]int{"lead.assigned": 9, "lead.waiting": 1, "campaign.rejections": 1}, kinds)
	})
}

// rejectionRates is each campaign's share of rejections among decisions.
func rejectionRates(leads []Lead) map[string]float64 {
	rej, dec := map[string]int{}, map[string]int{}
	for _, l := range leads {
		for _, tr := range l.Transitions {
			if tr.From == lead.StageMQL {
				dec[l.Campaign]++
				if tr.To == lead.StageRejected {
					rej[l.Campaign]++
				}
			}
		}
	}
	out := map[string]float64{}
	for c, n := range dec {
		out[c] = float64(rej[c]) / float64(n)
	}
	return out
}

// responseMedians is each owner's median time from handoff to decision and
// to first touch.
func responseMedians(leads []Lead) (respond, touch map[uuid.UUID]time.Duration) {
	rs, ts := map[uuid.UUID][]time.Duration{}, map[uuid.UUID][]time.Duration{}
	for _, l := range leads {
		for k, tr := range l.Transitions {
			if tr.To != lead.StageMQL {
				continue
			}
			if k+1 < len(l.Transitions) {
				rs[tr.OwnerID] = append(rs[tr.OwnerID], l.Transitions[k+1].At.Sub(tr.At))
			}
			end := nextHandoff(l, k)
			for _, a := range l.Activities {
				if a.Kind.Touch() && !a.At.Before(tr.At) && (end.IsZero() || a.At.Before(end)) {
					ts[tr.OwnerID] = append(ts[tr.OwnerID], a.At.Sub(tr.At))
					break
				}
			}
		}
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	respond, touch = map[uuid.UUID]time.Duration{}, map[uuid.UUID]time.Duration{}
	for id, ds := range rs {
		respond[id] = median(ds)
	}
	for id, ds := range ts {
		touch[id] = median(ds)
	}
	return respond, touch
}

// nextHandoff is the time of the handoff after transition k, or zero.
func nextHandoff(l Lead, k int) time.Time {
	for _, tr := range l.Transitions[k+1:] {
		if tr.To == lead.StageMQL {
			return tr.At
		}
	}
	return time.Time{}
}

func TestDemo_Companies(t *testing.T) {
	t.Parallel()
	domains := map[string]string{}
	n := uint64(len(companyPrefixes) * len(companySuffixes))
	for i := uint64(0); i < n; i++ {
		c := companyOf(i)
		require.NotContains(t, domains, c.domain, "%s and %s share a domain", c.name, domains[c.domain])
		domains[c.domain] = c.name
	}
}

func TestDemo_Offset(t *testing.T) {
	t.Parallel()
	cfg := testConfig(500)
	a := generate(t, cfg)
	cfg.Offset = 500
	cfg.Seed = 43
	b := generate(t, cfg)
	emails := map[string]bool{}
	for _, l := range slices.Concat(a, b) {
		require.False(t, emails[l.Email], "email %s twice", l.Email)
		emails[l.Email] = true
	}
	require.Equal(t, "hs-100500", b[0].ExternalID)
}

func TestDemo_BadConfig(t *testing.T) {
	t.Parallel()
	_, err := New(Config{})
	require.ErrorContains(t, err, "now is required")
	require.ErrorContains(t, err, "sales rep")
	require.ErrorContains(t, err, "reason code")
}

func TestDemo_CalendarAdd(t *testing.T) {
	t.Parallel()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(s string) int64 {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		require.NoError(t, err)
		return tm.Unix()
	}
	c := newCalendar(berlin, at("2026-10-20 00:00"), at("2026-11-10 00:00"))
	for _, tc := range []struct {
		from string
		d    time.Duration
		want string
	}{
		{"2026-10-22 10:00", 30 * time.Minute, "2026-10-22 10:30"},
		{"2026-10-22 16:30", time.Hour, "2026-10-23 09:30"},
		{"2026-10-23 16:30", time.Hour, "2026-10-26 09:30"}, // Friday → Monday, across the end of summer time
		{"2026-10-24 12:00", 0, "2026-10-26 09:00"},
		{"2026-10-22 07:00", 8 * time.Hour, "2026-10-22 17:00"},
	} {
		got := c.add(at(tc.from), tc.d.Seconds())
		require.Equal(t, tc.want, time.Unix(got, 0).In(berlin).Format("2006-01-02 15:04"), fmt.Sprintf("%s + %s", tc.from, tc.d))
	}
	require.Equal(t, never, c.add(at("2026-11-09 16:00"), (48*time.Hour).Seconds()))
}

// BenchmarkGenerator_Lead measures building one lead with its history.
func BenchmarkDemo_Lead(b *testing.B) {
	cfg := testConfig(1_000_000)
	g, err := New(cfg)
	require.NoError(b, err)
	var l Lead
	rows := 0
	i := 0
	for b.Loop() {
		g.Lead(i%cfg.Leads, &l)
		rows += 1 + len(l.Transitions) + len(l.Activities) + len(l.Assignments) + len(l.Pauses)
		i++
	}
	b.ReportMetric(float64(rows)/float64(i), "rows/lead")
}
