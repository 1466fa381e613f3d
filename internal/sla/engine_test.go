package sla_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// cals resolves calendars for tests: a default, per team, per clause.
type cals struct {
	def     *sla.Schedule
	teams   map[uuid.UUID]*sla.Schedule
	clauses map[uuid.UUID]*sla.Schedule
}

func (c cals) Schedule(clauseCal *uuid.UUID, team *uuid.UUID) *sla.Schedule {
	if clauseCal != nil {
		if s, ok := c.clauses[*clauseCal]; ok {
			return s
		}
	}
	if team != nil {
		if s, ok := c.teams[*team]; ok {
			return s
		}
	}
	return c.def
}

var (
	office   = sched(berlin, hours(weekdays, [2]string{"09:00", "17:00"}))
	teamA    = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	teamNY   = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	repA     = uuid.MustParse("00000000-0000-0000-0000-00000000aaaa")
	repB     = uuid.MustParse("00000000-0000-0000-0000-00000000bbbb")
	calendar = cals{def: office, teams: map[uuid.UUID]*sla.Schedule{
		teamNY: sched("America/New_York", hours(weekdays, [2]string{"09:00", "17:00"})),
	}}
)

func clause(kind sla.Kind, minutes int, mut ...func(*sla.Clause)) sla.Clause {
	c := sla.Clause{ID: uuid.New(), Kind: kind, TargetMinutes: minutes}
	if kind == sla.KindAttempts {
		c.Attempts = 3
	}
	for _, m := range mut {
		m(&c)
	}
	c.Normalize()
	return c
}

func agreement(cs ...sla.Clause) sla.Versions {
	return sla.Versions{Current: sla.Agreement{Version: 1, Clauses: cs}}
}

// history builds facts: a lead created Monday 08:00, handed off to repA of
// teamA at handoff, then the moves given.
type history struct {
	f   sla.Facts
	seq int
}

func newHistory(handoff time.Time) *history {
	h := &history{}
	h.move(handoff.Add(-time.Hour), "new")
	h.move(handoff, "mql")
	h.hold(handoff, repA, teamA)
	return h
}

func (h *history) move(at time.Time, to string) *history {
	h.seq++
	h.f.Moves = append(h.f.Moves, sla.Move{Seq: h.seq, At: at, To: to})
	return h
}

func (h *history) touch(at time.Time) *history {
	h.f.Touches = append(h.f.Touches, at)
	return h
}

func (h *history) hold(at time.Time, owner, team uuid.UUID) *history {
	h.f.Holdings = append(h.f.Holdings, sla.Holding{At: at, Owner: &owner, Team: &team})
	return h
}

func find(t *testing.T, ts []sla.Timer, kind sla.Kind) sla.Timer {
	t.Helper()
	for _, x := range ts {
		if x.Kind == kind {
			return x
		}
	}
	t.Fatalf("no %s timer in %v", kind, ts)
	return sla.Timer{}
}

var monday9 = at(berlin, "2026-11-02 09:00")

func TestEvaluate_Respond(t *testing.T) {
	t.Parallel()
	respond := clause(sla.KindRespond, 240)
	vs := agreement(respond)
	tests := []struct {
		name    string
		h       *history
		now     time.Time
		status  sla.Status
		due     time.Time
		stopped *time.Time
	}{
		{"running", newHistory(monday9), at(berlin, "2026-11-02 10:00"), sla.StatusRunning, at(berlin, "2026-11-02 13:00"), nil},
		{"at risk at 75 %", newHistory(monday9), at(berlin, "2026-11-02 12:00"), sla.StatusAtRisk, at(berlin, "2026-11-02 13:00"), nil},
		{"met by accepting", newHistory(monday9).move(at(berlin, "2026-11-02 11:00"), "accepted"), at(berlin, "2026-11-03 10:00"),
			sla.StatusMet, at(berlin, "2026-11-02 13:00"), ptrT(at(berlin, "2026-11-02 11:00"))},
		{"met by rejecting", newHistory(monday9).move(at(berlin, "2026-11-02 12:59"), "rejected"), at(berlin, "2026-11-03 10:00"),
			sla.StatusMet, at(berlin, "2026-11-02 13:00"), ptrT(at(berlin, "2026-11-02 12:59"))},
		{"met exactly at the due time", newHistory(monday9).move(at(berlin, "2026-11-02 13:00"), "accepted"), at(berlin, "2026-11-03 10:00"),
			sla.StatusMet, at(berlin, "2026-11-02 13:00"), ptrT(at(berlin, "2026-11-02 13:00"))},
		{"breached", newHistory(monday9), at(berlin, "2026-11-02 13:00"), sla.StatusBreached, at(berlin, "2026-11-02 13:00"), nil},
		{"accepted late stays breached", newHistory(monday9).move(at(berlin, "2026-11-02 15:00"), "accepted"), at(berlin, "2026-11-03 10:00"),
			sla.StatusBreached, at(berlin, "2026-11-02 13:00"), ptrT(at(berlin, "2026-11-02 15:00"))},
		{"handoff after hours starts next opening", newHistory(at(berlin, "2026-11-06 18:00")), at(berlin, "2026-11-09 09:30"),
			sla.StatusRunning, at(berlin, "2026-11-09 13:00"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := sla.Evaluate(tc.h.f, vs, calendar, tc.now)
			r := find(t, ts, sla.KindRespond)
			require.Equal(t, tc.status, r.Status)
			require.True(t, tc.due.Equal(r.DueAt), "due %s", r.DueAt)
			require.Equal(t, tenant.SideSales, r.Side)
			if tc.stopped == nil {
				require.Nil(t, r.StoppedAt)
			} else {
				require.True(t, tc.stopped.Equal(*r.StoppedAt))
			}
			if r.Status == sla.StatusBreached {
				require.True(t, r.DueAt.Equal(*r.BreachedAt), "breached at the due time")
				require.Equal(t, repA, *r.Holder, "attributed to the holder at the due time")
				require.Len(t, r.Escalations, 1)
			}
		})
	}
}

func ptrT(t time.Time) *time.Time { return &t }

func TestEvaluate_FirstTouchAttemptsRecycle(t *testing.T) {
	t.Parallel()
	vs := agreement(clause(sla.KindFirstTouch, 60), clause(sla.KindAttempts, 16*60), clause(sla.KindRecycle, 8*60))
	now := at(berlin, "2026-11-20 10:00")

	t.Run("first touch met; a late-logged earlier touch wins", func(t *testing.T) {
		h := newHistory(monday9).touch(at(berlin, "2026-11-02 09:40")).touch(at(berlin, "2026-11-02 09:20"))
		ft := find(t, sla.Evaluate(h.f, vs, calendar, now), sla.KindFirstTouch)
		require.Equal(t, sla.StatusMet, ft.Status)
		require.True(t, at(berlin, "2026-11-02 09:20").Equal(*ft.StoppedAt))
	})
	t.Run("a touch before the handoff does not count", func(t *testing.T) {
		h := newHistory(monday9).touch(at(berlin, "2026-11-02 08:30"))
		ft := find(t, sla.Evaluate(h.f, vs, calendar, now), sla.KindFirstTouch)
		require.Equal(t, sla.StatusBreached, ft.Status)
	})
	t.Run("rejection before any touch cancels first touch", func(t *testing.T) {
		h := newHistory(monday9).move(at(berlin, "2026-11-02 09:30"), "rejected")
		ts := sla.Evaluate(h.f, vs, calendar, now)
		ft := find(t, ts, sla.KindFirstTouch)
		require.Equal(t, sla.StatusCancelled, ft.Status)
		require.True(t, at(berlin, "2026-11-02 09:30").Equal(*ft.StoppedAt))
		rc := find(t, ts, sla.KindRecycle)
		require.Equal(t, tenant.SideMarketing, rc.Side)
		require.Equal(t, sla.StatusBreached, rc.Status, "nobody recycled it within 8 business hours")
		require.True(t, at(berlin, "2026-11-03 09:30").Equal(rc.DueAt))
	})
	t.Run("recycle met by nurture or re-handoff", func(t *testing.T) {
		h := newHistory(monday9).move(at(berlin, "2026-11-02 09:30"), "rejected")
		h.f.Nurtures = append(h.f.Nurtures, at(berlin, "2026-11-02 16:00"))
		rc := find(t, sla.Evaluate(h.f, vs, calendar, now), sla.KindRecycle)
		require.Equal(t, sla.StatusMet, rc.Status)
		h = newHistory(monday9).move(at(berlin, "2026-11-02 09:30"), "rejected").move(at(berlin, "2026-11-02 11:00"), "mql")
		ts := sla.Evaluate(h.f, vs, calendar, now)
		require.Equal(t, sla.StatusMet, find(t, ts, sla.KindRecycle).Status)
		n := 0
		for _, x := range ts {
			if x.Kind == sla.KindFirstTouch {
				n++
			}
		}
		require.Equal(t, 2, n, "the re-handoff starts a new first-touch timer")
	})
	t.Run("attempts met by the third touch", func(t *testing.T) {
		h := newHistory(monday9).touch(at(berlin, "2026-11-02 09:10")).move(at(berlin, "2026-11-02 09:30"), "accepted").
			touch(at(berlin, "2026-11-02 14:00")).touch(at(berlin, "2026-11-03 10:00"))
		at3 := find(t, sla.Evaluate(h.f, vs, calendar, now), sla.KindAttempts)
		require.Equal(t, sla.StatusMet, at3.Status, "touches since the handoff count")
		require.True(t, at(berlin, "2026-11-03 10:00").Equal(*at3.StoppedAt))
	})
	t.Run("attempts met by reaching opportunity", func(t *testing.T) {
		h := newHistory(monday9).move(at(berlin, "2026-11-02 09:30"), "accepted").move(at(berlin, "2026-11-02 11:00"), "opportunity")
		require.Equal(t, sla.StatusMet, find(t, sla.Evaluate(h.f, vs, calendar, now), sla.KindAttempts).Status)
	})
	t.Run("attempts broken by recycling with too few touches", func(t *testing.T) {
		h := newHistory(monday9).move(at(berlin, "2026-11-02 09:30"), "accepted").touch(at(berlin, "2026-11-02 10:00")).
			move(at(berlin, "2026-11-02 11:00"), "recycled")
		a := find(t, sla.Evaluate(h.f, vs, calendar, now), sla.KindAttempts)
		require.Equal(t, sla.StatusBreached, a.Status)
		require.True(t, at(berlin, "2026-11-02 11:00").Equal(*a.BreachedAt), "broken when recycled")
	})
}

func TestEvaluate_ScopeAndVersions(t *testing.T) {
	t.Parallel()
	ent := "enterprise"
	web := "webinar"
	general := clause(sla.KindRespond, 8*60)
	forEnt := clause(sla.KindRespond, 4*60, func(c *sla.Clause) { c.Scope.Segment = &ent })
	forEntWeb := clause(sla.KindRespond, 2*60, func(c *sla.Clause) { c.Scope.Segment = &ent; c.Scope.Source = &web })
	forWeb := clause(sla.KindRespond, 3*60, func(c *sla.Clause) { c.Scope.Source = &web })
	vs := agreement(general, forEnt, forEntWeb, forWeb)
	for _, tc := range []struct {
		segment, source string
		want            uuid.UUID
	}{
		{"enterprise", "webinar", forEntWeb.ID}, {"enterprise", "organic", forEnt.ID}, {"smb", "webinar", forWeb.ID}, {"smb", "organic", general.ID},
	} {
		h := newHistory(monday9)
		h.f.Segment, h.f.Source = tc.segment, tc.source
		require.Equal(t, tc.want, find(t, sla.Evaluate(h.f, vs, calendar, monday9), sla.KindRespond).ClauseID, "%s/%s", tc.segment, tc.source)
	}
	// No matching clause of a kind: no timer of that kind.
	require.Empty(t, sla.Evaluate(newHistory(monday9).f, agreement(forEnt), calendar, monday9))

	// A timer keeps the version it started under.
	old := sla.Agreement{Version: 1, Clauses: []sla.Clause{general}}
	tighter := general
	tighter.TargetMinutes = 60
	cur := sla.Agreement{Version: 2, Clauses: []sla.Clause{tighter}}
	pinned := sla.Versions{Current: cur, ByNum: map[int]sla.Agreement{1: old, 2: cur},
		Pinned: map[sla.TimerKey]int{{Kind: sla.KindRespond, StartSeq: 2}: 1}}
	r := find(t, sla.Evaluate(newHistory(monday9).f, pinned, calendar, monday9), sla.KindRespond)
	require.Equal(t, 1, r.Version)
	require.True(t, at(berlin, "2026-11-02 17:00").Equal(r.DueAt))
	r = find(t, sla.Evaluate(newHistory(monday9).f, sla.Versions{Current: cur}, calendar, monday9), sla.KindRespond)
	require.Equal(t, 2, r.Version, "a new timer starts under the current version")
	require.True(t, at(berlin, "2026-11-02 10:00").Equal(r.DueAt))
}

func TestEvaluate_ReassignAndPause(t *testing.T) {
	t.Parallel()
	vs := agreement(clause(sla.KindRespond, 8*60))

	t.Run("reassignment keeps the clock and records holder segments", func(t *testing.T) {
		h := newHistory(monday9).hold(at(berlin, "2026-11-02 12:00"), repB, teamA)
		r := find(t, sla.Evaluate(h.f, vs, calendar, at(berlin, "2026-11-03 10:00")), sla.KindRespond)
		require.True(t, at(berlin, "2026-11-02 17:00").Equal(r.DueAt), "no reset")
		require.Equal(t, sla.StatusBreached, r.Status)
		require.Equal(t, repB, *r.Holder, "the breach goes to who held it at the due time")
		require.Len(t, r.Holders, 2)
		require.Equal(t, 3*time.Hour, r.Holders[0].Business)
		require.Equal(t, repA, *r.Holders[0].Holder)
		require.Equal(t, 5*time.Hour+time.Hour, r.Holders[1].Business, "to now: Monday 12–17 and Tuesday 9–10")
	})

	t.Run("a team with another calendar keeps elapsed time and counts the rest on its calendar", func(t *testing.T) {
		// 4 business hours pass in Berlin (9–13), then New York holds it:
		// the other 4 run from NY's 09:00 (15:00 Berlin) to 13:00 NY.
		h := newHistory(monday9).hold(at(berlin, "2026-11-02 13:00"), repB, teamNY)
		r := find(t, sla.Evaluate(h.f, vs, calendar, monday9), sla.KindRespond)
		require.True(t, at("America/New_York", "2026-11-02 13:00").Equal(r.DueAt), "due %s", r.DueAt)
	})

	t.Run("a snooze extends the due time by the paused business time", func(t *testing.T) {
		h := newHistory(monday9)
		h.f.Pauses = []sla.Window{{From: at(berlin, "2026-11-02 10:00"), Until: at(berlin, "2026-11-02 12:00")}}
		r := find(t, sla.Evaluate(h.f, vs, calendar, monday9), sla.KindRespond)
		require.Equal(t, 120, r.PausedMinutes)
		require.True(t, at(berlin, "2026-11-03 11:00").Equal(r.DueAt), "due %s", r.DueAt)
	})

	t.Run("overlapping snoozes count once and the cap holds", func(t *testing.T) {
		capped := agreement(clause(sla.KindRespond, 8*60, func(c *sla.Clause) { c.PauseCapMinutes = 90 }))
		h := newHistory(monday9)
		h.f.Pauses = []sla.Window{
			{From: at(berlin, "2026-11-02 10:00"), Until: at(berlin, "2026-11-02 11:00")},
			{From: at(berlin, "2026-11-02 10:30"), Until: at(berlin, "2026-11-02 12:00")},
		}
		r := find(t, sla.Evaluate(h.f, capped, calendar, monday9), sla.KindRespond)
		require.Equal(t, 90, r.PausedMinutes)
		require.True(t, at(berlin, "2026-11-03 10:30").Equal(r.DueAt), "due %s", r.DueAt)
	})

	t.Run("a pause after the timer stopped does not count", func(t *testing.T) {
		h := newHistory(monday9).move(at(berlin, "2026-11-02 10:00"), "accepted")
		h.f.Pauses = []sla.Window{{From: at(berlin, "2026-11-02 11:00"), Until: at(berlin, "2026-11-04 11:00")}}
		r := find(t, sla.Evaluate(h.f, vs, calendar, monday9), sla.KindRespond)
		require.Zero(t, r.PausedMinutes)
		require.Equal(t, sla.StatusMet, r.Status)
	})
}

func TestEvaluate_EscalationLadder(t *testing.T) {
	t.Parallel()
	c := clause(sla.KindRespond, 60, func(c *sla.Clause) {
		c.Escalation = []sla.Step{{AfterMinutes: 0, Notify: []string{"holder"}}, {AfterMinutes: 240, Notify: []string{"role:admin"}}}
	})
	r := find(t, sla.Evaluate(newHistory(monday9).f, agreement(c), calendar, at(berlin, "2026-11-03 12:00")), sla.KindRespond)
	require.Equal(t, sla.StatusBreached, r.Status)
	require.Len(t, r.Escalations, 2)
	require.True(t, at(berlin, "2026-11-02 10:00").Equal(r.Escalations[0]))
	require.True(t, at(berlin, "2026-11-02 14:00").Equal(r.Escalations[1]), "4 business hours after the breach")
}

func TestValidateClauses(t *testing.T) {
	t.Parallel()
	cal := uuid.New()
	segs := []string{"smb", "enterprise"}
	good := []sla.Clause{
		clause(sla.KindRespond, 240),
		clause(sla.KindAttempts, 7200),
		{Kind: sla.KindVolume, TargetCount: ptrInt(400)},
		{Kind: sla.KindICPQuality, TargetPercent: ptrF(60)},
	}
	for i := range good {
		good[i].Normalize()
	}
	require.Nil(t, sla.ValidateClauses(good, segs, map[uuid.UUID]bool{cal: true}))

	galactic := "galactic"
	bad := []sla.Clause{
		{Kind: "promise"},
		{Kind: sla.KindRespond, Side: tenant.SideMarketing, TargetMinutes: 0, WarnAtPercent: 75, Escalation: sla.DefaultEscalation()},
		{Kind: sla.KindFirstTouch, TargetMinutes: 600000, WarnAtPercent: 75, Scope: sla.Scope{Segment: &galactic}},
		{Kind: sla.KindAttempts, TargetMinutes: 60, WarnAtPercent: 75},
		{Kind: sla.KindRecycle, TargetMinutes: 60, WarnAtPercent: 75, CalendarID: ptrUUID(uuid.New()),
			Escalation: []sla.Step{{AfterMinutes: 60, Notify: []string{"holder"}}, {AfterMinutes: 30, Notify: []string{"mayor"}}}},
		{Kind: sla.KindVolume, Period: "decade"},
		{Kind: sla.KindRespond, TargetMinutes: 60, WarnAtPercent: 75},
	}
	for i := range bad {
		bad[i].Normalize()
	}
	errs := sla.ValidateClauses(bad, segs, map[uuid.UUID]bool{cal: true})
	for _, f := range []string{"clauses.0.kind", "clauses.1.side", "clauses.1.target_minutes", "clauses.2.target_minutes",
		"clauses.2.scope.segment", "clauses.3.attempts", "clauses.4.calendar_id", "clauses.4.escalation.1.after_minutes",
		"clauses.4.escalation.1.notify", "clauses.5.target_count", "clauses.5.period"} {
		require.Contains(t, errs, f)
	}
}

func ptrInt(n int) *int              { return &n }
func ptrF(f float64) *float64        { return &f }
func ptrUUID(u uuid.UUID) *uuid.UUID { return &u }

func TestClause_Describe(t *testing.T) {
	t.Parallel()
	ent := "enterprise"
	c := clause(sla.KindRespond, 240, func(c *sla.Clause) { c.Scope.Segment = &ent })
	require.Equal(t, "Sales accepts or rejects enterprise leads within 4 business hours of the handoff", c.Describe())
	require.Equal(t, "Marketing hands off at least 400 leads a month", sla.Clause{Kind: sla.KindVolume, TargetCount: ptrInt(400), Period: sla.PeriodMonth}.Describe())
	require.Equal(t, "2 business days", sla.DescribeMinutes(960))
	require.Equal(t, "90 business minutes", sla.DescribeMinutes(90))
}

func TestAssignIDs(t *testing.T) {
	t.Parallel()
	prev := []sla.Clause{clause(sla.KindRespond, 240), clause(sla.KindFirstTouch, 60)}
	next := []sla.Clause{clause(sla.KindRespond, 120), clause(sla.KindRecycle, 60)}
	next[0].ID, next[1].ID = uuid.Nil, prev[1].ID // a stolen id
	out := sla.AssignIDs(next, prev)
	require.Equal(t, prev[0].ID, out[0].ID, "same side, kind and scope keep the id")
	require.NotEqual(t, prev[1].ID, out[1].ID, "another kind does not take it")
}
