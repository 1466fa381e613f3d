package sla

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accordhq/accord/internal/tenant"
)

// Schedule is a calendar made ready for deadline math: its zone loaded, its
// holidays in a set. All SLA clocks run on one (DESIGN.md §4.1).
//
// The semantics, precisely:
//   - Working intervals are wall-clock times in the calendar's zone; an
//     interval that contains a DST change lasts the real time between its
//     ends. A wall-clock time inside a DST gap means the first instant after
//     the gap; a repeated wall-clock time means its first occurrence.
//   - Business time is real elapsed time inside working intervals, on days
//     that are not holidays.
//   - A start outside working time, or exactly at a closing time, begins at
//     the next opening; a start exactly at an opening counts from it.
//   - A target used up exactly at a closing time is due at that closing time.
//   - An always-open calendar ignores hours and holidays.
type Schedule struct {
	loc        *time.Location
	week       Week
	holidays   map[int32]bool // yyyymmdd
	alwaysOpen bool

	// days caches built days (int64 key of dayAt → *day, never changed
	// once stored): deadline math visits the same few weeks over and over,
	// and building a day (zone lookups, holiday check) costs more than the
	// rest of an 8-hour Add. Safe for concurrent use; bounded by maxCached.
	days   sync.Map
	cached atomic.Int32
}

// maxCached bounds a schedule's day cache (about 1.5 MB at most); past it
// days are built each time, as without a cache.
const maxCached = 4096

// ErrNeverOpen reports a calendar with no working time within a year of the
// start: nothing can ever be due on it.
var ErrNeverOpen = errors.New("the calendar has no working time within a year")

// maxScanDays bounds every walk over the calendar: a year of closed days
// means the calendar has no working time at all.
const maxScanDays = 370

// NewSchedule prepares c for deadline math.
func NewSchedule(c Calendar) (*Schedule, error) {
	if !tenant.ValidTimeZone(c.TimeZone) {
		return nil, fmt.Errorf("calendar %q: unknown time zone %q", c.Name, c.TimeZone)
	}
	s := &Schedule{loc: tenant.LoadLocation(c.TimeZone), week: c.Hours, alwaysOpen: c.AlwaysOpen, holidays: map[int32]bool{}}
	for _, h := range c.Holidays {
		d, err := time.Parse(time.DateOnly, h.Date)
		if err != nil {
			return nil, fmt.Errorf("calendar %q: holiday %q: %w", c.Name, h.Date, err)
		}
		s.holidays[dayKey(d.Year(), d.Month(), d.Day())] = true
	}
	if !s.alwaysOpen {
		open := false
		for _, ivs := range s.week {
			for _, iv := range ivs {
				open = open || iv.End > iv.Start
			}
		}
		if !open {
			return nil, fmt.Errorf("calendar %q: %w", c.Name, ErrNeverOpen)
		}
	}
	return s, nil
}

// MustSchedule is NewSchedule for calendars known to be valid (tests, defaults).
func MustSchedule(c Calendar) *Schedule {
	s, err := NewSchedule(c)
	if err != nil {
		panic(err)
	}
	return s
}

// Location is the calendar's zone.
func (s *Schedule) Location() *time.Location { return s.loc }

func dayKey(y int, m time.Month, d int) int32 { return int32(y*10000 + int(m)*100 + d) }

// day is one local calendar day with the instants of its working intervals.
type day struct {
	y     int
	m     time.Month
	d     int
	n     int
	fixed [6][2]time.Time // the spans, without allocating, for days of up to 6 intervals
	extra [][2]time.Time  // more than 6
}

func (d *day) spans() [][2]time.Time {
	if d.extra != nil {
		return d.extra
	}
	return d.fixed[:d.n]
}

func (d *day) add(a, b time.Time) {
	if d.extra == nil && d.n < len(d.fixed) {
		d.fixed[d.n] = [2]time.Time{a, b}
		d.n++
		return
	}
	if d.extra == nil {
		d.extra = append(make([][2]time.Time, 0, 2*len(d.fixed)), d.fixed[:d.n]...)
	}
	d.extra = append(d.extra, [2]time.Time{a, b})
}

// dayOf returns the local day containing t.
func (s *Schedule) dayOf(t time.Time) (int, time.Month, int) {
	return t.In(s.loc).Date()
}

// dayAt returns the built local day (y, m, d), d unnormalised as build
// takes it: from the cache, or built (into scratch when the cache is full).
// The result must not be modified.
func (s *Schedule) dayAt(y int, m time.Month, d int, scratch *day) *day {
	if d < -400 || d >= 600 {
		s.build(y, m, d, scratch)
		return scratch
	}
	k := int64(y)*100_000 + int64(m)*1000 + int64(d+400)
	if v, ok := s.days.Load(k); ok {
		return v.(*day)
	}
	if s.cached.Load() >= maxCached {
		s.build(y, m, d, scratch)
		return scratch
	}
	nd := new(day)
	s.build(y, m, d, nd)
	if _, loaded := s.days.LoadOrStore(k, nd); !loaded {
		s.cached.Add(1)
	}
	return nd
}

// build computes the working spans of local day (y, m, d); d may run past
// the month's end and is normalised.
func (s *Schedule) build(y int, m time.Month, d int, out *day) {
	*out = day{}
	if d < 1 || d > 28 {
		// Normalise a day past the month's end; UTC has no gaps to trip on.
		y, m, d = time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Date()
	}
	out.y, out.m, out.d = y, m, d
	if s.holidays[dayKey(y, m, d)] {
		return
	}
	mid := time.Date(y, m, d, 0, 0, 0, 0, s.loc)
	ivs := s.week[weekday(y, m, d)]
	if len(ivs) == 0 {
		return
	}
	// Fast path (all but two days a year): no zone change from two hours
	// before midnight to two hours after the next, so midnight is exact and
	// wall-clock minutes are plain offsets from it.
	zoneStart, zoneEnd := mid.ZoneBounds()
	uniform := (zoneStart.IsZero() || zoneStart.Before(mid.Add(-2*time.Hour))) &&
		(zoneEnd.IsZero() || zoneEnd.After(mid.Add(26*time.Hour)))
	if uniform {
		for _, iv := range ivs {
			if iv.End > iv.Start {
				out.add(mid.Add(time.Duration(iv.Start)*time.Minute), mid.Add(time.Duration(iv.End)*time.Minute))
			}
		}
		return
	}
	for _, iv := range ivs {
		a := s.localInstant(out.y, out.m, out.d, iv.Start)
		b := s.localInstant(out.y, out.m, out.d, iv.End)
		if b.After(a) {
			out.add(a, b)
		}
	}
}

// weekday of a civil date, without the zone (Zeller-like, from the days
// since the epoch of a proleptic Gregorian calendar).
func weekday(y int, m time.Month, d int) time.Weekday {
	// Shift so March is the first month and February's leap day is last.
	yy := y
	mm := int(m)
	if mm < 3 {
		yy--
		mm += 12
	}
	days := 365*yy + yy/4 - yy/100 + yy/400 + (153*(mm-3)+2)/5 + d
	// 1 March 2000 (days computed the same way) was a Wednesday.
	const ref = 365*2000 + 2000/4 - 2000/100 + 2000/400 + 1
	w := (days - ref) % 7
	if w < 0 {
		w += 7
	}
	return time.Weekday((int(time.Wednesday) + w) % 7)
}

// localInstant is the instant of wall-clock minute (0–1440) of local day
// (y, m, d): a time in a DST gap is the first instant after the gap, a
// repeated time its first occurrence.
func (s *Schedule) localInstant(y int, m time.Month, d, minute int) time.Time {
	if minute >= 24*60 {
		d++
		minute -= 24 * 60
	}
	// The wall clock read as if it were UTC; each offset the zone uses near
	// it gives one candidate instant.
	naive := time.Date(y, m, d, minute/60, minute%60, 0, 0, time.UTC)
	wy, wm, wd := naive.Date()
	wh, wmin := naive.Hour(), naive.Minute()
	guess := time.Date(y, m, d, minute/60, minute%60, 0, 0, s.loc)
	var best time.Time
	for _, probe := range []time.Time{guess.Add(-12 * time.Hour), guess, guess.Add(12 * time.Hour)} {
		_, off := probe.Zone()
		cand := naive.Add(-time.Duration(off) * time.Second)
		lt := cand.In(s.loc)
		ly, lm, ld := lt.Date()
		if ly == wy && lm == wm && ld == wd && lt.Hour() == wh && lt.Minute() == wmin {
			if best.IsZero() || cand.Before(best) {
				best = cand
			}
		}
	}
	if !best.IsZero() {
		return best
	}
	// In a gap: read with the offset before the change, the wall clock is
	// already past the jump; the zone that starts there starts at the jump.
	_, off := guess.Add(-12 * time.Hour).Zone()
	after := naive.Add(-time.Duration(off) * time.Second)
	start, _ := after.In(s.loc).ZoneBounds()
	return start
}

// Add returns when a target of d business time that starts at start is
// used up. d must be positive.
func (s *Schedule) Add(start time.Time, d time.Duration) (time.Time, error) {
	if d <= 0 {
		return start, nil
	}
	if s.alwaysOpen {
		return start.Add(d), nil
	}
	remaining := d
	y, m, dd := s.dayOf(start)
	closed := 0
	var scratch day
	for i := 0; ; i++ {
		day := s.dayAt(y, m, dd+i, &scratch)
		spans := day.spans()
		if len(spans) == 0 {
			if closed++; closed > maxScanDays {
				return time.Time{}, ErrNeverOpen
			}
			continue
		}
		closed = 0
		for _, sp := range spans {
			if !sp[1].After(start) {
				continue // over before the start, or closing exactly at it
			}
			from := sp[0]
			if start.After(from) {
				from = start
			}
			avail := sp[1].Sub(from)
			if remaining <= avail {
				return from.Add(remaining), nil
			}
			remaining -= avail
		}
	}
}

// Elapsed returns the business time between a and b (0 when b is not after a).
func (s *Schedule) Elapsed(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if s.alwaysOpen {
		return b.Sub(a)
	}
	var total time.Duration
	y, m, d := s.dayOf(a)
	var scratch day
	for i := 0; ; i++ {
		day := s.dayAt(y, m, d+i, &scratch)
		dayStart := s.localInstant(day.y, day.m, day.d, 0)
		if !dayStart.Before(b) {
			return total
		}
		for _, sp := range day.spans() {
			from, to := sp[0], sp[1]
			if from.Before(a) {
				from = a
			}
			if to.After(b) {
				to = b
			}
			if to.After(from) {
				total += to.Sub(from)
			}
		}
	}
}

// NextOpening returns the first instant at or after t that is working time
// (t itself when it is inside an interval; the next opening when t is a
// closing time).
func (s *Schedule) NextOpening(t time.Time) (time.Time, error) {
	if s.alwaysOpen {
		return t, nil
	}
	y, m, d := s.dayOf(t)
	var scratch day
	for i := 0; i <= maxScanDays; i++ {
		day := s.dayAt(y, m, d+i, &scratch)
		for _, sp := range day.spans() {
			if !sp[1].After(t) {
				continue
			}
			if sp[0].After(t) {
				return sp[0], nil
			}
			return t, nil
		}
	}
	return time.Time{}, ErrNeverOpen
}

// Open reports whether t is working time (a closing instant is not).
func (s *Schedule) Open(t time.Time) bool {
	if s.alwaysOpen {
		return true
	}
	y, m, d := s.dayOf(t)
	var scratch day
	day := s.dayAt(y, m, d, &scratch)
	for _, sp := range day.spans() {
		if !t.Before(sp[0]) && t.Before(sp[1]) {
			return true
		}
	}
	return false
}

// Working reports whether t lies in working time or exactly at a closing
// time: where a deadline may fall.
func (s *Schedule) Working(t time.Time) bool {
	if s.alwaysOpen || s.Open(t) {
		return true
	}
	y, m, d := s.dayOf(t)
	var scratch day
	for _, off := range []int{0, -1} {
		day := s.dayAt(y, m, d+off, &scratch)
		for _, sp := range day.spans() {
			if t.Equal(sp[1]) {
				return true
			}
		}
	}
	return false
}
