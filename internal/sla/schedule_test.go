package sla_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/sla"
)

// hours builds a week with the same intervals on the given weekdays.
func hours(days []time.Weekday, ivs ...[2]string) sla.Week {
	var w sla.Week
	for _, d := range days {
		for _, iv := range ivs {
			a, err := sla.ParseClock(iv[0])
			if err != nil {
				panic(err)
			}
			b, err := sla.ParseClock(iv[1])
			if err != nil {
				panic(err)
			}
			w[d] = append(w[d], sla.Interval{Start: a, End: b})
		}
	}
	return w
}

var (
	weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	everyDay = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
)

func sched(zone string, w sla.Week, holidays ...string) *sla.Schedule {
	c := sla.Calendar{Name: "test", TimeZone: zone, Hours: w}
	for _, h := range holidays {
		c.Holidays = append(c.Holidays, sla.Holiday{Date: h, Name: "holiday"})
	}
	return sla.MustSchedule(c)
}

// at reads a local wall-clock time in zone; for a repeated time it is the
// first occurrence (as Go gives for times before the change).
func at(zone, s string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		panic(err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

const berlin = "Europe/Berlin"

func TestSchedule_Add(t *testing.T) {
	t.Parallel()
	office := sched(berlin, hours(weekdays, [2]string{"09:00", "17:00"}))
	lunch := sched(berlin, hours(weekdays, [2]string{"09:00", "12:00"}, [2]string{"13:00", "17:30"}))
	xmas := sched(berlin, hours(weekdays, [2]string{"09:00", "17:00"}), "2026-12-24", "2026-12-25")
	allDay := sched(berlin, hours(everyDay, [2]string{"00:00", "24:00"}))
	nightOnDST := sched(berlin, hours([]time.Weekday{time.Sunday}, [2]string{"01:00", "04:00"}))
	gapStart := sched(berlin, hours([]time.Weekday{time.Sunday}, [2]string{"02:30", "05:00"}))
	repeatStart := sched(berlin, hours([]time.Weekday{time.Sunday}, [2]string{"02:30", "04:00"}))
	ny := sched("America/New_York", hours(everyDay, [2]string{"00:00", "24:00"}))
	nyNight := sched("America/New_York", hours([]time.Weekday{time.Sunday}, [2]string{"00:30", "03:30"}))
	kolkata := sched("Asia/Kolkata", hours(weekdays, [2]string{"09:00", "17:00"}))
	adelaide := sched("Australia/Adelaide", hours(weekdays, [2]string{"09:00", "17:00"}))
	kathmandu := sched("Asia/Kathmandu", hours(weekdays, [2]string{"10:00", "18:00"}))
	always := sla.MustSchedule(sla.Calendar{Name: "24/7", TimeZone: berlin, AlwaysOpen: true, Holidays: []sla.Holiday{{Date: "2026-11-03", Name: "x"}}})

	tests := []struct {
		name  string
		s     *sla.Schedule
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{"inside hours", office, at(berlin, "2026-11-02 10:00"), 4 * time.Hour, at(berlin, "2026-11-02 14:00")},
		{"start exactly at opening counts from it", office, at(berlin, "2026-11-02 09:00"), time.Hour, at(berlin, "2026-11-02 10:00")},
		{"start before opening", office, at(berlin, "2026-11-02 07:00"), time.Hour, at(berlin, "2026-11-02 10:00")},
		{"start exactly at closing begins next opening", office, at(berlin, "2026-11-02 17:00"), time.Hour, at(berlin, "2026-11-03 10:00")},
		{"start after closing", office, at(berlin, "2026-11-02 20:30"), 30 * time.Minute, at(berlin, "2026-11-03 09:30")},
		{"used up exactly at closing is due at closing", office, at(berlin, "2026-11-02 13:00"), 4 * time.Hour, at(berlin, "2026-11-02 17:00")},
		{"Friday evening to Monday", office, at(berlin, "2026-11-06 16:00"), 4 * time.Hour, at(berlin, "2026-11-09 12:00")},
		{"weekend start", office, at(berlin, "2026-11-07 10:00"), time.Hour, at(berlin, "2026-11-09 10:00")},
		{"lunch break", lunch, at(berlin, "2026-11-02 11:00"), 2 * time.Hour, at(berlin, "2026-11-02 14:00")},
		{"start in lunch", lunch, at(berlin, "2026-11-02 12:15"), 30 * time.Minute, at(berlin, "2026-11-02 13:30")},
		{"lunch break to next day", lunch, at(berlin, "2026-11-02 16:00"), 3 * time.Hour, at(berlin, "2026-11-03 10:30")},
		{"holidays skipped", xmas, at(berlin, "2026-12-23 15:00"), 4 * time.Hour, at(berlin, "2026-12-28 11:00")},
		{"start on a holiday", xmas, at(berlin, "2026-12-24 10:00"), time.Hour, at(berlin, "2026-12-28 10:00")},
		{"multi-day target ends at a closing", office, at(berlin, "2026-11-02 09:00"), 24 * time.Hour, at(berlin, "2026-11-04 17:00")},
		{"two business weeks", office, at(berlin, "2026-11-02 09:00"), 80 * time.Hour, at(berlin, "2026-11-13 17:00")},
		// Europe spring forward: Sun 29 Mar 2026, 02:00 CET → 03:00 CEST.
		{"EU spring day has 23 hours", allDay, at(berlin, "2026-03-29 00:00"), 24 * time.Hour, at(berlin, "2026-03-30 01:00")},
		{"EU spring interval lasts real time", nightOnDST, at(berlin, "2026-03-29 00:00"), 2 * time.Hour, utc("2026-03-29 02:00")},
		{"EU spring: opening in the gap is the instant after it", gapStart, at(berlin, "2026-03-29 00:00"), time.Hour, utc("2026-03-29 02:00")},
		// Europe fall back: Sun 25 Oct 2026, 03:00 CEST → 02:00 CET.
		{"EU autumn day has 25 hours", allDay, at(berlin, "2026-10-25 00:00"), 25 * time.Hour, at(berlin, "2026-10-26 00:00")},
		{"EU autumn interval lasts real time", nightOnDST, at(berlin, "2026-10-25 00:00"), 4 * time.Hour, utc("2026-10-25 03:00")},
		{"EU autumn: repeated opening is its first occurrence", repeatStart, at(berlin, "2026-10-25 00:00"), 150 * time.Minute, utc("2026-10-25 03:00")},
		// US: spring forward Sun 8 Mar 2026, fall back Sun 1 Nov 2026.
		{"US spring day has 23 hours", ny, at("America/New_York", "2026-03-08 00:00"), 23 * time.Hour, at("America/New_York", "2026-03-09 00:00")},
		{"US spring interval over the gap", nyNight, at("America/New_York", "2026-03-08 00:00"), 2 * time.Hour, utc("2026-03-08 07:30")},
		{"US autumn day has 25 hours", ny, at("America/New_York", "2026-11-01 00:00"), 25 * time.Hour, at("America/New_York", "2026-11-02 00:00")},
		{"US autumn interval over the repeat", nyNight, at("America/New_York", "2026-11-01 00:00"), 4 * time.Hour, utc("2026-11-01 08:30")},
		{"half-hour offset India", kolkata, at("Asia/Kolkata", "2026-11-02 08:00"), 4 * time.Hour, utc("2026-11-02 07:30")},
		{"half-hour offset with DST Adelaide", adelaide, at("Australia/Adelaide", "2026-11-02 16:00"), 2 * time.Hour, at("Australia/Adelaide", "2026-11-03 10:00")},
		{"quarter-hour offset Kathmandu", kathmandu, at("Asia/Kathmandu", "2026-11-02 17:00"), 2 * time.Hour, utc("2026-11-03 05:15")},
		{"always open ignores hours and holidays", always, at(berlin, "2026-11-02 23:00"), 48 * time.Hour, at(berlin, "2026-11-04 23:00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.s.Add(tc.start, tc.d)
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got), "want %s, got %s", tc.want.UTC(), got.UTC())
			require.Equal(t, tc.d, tc.s.Elapsed(tc.start, got), "elapsed(start, add(start, d)) == d")
			require.True(t, tc.s.Working(got), "a deadline never falls outside working time")
		})
	}
}

func TestSchedule_Elapsed(t *testing.T) {
	t.Parallel()
	office := sched(berlin, hours(weekdays, [2]string{"09:00", "17:00"}), "2026-11-04")
	tests := []struct {
		name string
		a, b time.Time
		want time.Duration
	}{
		{"within a day", at(berlin, "2026-11-02 10:00"), at(berlin, "2026-11-02 12:30"), 150 * time.Minute},
		{"over the night", at(berlin, "2026-11-02 16:00"), at(berlin, "2026-11-03 10:00"), 2 * time.Hour},
		{"over a holiday", at(berlin, "2026-11-03 16:00"), at(berlin, "2026-11-05 10:00"), 2 * time.Hour},
		{"over a weekend", at(berlin, "2026-11-06 16:00"), at(berlin, "2026-11-09 10:00"), 2 * time.Hour},
		{"outside hours only", at(berlin, "2026-11-02 18:00"), at(berlin, "2026-11-03 08:00"), 0},
		{"reversed", at(berlin, "2026-11-03 10:00"), at(berlin, "2026-11-02 10:00"), 0},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, office.Elapsed(tc.a, tc.b), tc.name)
	}
}

func TestSchedule_NextOpening(t *testing.T) {
	t.Parallel()
	office := sched(berlin, hours(weekdays, [2]string{"09:00", "12:00"}, [2]string{"13:00", "17:00"}))
	for _, tc := range []struct{ t, want time.Time }{
		{at(berlin, "2026-11-02 10:00"), at(berlin, "2026-11-02 10:00")},
		{at(berlin, "2026-11-02 12:00"), at(berlin, "2026-11-02 13:00")},
		{at(berlin, "2026-11-02 17:00"), at(berlin, "2026-11-03 09:00")},
		{at(berlin, "2026-11-07 09:00"), at(berlin, "2026-11-09 09:00")},
	} {
		got, err := office.NextOpening(tc.t)
		require.NoError(t, err)
		require.True(t, tc.want.Equal(got), "next opening after %s: want %s, got %s", tc.t, tc.want, got)
	}
	require.True(t, office.Open(at(berlin, "2026-11-02 09:00")))
	require.False(t, office.Open(at(berlin, "2026-11-02 12:00")), "a closing instant is not open")
	require.True(t, office.Working(at(berlin, "2026-11-02 12:00")), "but a deadline may fall on it")
}

func TestSchedule_NeverOpen(t *testing.T) {
	t.Parallel()
	_, err := sla.NewSchedule(sla.Calendar{Name: "closed", TimeZone: berlin})
	require.ErrorIs(t, err, sla.ErrNeverOpen)
	_, err = sla.NewSchedule(sla.Calendar{Name: "mars", TimeZone: "Mars/Olympus", Hours: sla.DefaultWeek()})
	require.Error(t, err)
	// Open only on a date that is a holiday every year is not possible; a
	// Saturday-only calendar with every Saturday of a year as holiday is.
	var holidays []string
	for d := at(berlin, "2026-11-07 00:00"); d.Year() < 2028; d = d.AddDate(0, 0, 7) {
		holidays = append(holidays, d.Format(time.DateOnly))
	}
	s := sched(berlin, hours([]time.Weekday{time.Saturday}, [2]string{"09:00", "10:00"}), holidays...)
	_, err = s.Add(at(berlin, "2026-11-02 09:00"), time.Hour)
	require.ErrorIs(t, err, sla.ErrNeverOpen)
	_, err = s.NextOpening(at(berlin, "2026-11-02 09:00"))
	require.ErrorIs(t, err, sla.ErrNeverOpen)
}

var zones = []string{berlin, "America/New_York", "America/Sao_Paulo", "Asia/Kolkata", "Australia/Adelaide",
	"Asia/Kathmandu", "Pacific/Chatham", "Europe/London", "UTC", "America/Santiago", "Asia/Tehran"}

// randomSchedule builds a plausible calendar: some days, one to three
// intervals each, some holidays.
func randomSchedule(r *rand.Rand) *sla.Schedule {
	var w sla.Week
	open := false
	for d := 0; d < 7; d++ {
		if r.IntN(10) < 3 {
			continue
		}
		cursor := r.IntN(12 * 60)
		for n := 1 + r.IntN(3); n > 0 && cursor < 24*60-1; n-- {
			end := cursor + 1 + r.IntN(8*60)
			if end > 24*60 {
				end = 24 * 60
			}
			w[d] = append(w[d], sla.Interval{Start: cursor, End: end})
			open = true
			cursor = end + r.IntN(3*60)
		}
	}
	if !open {
		w[time.Monday] = []sla.Interval{{Start: 9 * 60, End: 17 * 60}}
	}
	c := sla.Calendar{Name: "random", TimeZone: zones[r.IntN(len(zones))], Hours: w, AlwaysOpen: r.IntN(20) == 0}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := r.IntN(15); i > 0; i-- {
		c.Holidays = append(c.Holidays, sla.Holiday{Date: base.AddDate(0, 0, r.IntN(730)).Format(time.DateOnly), Name: "h"})
	}
	return sla.MustSchedule(c)
}

// TestSchedule_Properties checks, over many random calendars, starts (DST
// days included) and targets, that elapsed(start, add(start, d)) == d and
// that deadlines never fall outside working time.
func TestSchedule_Properties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 20000; i++ {
		s := randomSchedule(r)
		start := base.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
		if i%10 == 0 {
			// Land right on the European and US DST changes of 2026.
			start = []time.Time{utc("2026-03-29 00:30"), utc("2026-10-25 00:30"), utc("2026-03-08 06:30"), utc("2026-11-01 05:30")}[r.IntN(4)]
		}
		d := time.Duration(1+r.IntN(200*60)) * time.Minute
		due, err := s.Add(start, d)
		require.NoError(t, err)
		require.Equal(t, d, s.Elapsed(start, due), "case %d: start %s, d %s, due %s", i, start, d, due)
		require.True(t, s.Working(due), "case %d: due %s outside working time", i, due)
		require.False(t, due.Before(start))
		next, err := s.NextOpening(start)
		require.NoError(t, err)
		require.True(t, s.Open(next), "case %d: next opening %s is not open", i, next)
		require.Zero(t, s.Elapsed(start, next), "case %d: no working time before the next opening", i)
	}
}

// FuzzSchedule runs the same properties on fuzzed seeds.
func FuzzSchedule(f *testing.F) {
	f.Add(uint64(1), uint64(2), int64(0), 60)
	f.Add(uint64(7), uint64(9), int64(7_776_000), 480)
	f.Fuzz(func(t *testing.T, a, b uint64, offset int64, minutes int) {
		r := rand.New(rand.NewPCG(a, b))
		s := randomSchedule(r)
		if minutes <= 0 || minutes > 60*24*400 {
			return
		}
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(offset%(3*365*24*3600)) * time.Second)
		d := time.Duration(minutes) * time.Minute
		due, err := s.Add(start, d)
		if err != nil {
			t.Fatalf("add: %v", err)
		}
		if got := s.Elapsed(start, due); got != d {
			t.Fatalf("elapsed %s != %s (start %s, due %s)", got, d, start, due)
		}
		if !s.Working(due) {
			t.Fatalf("due %s outside working time", due)
		}
	})
}

// BenchmarkAdd8h is the figure: 8-hour targets on a realistic
// calendar (Mon–Fri with a lunch break and holidays), starts spread over a
// year; the goal is at least 1,000,000 per second per core.
func BenchmarkAdd8h(b *testing.B) {
	s := sched(berlin, hours(weekdays, [2]string{"09:00", "12:30"}, [2]string{"13:30", "18:00"}),
		"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-01", "2026-05-14", "2026-05-25", "2026-10-03", "2026-12-25", "2026-12-26")
	starts := make([]time.Time, 1024)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range starts {
		starts[i] = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(360 * 24 * time.Hour))))
	}
	i := 0
	for b.Loop() {
		if _, err := s.Add(starts[i&1023], 8*time.Hour); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func TestWeekday(t *testing.T) {
	t.Parallel()
	for d := time.Date(1999, 12, 1, 12, 0, 0, 0, time.UTC); d.Year() < 2102; d = d.AddDate(0, 0, 1) {
		require.Equal(t, d.Weekday(), sla.WeekdayOf(d.Year(), d.Month(), d.Day()), d.Format(time.DateOnly))
	}
}
