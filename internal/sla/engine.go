package sla

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/tenant"
)

// Status is where a timer is.
type Status string

// Timer statuses (API.md).
const (
	StatusRunning   Status = "running"
	StatusAtRisk    Status = "at_risk"
	StatusMet       Status = "met"
	StatusBreached  Status = "breached"
	StatusCancelled Status = "cancelled"
)

// Open reports whether the timer still runs (running or at risk).
func (s Status) Open() bool { return s == StatusRunning || s == StatusAtRisk }

// Move is one stage change of a lead as the engine reads it.
type Move struct {
	Seq  int
	At   time.Time
	To   string // the stage moved to: new, mql, accepted, …
	From string
}

// Holding is who held a lead from At on: its owner and team. A lead's
// holdings start at its first handoff and change on reassignment.
type Holding struct {
	At    time.Time
	Owner *uuid.UUID
	Team  *uuid.UUID
}

// Window is a pause: a snooze from From until Until.
type Window struct {
	From, Until time.Time
}

// Facts is everything the engine reads of one lead: its history, in any
// event-time order (the engine sorts).
type Facts struct {
	Segment  string
	Source   string
	Moves    []Move
	Touches  []time.Time // call, email, meeting, linkedin
	Nurtures []time.Time
	Pauses   []Window
	Holdings []Holding
}

// Calendars resolves the schedule a clause runs on while a team holds the
// lead: the clause's own calendar, else the team's, else the tenant default.
type Calendars interface {
	Schedule(clauseCalendar *uuid.UUID, team *uuid.UUID) *Schedule
}

// HolderSpan is how much business time one holder had a running timer.
type HolderSpan struct {
	Holder   *uuid.UUID
	Team     *uuid.UUID
	From, To time.Time
	Business time.Duration
}

// Timer is one clock of one lead under one clause of one agreement version,
// as the engine computes it.
type Timer struct {
	ClauseID      uuid.UUID
	Version       int
	Kind          Kind
	Side          tenant.Side
	StartSeq      int // the transition that started it
	StartedAt     time.Time
	DueAt         time.Time
	WarnAt        time.Time
	Status        Status
	StoppedAt     *time.Time // met, cancelled, or when a breached timer was resolved
	BreachedAt    *time.Time
	Holder        *uuid.UUID // who holds it now (or held it at the breach)
	Team          *uuid.UUID
	PausedMinutes int
	Holders       []HolderSpan
	// Escalations are the instants of the clause's ladder steps (the first
	// usually at the breach itself), counted from the due time; empty once
	// met or cancelled.
	Escalations []time.Time
}

// Key identifies a timer across recomputations: its kind and the
// transition that started it.
func (t Timer) Key() TimerKey { return TimerKey{Kind: t.Kind, StartSeq: t.StartSeq} }

// TimerKey identifies a timer of a lead.
type TimerKey struct {
	Kind     Kind
	StartSeq int
}

// Versions supplies agreement versions: the one each existing timer is
// pinned to, and the one new timers start under.
type Versions struct {
	Current Agreement
	ByNum   map[int]Agreement
	// Pinned is the version of each timer that exists already.
	Pinned map[TimerKey]int
}

func (v Versions) forKey(k TimerKey) Agreement {
	if n, ok := v.Pinned[k]; ok {
		if a, ok := v.ByNum[n]; ok {
			return a
		}
		if n == v.Current.Version {
			return v.Current
		}
	}
	return v.Current
}

// Evaluate computes every lead timer of a lead from its facts at now: one
// per handoff for respond and first_touch, per acceptance for attempts, per
// rejection for recycle, each under the most specific matching clause of
// the version it is pinned to (new timers: the current version). It is pure:
// the same facts give the same timers.
func Evaluate(f Facts, vs Versions, cals Calendars, now time.Time) []Timer {
	return evaluate(f, vs, cals, now, true)
}

// EvaluateOutcomes is Evaluate without holder segments and escalation
// instants: what a replay of history needs (status, due time, holder), at
// half the cost.
func EvaluateOutcomes(f Facts, vs Versions, cals Calendars, now time.Time) []Timer {
	return evaluate(f, vs, cals, now, false)
}

func evaluate(f Facts, vs Versions, cals Calendars, now time.Time, detail bool) []Timer {
	// Facts usually arrive in order (the store reads them so): sort a copy
	// only when they do not, never the caller's slices.
	moves := f.Moves
	if !slices.IsSortedFunc(moves, func(a, b Move) int { return cmp.Compare(a.Seq, b.Seq) }) {
		moves = append([]Move(nil), moves...)
		sort.SliceStable(moves, func(i, j int) bool { return moves[i].Seq < moves[j].Seq })
	}
	touches := sortedTimes(f.Touches)
	nurtures := sortedTimes(f.Nurtures)
	holdings := f.Holdings
	if !slices.IsSortedFunc(holdings, func(a, b Holding) int { return a.At.Compare(b.At) }) {
		holdings = append([]Holding(nil), holdings...)
		sort.SliceStable(holdings, func(i, j int) bool { return holdings[i].At.Before(holdings[j].At) })
	}
	pauses := mergeWindows(f.Pauses)

	n := 0
	for _, m := range moves {
		switch m.To {
		case "mql":
			n += 2
		case "accepted", "rejected":
			n++
		}
	}
	var out []Timer
	if n > 0 {
		out = make([]Timer, 0, n)
	}
	for i, m := range moves {
		var kinds []Kind
		switch m.To {
		case "mql":
			kinds = []Kind{KindRespond, KindFirstTouch}
		case "accepted":
			kinds = []Kind{KindAttempts}
		case "rejected":
			kinds = []Kind{KindRecycle}
		}
		for _, kind := range kinds {
			key := TimerKey{Kind: kind, StartSeq: m.Seq}
			ag := vs.forKey(key)
			c, ok := ag.Match(kind, f.Segment, f.Source)
			if !ok {
				continue
			}
			end, endStatus := resolution(kind, c, moves, i, touches, nurtures)
			t := compute(c, ag.Version, m, end, endStatus, holdings, pauses, cals, now, detail)
			out = append(out, t)
		}
	}
	return out
}

// resolution finds what ends a timer started by moves[i]: the instant and
// whether it meets the clause or cancels the timer (or, for attempts, breaks
// it early). A zero time means nothing has ended it yet.
func resolution(kind Kind, c Clause, moves []Move, i int, touches, nurtures []time.Time) (time.Time, Status) {
	start := moves[i]
	// The cycle of this timer ends at the lead's next handoff.
	cycleEnd := time.Time{}
	for _, m := range moves[i+1:] {
		if m.To == "mql" {
			cycleEnd = m.At
			break
		}
	}
	inCycle := func(t time.Time) bool { return !t.Before(start.At) && (cycleEnd.IsZero() || t.Before(cycleEnd)) }
	switch kind {
	case KindRespond:
		for _, m := range moves[i+1:] {
			if m.To == "accepted" || m.To == "rejected" {
				return m.At, StatusMet
			}
			if m.To == "mql" {
				break
			}
		}
	case KindFirstTouch:
		var first time.Time
		for _, t := range touches {
			if inCycle(t) {
				first = t
				break
			}
		}
		// A lead that leaves sales' hands before any touch cancels the
		// clock (a rejection before the first touch, DESIGN.md §4.1).
		var leave time.Time
		for _, m := range moves[i+1:] {
			if m.To == "mql" {
				break
			}
			if m.To == "rejected" || m.To == "recycled" || m.To == "lost" || m.To == "won" {
				leave = m.At
				break
			}
		}
		switch {
		case !first.IsZero() && (leave.IsZero() || !first.After(leave)):
			return first, StatusMet
		case !leave.IsZero():
			return leave, StatusCancelled
		}
	case KindAttempts:
		// Touches of this handoff's cycle count, from the handoff on.
		handoff := start.At
		for j := i; j >= 0; j-- {
			if moves[j].To == "mql" {
				handoff = moves[j].At
				break
			}
		}
		n := 0
		var nth time.Time
		for _, t := range touches {
			if !t.Before(handoff) && (cycleEnd.IsZero() || t.Before(cycleEnd)) {
				if n++; n == c.Attempts {
					nth = t
					break
				}
			}
		}
		var reached, recycled time.Time
		for _, m := range moves[i+1:] {
			if m.To == "mql" {
				break
			}
			if reached.IsZero() && (m.To == "sql" || m.To == "opportunity" || m.To == "won") {
				reached = m.At
			}
			if recycled.IsZero() && (m.To == "recycled" || m.To == "lost") && reached.IsZero() {
				recycled = m.At
			}
		}
		met := earliest(nth, reached)
		switch {
		case !met.IsZero() && (recycled.IsZero() || !met.After(recycled)):
			return met, StatusMet
		case !recycled.IsZero():
			// Recycled with fewer than N touches: broken there and then.
			return recycled, StatusBreached
		}
	case KindRecycle:
		var next time.Time
		for _, m := range moves[i+1:] {
			if m.To == "recycled" || m.To == "mql" {
				next = m.At
				break
			}
		}
		for _, t := range nurtures {
			if !t.Before(start.At) {
				next = earliest(next, t)
				break
			}
		}
		if !next.IsZero() {
			return next, StatusMet
		}
	}
	return time.Time{}, ""
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

// compute places one timer in time: its due and warning instants across
// holder calendars and pauses, its status at now, and the holders' shares.
func compute(c Clause, version int, start Move, end time.Time, endStatus Status, holdings []Holding, pauses []Window, cals Calendars, now time.Time, detail bool) Timer {
	t := Timer{ClauseID: c.ID, Version: version, Kind: c.Kind, Side: c.Side, StartSeq: start.Seq, StartedAt: start.At}
	clk := newClock(c.CalendarID, start.At, holdings, cals)
	target := time.Duration(c.TargetMinutes) * time.Minute
	warnTarget := target * time.Duration(c.WarnAtPercent) / 100
	stop := end
	// Paused business time extends the due time, up to the clause's cap;
	// pauses count only while the timer runs.
	pauseCap := time.Duration(c.PauseCapMinutes) * time.Minute
	var paused time.Duration
	for iter := 0; iter < 8; iter++ {
		due := clk.add(start.At, target+paused)
		limit := due
		if !stop.IsZero() && stop.Before(limit) {
			limit = stop
		}
		p := time.Duration(0)
		for _, w := range pauses {
			a, b := w.From, w.Until
			if a.Before(start.At) {
				a = start.At
			}
			if b.After(limit) {
				b = limit
			}
			if b.After(a) {
				p += clk.elapsed(a, b)
			}
		}
		if p > pauseCap {
			p = pauseCap
		}
		if p == paused {
			break
		}
		paused = p
	}
	t.PausedMinutes = int(paused / time.Minute)
	t.DueAt = clk.add(start.At, target+paused)
	t.WarnAt = clk.add(start.At, warnTarget+paused*time.Duration(c.WarnAtPercent)/100)

	switch {
	case !end.IsZero() && endStatus == StatusBreached:
		// Broken before the due time (attempts: recycled with too few touches).
		t.Status, t.BreachedAt, t.StoppedAt = StatusBreached, ptr(end), ptr(end)
	case !end.IsZero() && !end.After(t.DueAt):
		t.Status, t.StoppedAt = endStatus, ptr(end)
	case !t.DueAt.After(now):
		t.Status, t.BreachedAt = StatusBreached, ptr(t.DueAt)
		if !end.IsZero() {
			t.StoppedAt = ptr(end)
		}
	case !t.WarnAt.After(now):
		t.Status = StatusAtRisk
	default:
		t.Status = StatusRunning
	}
	// The holder: who had the lead at the breach, at the stop, or now.
	at := now
	switch {
	case t.BreachedAt != nil:
		at = *t.BreachedAt
	case t.StoppedAt != nil:
		at = *t.StoppedAt
	}
	h := holderAt(holdings, at)
	t.Holder, t.Team = h.Owner, h.Team
	spanEnd := now
	switch {
	case t.StoppedAt != nil:
		spanEnd = *t.StoppedAt
	case t.BreachedAt != nil && t.BreachedAt.Before(now):
		spanEnd = now
	}
	if !detail {
		return t
	}
	t.Holders = holderSpans(clk, holdings, start.At, spanEnd)
	// The ladder's instants count from the due time: known while the timer
	// runs too, so the worker that finds it breached escalates without the
	// calendars at hand.
	if t.Status == StatusBreached || t.Status.Open() {
		for _, st := range c.Escalation {
			t.Escalations = append(t.Escalations, clk.add(t.DueAt, time.Duration(st.AfterMinutes)*time.Minute))
		}
	}
	return t
}

func ptr(t time.Time) *time.Time { return &t }

func holderAt(hs []Holding, t time.Time) Holding {
	var cur Holding
	for _, h := range hs {
		if h.At.After(t) {
			break
		}
		cur = h
	}
	return cur
}

func holderSpans(clk *clock, hs []Holding, from, to time.Time) []HolderSpan {
	if !to.After(from) {
		return nil
	}
	var out []HolderSpan
	cur := holderAt(hs, from)
	segFrom := from
	for _, h := range hs {
		if !h.At.After(from) {
			continue
		}
		if !h.At.Before(to) {
			break
		}
		out = append(out, HolderSpan{Holder: cur.Owner, Team: cur.Team, From: segFrom, To: h.At, Business: clk.elapsed(segFrom, h.At)})
		cur, segFrom = h, h.At
	}
	out = append(out, HolderSpan{Holder: cur.Owner, Team: cur.Team, From: segFrom, To: to, Business: clk.elapsed(segFrom, to)})
	return out
}

// clock is business time across the calendars of successive holders: the
// clause's own calendar throughout, or each holding team's while it held
// the lead. Elapsed time is kept across a change; the rest is counted on the
// new calendar.
type clock struct {
	segs []clockSeg
}

type clockSeg struct {
	from  time.Time // zero for the first
	sched *Schedule
}

func newClock(clauseCal *uuid.UUID, start time.Time, hs []Holding, cals Calendars) *clock {
	c := &clock{}
	cur := holderAt(hs, start)
	c.segs = append(c.segs, clockSeg{sched: cals.Schedule(clauseCal, cur.Team)})
	if clauseCal != nil {
		return c
	}
	for _, h := range hs {
		if !h.At.After(start) {
			continue
		}
		s := cals.Schedule(nil, h.Team)
		if s != c.segs[len(c.segs)-1].sched {
			c.segs = append(c.segs, clockSeg{from: h.At, sched: s})
		}
	}
	return c
}

// add is Schedule.Add across the segments.
func (c *clock) add(start time.Time, d time.Duration) time.Time {
	remaining := d
	from := start
	for i, seg := range c.segs {
		var next time.Time
		if i+1 < len(c.segs) {
			next = c.segs[i+1].from
		}
		if !next.IsZero() && !next.After(from) {
			continue // this segment ended before we get there
		}
		if seg.from.After(from) {
			from = seg.from
		}
		due, err := seg.sched.Add(from, remaining)
		if err != nil {
			return time.Time{}
		}
		if next.IsZero() || !due.After(next) {
			return due
		}
		remaining -= seg.sched.Elapsed(from, next)
		from = next
		if remaining <= 0 {
			return next
		}
	}
	return from
}

// elapsed is Schedule.Elapsed across the segments.
func (c *clock) elapsed(a, b time.Time) time.Duration {
	var total time.Duration
	for i, seg := range c.segs {
		from, to := a, b
		if !seg.from.IsZero() && seg.from.After(from) {
			from = seg.from
		}
		if i+1 < len(c.segs) && c.segs[i+1].from.Before(to) {
			to = c.segs[i+1].from
		}
		if to.After(from) {
			total += seg.sched.Elapsed(from, to)
		}
	}
	return total
}

func sortedTimes(ts []time.Time) []time.Time {
	if slices.IsSortedFunc(ts, time.Time.Compare) {
		return ts
	}
	out := append([]time.Time(nil), ts...)
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// mergeWindows sorts pauses and merges overlapping ones, so overlapping
// snoozes are not counted twice.
func mergeWindows(ws []Window) []Window {
	if len(ws) == 0 {
		return nil
	}
	in := append([]Window(nil), ws...)
	sort.Slice(in, func(i, j int) bool { return in[i].From.Before(in[j].From) })
	var out []Window
	for _, w := range in {
		if !w.Until.After(w.From) {
			continue
		}
		if n := len(out); n > 0 && !w.From.After(out[n-1].Until) {
			if w.Until.After(out[n-1].Until) {
				out[n-1].Until = w.Until
			}
			continue
		}
		out = append(out, w)
	}
	return out
}
