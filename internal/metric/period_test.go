package metric_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/metric"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func dates(p metric.Period) [2]string {
	from, to := p.Dates()
	return [2]string{from, to}
}

func TestParsePeriod_Presets(t *testing.T) {
	t.Parallel()
	type want struct {
		from, to string
		days     int
		hours    float64 // real elapsed time: DST days are 23 or 25 h
	}
	for _, tc := range []struct {
		zone, now string // now as a local time in zone
		want      map[string]want
	}{
		{
			// Berlin leaves DST on Sunday 25 Oct 2026; New York on 1 Nov.
			zone: "Europe/Berlin", now: "2026-10-28 12:00",
			want: map[string]want{
				"this_week":    {"2026-10-26", "2026-11-02", 7, 168},
				"last_week":    {"2026-10-19", "2026-10-26", 7, 169},
				"this_month":   {"2026-10-01", "2026-11-01", 31, 745},
				"last_month":   {"2026-09-01", "2026-10-01", 30, 720},
				"this_quarter": {"2026-10-01", "2027-01-01", 92, 2209},
				"last_quarter": {"2026-07-01", "2026-10-01", 92, 2208},
				"":             {"2026-10-01", "2026-11-01", 31, 745}, // nothing = this month
			},
		},
		{
			zone: "America/New_York", now: "2026-10-28 12:00",
			want: map[string]want{
				"this_week":    {"2026-10-26", "2026-11-02", 7, 169},
				"last_week":    {"2026-10-19", "2026-10-26", 7, 168},
				"this_month":   {"2026-10-01", "2026-11-01", 31, 744},
				"last_month":   {"2026-09-01", "2026-10-01", 30, 720},
				"this_quarter": {"2026-10-01", "2027-01-01", 92, 2209},
				"last_quarter": {"2026-07-01", "2026-10-01", 92, 2208},
			},
		},
		{
			// New York enters DST on Sunday 8 Mar 2026; Berlin on 29 Mar.
			zone: "America/New_York", now: "2026-03-10 08:00",
			want: map[string]want{
				"this_week":    {"2026-03-09", "2026-03-16", 7, 168},
				"last_week":    {"2026-03-02", "2026-03-09", 7, 167},
				"this_month":   {"2026-03-01", "2026-04-01", 31, 743},
				"last_month":   {"2026-02-01", "2026-03-01", 28, 672},
				"this_quarter": {"2026-01-01", "2026-04-01", 90, 2159},
				"last_quarter": {"2025-10-01", "2026-01-01", 92, 2209},
			},
		},
		{
			zone: "Europe/Berlin", now: "2026-03-10 08:00",
			want: map[string]want{
				"this_week":    {"2026-03-09", "2026-03-16", 7, 168},
				"last_week":    {"2026-03-02", "2026-03-09", 7, 168},
				"this_month":   {"2026-03-01", "2026-04-01", 31, 743},
				"last_month":   {"2026-02-01", "2026-03-01", 28, 672},
				"this_quarter": {"2026-01-01", "2026-04-01", 90, 2159},
				"last_quarter": {"2025-10-01", "2026-01-01", 92, 2209},
			},
		},
		{
			// A Monday is in its own week; 1 January's last_* reach into
			// the year before.
			zone: "Europe/Berlin", now: "2029-01-01 00:00",
			want: map[string]want{
				"this_week":    {"2029-01-01", "2029-01-08", 7, 168},
				"last_week":    {"2028-12-25", "2029-01-01", 7, 168},
				"last_month":   {"2028-12-01", "2029-01-01", 31, 744},
				"last_quarter": {"2028-10-01", "2029-01-01", 92, 2209},
			},
		},
		{
			// A Sunday belongs to the week that began six days before.
			zone: "America/New_York", now: "2026-11-01 23:59",
			want: map[string]want{
				"this_week":  {"2026-10-26", "2026-11-02", 7, 169},
				"this_month": {"2026-11-01", "2026-12-01", 30, 721},
			},
		},
	} {
		loc := zone(t, tc.zone)
		now, err := time.ParseInLocation("2006-01-02 15:04", tc.now, loc)
		require.NoError(t, err)
		for preset, w := range tc.want {
			name := tc.zone + " " + tc.now + " " + preset
			p, errs := metric.ParsePeriod(preset, "", "", loc, now)
			require.Nil(t, errs, name)
			require.Equal(t, [2]string{w.from, w.to}, dates(p), name)
			require.Equal(t, w.days, p.Days(), name)
			require.Equal(t, w.hours, p.To.Sub(p.From).Hours(), name)
			require.Equal(t, loc, p.From.Location(), name)
			require.Equal(t, 0, p.From.Hour(), name+": bounds are local midnights")
			require.Equal(t, 0, p.To.Hour(), name+": bounds are local midnights")
		}
	}
}

func TestParsePeriod_NowIsReadInTheTenantZone(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 10, 31, 23, 30, 0, 0, time.UTC) // 00:30 on 1 Nov in Berlin, 19:30 on 31 Oct in New York
	p, errs := metric.ParsePeriod("this_month", "", "", zone(t, "Europe/Berlin"), now)
	require.Nil(t, errs)
	require.Equal(t, [2]string{"2026-11-01", "2026-12-01"}, dates(p))
	p, errs = metric.ParsePeriod("this_month", "", "", zone(t, "America/New_York"), now)
	require.Nil(t, errs)
	require.Equal(t, [2]string{"2026-10-01", "2026-11-01"}, dates(p))
}

func TestParsePeriod_Named(t *testing.T) {
	t.Parallel()
	loc := zone(t, "Europe/Berlin")
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, loc)
	for preset, want := range map[string][2]string{
		"2026-10": {"2026-10-01", "2026-11-01"},
		"2026-12": {"2026-12-01", "2027-01-01"},
		"2026-Q1": {"2026-01-01", "2026-04-01"},
		"2026-Q4": {"2026-10-01", "2027-01-01"},
	} {
		p, errs := metric.ParsePeriod(preset, "", "", loc, now)
		require.Nil(t, errs, preset)
		require.Equal(t, want, dates(p), preset)
		require.Equal(t, preset, p.Key(), "Key reads back as the same preset")
		require.Equal(t, preset, p.Preset)
	}
	for _, bad := range []string{"2026-13", "2026-00", "2026-1", "2026-Q0", "2026-Q5", "2026-q4", "1999-10", "2101-01", "26-10", "next_month", "THIS_MONTH"} {
		_, errs := metric.ParsePeriod(bad, "", "", loc, now)
		require.Contains(t, errs["period"], "must be one of this_week, last_week, this_month, last_month, this_quarter, last_quarter", bad)
	}
}

func TestParsePeriod_Dates(t *testing.T) {
	t.Parallel()
	loc := zone(t, "Europe/Berlin")
	now := time.Date(2026, 10, 28, 12, 0, 0, 0, loc)
	for _, tc := range []struct {
		name, from, to string
		days           int
	}{
		{"a month", "2026-10-01", "2026-11-01", 31},
		{"one day", "2026-10-25", "2026-10-26", 1}, // the 25-hour day
		{"the spring DST day", "2026-03-29", "2026-03-30", 1},
		{"366 days is the limit", "2026-01-01", "2027-01-02", 366},
		{"a leap year", "2028-01-01", "2029-01-01", 366},
		{"trimmed", " 2026-10-01 ", "2026-10-15", 14},
		{"the first and last years", "2000-01-01", "2000-12-31", 365},
		{"2100", "2100-01-01", "2100-12-31", 364},
	} {
		p, errs := metric.ParsePeriod("", tc.from, tc.to, loc, now)
		require.Nil(t, errs, tc.name)
		require.Equal(t, tc.days, p.Days(), tc.name)
		require.Equal(t, "", p.Preset, tc.name)
		require.Equal(t, 0, p.From.Hour(), tc.name)
		require.Equal(t, loc, p.To.Location(), tc.name)
	}
}

func TestParsePeriod_Invalid(t *testing.T) {
	t.Parallel()
	loc := zone(t, "America/New_York")
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, loc)
	const dateMsg = "use a date like 2026-10-01"
	for _, tc := range []struct {
		name, preset, from, to string
		field, msg             string
	}{
		{"month 13", "", "2026-13-01", "2026-12-01", "from", dateMsg},
		{"30 February", "", "2026-02-01", "2026-02-30", "to", dateMsg},
		{"German order", "", "01.10.2026", "2026-11-01", "from", dateMsg},
		{"no leading zeros", "", "2026-1-1", "2026-11-01", "from", dateMsg},
		{"a time", "", "2026-10-01T00:00:00Z", "2026-11-01", "from", dateMsg},
		{"a word", "", "2026-10-01", "tomorrow", "to", dateMsg},
		{"reversed", "", "2026-11-01", "2026-10-01", "to", "must be after from"},
		{"empty", "", "2026-10-01", "2026-10-01", "to", "the period is empty: to is the day after the last day, so one day from 2026-10-01 ends 2026-10-02"},
		{"367 days", "", "2026-01-01", "2027-01-03", "to", "a period may span at most 366 days; this one spans 367"},
		{"from alone", "", "2026-10-01", "", "to", "give both from and to"},
		{"to alone", "", "", "2026-10-01", "from", "give both from and to"},
		{"before 2000", "", "1999-12-31", "2000-02-01", "from", "must be a date between 2000 and 2100"},
		{"after 2100", "", "2100-12-01", "2101-01-01", "to", "must be a date between 2000 and 2100"},
		{"a typo year", "", "0206-10-01", "2026-11-01", "from", "must be a date between 2000 and 2100"},
		{"preset and dates", "this_month", "2026-10-01", "2026-11-01", "period", "give either a period or from and to dates, not both"},
		{"unknown preset", "next_month", "", "", "period", "must be one of this_week, last_week, this_month, last_month, this_quarter, last_quarter, a month like 2026-10 or a quarter like 2026-Q4"},
	} {
		p, errs := metric.ParsePeriod(tc.preset, tc.from, tc.to, loc, now)
		require.NotNil(t, errs, tc.name)
		require.Contains(t, errs[tc.field], tc.msg, tc.name)
		require.Equal(t, metric.Period{}, p, tc.name)
	}
	// Both dates bad: both are reported.
	_, errs := metric.ParsePeriod("", "x", "y", loc, now)
	require.Equal(t, []string{"from", "to"}, errs.Fields())
}

func TestPeriod_Previous(t *testing.T) {
	t.Parallel()
	berlin := zone(t, "Europe/Berlin")
	ny := zone(t, "America/New_York")
	for _, tc := range []struct {
		name     string
		loc      *time.Location
		from, to string
		want     [2]string
	}{
		// Same number of days, not "the month before" (DESIGN.md §5).
		{"October", berlin, "2026-10-01", "2026-11-01", [2]string{"2026-08-31", "2026-10-01"}},
		{"March", ny, "2026-03-01", "2026-04-01", [2]string{"2026-01-29", "2026-03-01"}},
		{"a week", ny, "2026-11-02", "2026-11-09", [2]string{"2026-10-26", "2026-11-02"}},
		{"a week over the fall-back", berlin, "2026-11-02", "2026-11-09", [2]string{"2026-10-26", "2026-11-02"}},
		{"a week before the spring-forward week", berlin, "2026-04-05", "2026-04-12", [2]string{"2026-03-29", "2026-04-05"}},
		{"Q4 is Q3 (both 92 days)", berlin, "2026-10-01", "2027-01-01", [2]string{"2026-07-01", "2026-10-01"}},
		{"Q1 (90 days)", ny, "2026-01-01", "2026-04-01", [2]string{"2025-10-03", "2026-01-01"}},
		{"one day after a DST day", berlin, "2026-10-26", "2026-10-27", [2]string{"2026-10-25", "2026-10-26"}},
		{"over a leap day", ny, "2028-03-01", "2028-03-08", [2]string{"2028-02-23", "2028-03-01"}},
	} {
		p, errs := metric.ParsePeriod("", tc.from, tc.to, tc.loc, time.Now())
		require.Nil(t, errs, tc.name)
		prev := p.Previous()
		require.Equal(t, tc.want, dates(prev), tc.name)
		require.Equal(t, p.Days(), prev.Days(), tc.name)
		require.True(t, prev.To.Equal(p.From), tc.name)
		require.Equal(t, 0, prev.From.Hour(), tc.name+": a local midnight")
		require.Equal(t, tc.loc, prev.From.Location(), tc.name)
	}
}

func TestPeriod_LabelKeyQuery(t *testing.T) {
	t.Parallel()
	loc := zone(t, "Europe/Berlin")
	for _, tc := range []struct {
		from, to, label, key string
	}{
		{"2026-10-01", "2026-11-01", "October 2026", "2026-10"},
		{"2026-10-01", "2027-01-01", "Q4 2026", "2026-Q4"},
		{"2026-11-02", "2026-11-09", "week of 2 Nov 2026", "2026-11-02/2026-11-09"},
		{"2026-10-01", "2026-10-15", "1 Oct – 14 Oct 2026", "2026-10-01/2026-10-15"},
		{"2026-12-28", "2027-01-04", "week of 28 Dec 2026", "2026-12-28/2027-01-04"},
		{"2026-12-29", "2027-01-04", "29 Dec 2026 – 3 Jan 2027", "2026-12-29/2027-01-04"},
		{"2026-10-25", "2026-10-26", "25 Oct 2026", "2026-10-25/2026-10-26"},
		{"2026-11-03", "2026-11-10", "3 Nov – 9 Nov 2026", "2026-11-03/2026-11-10"}, // 7 days, not from a Monday
		{"2026-10-01", "2026-12-01", "1 Oct – 30 Nov 2026", "2026-10-01/2026-12-01"},
	} {
		p, errs := metric.ParsePeriod("", tc.from, tc.to, loc, time.Now())
		require.Nil(t, errs)
		require.Equal(t, tc.label, p.Label())
		require.Equal(t, tc.key, p.Key())
		q := p.Query()
		require.Equal(t, tc.from, q.Get("from"))
		require.Equal(t, tc.to, q.Get("to"))
		again, errs := metric.ParsePeriod(q.Get("period"), q.Get("from"), q.Get("to"), loc, time.Now())
		require.Nil(t, errs)
		require.Equal(t, p, again, "Query rebuilds the period")
	}
	// A preset's link carries its dates, so it shows the same figures later.
	p, errs := metric.ParsePeriod("last_month", "", "", loc, time.Date(2026, 10, 28, 12, 0, 0, 0, loc))
	require.Nil(t, errs)
	require.Equal(t, "September 2026", p.Label())
	require.Equal(t, "from=2026-09-01&to=2026-10-01", p.Query().Encode())
}

func TestPeriod_Contains(t *testing.T) {
	t.Parallel()
	loc := zone(t, "Europe/Berlin")
	p := metric.NewPeriod(time.Date(2026, 10, 1, 15, 0, 0, 0, loc), time.Date(2026, 11, 1, 9, 0, 0, 0, loc), loc)
	require.Equal(t, [2]string{"2026-10-01", "2026-11-01"}, dates(p), "NewPeriod keeps only the dates")
	require.True(t, p.Contains(p.From))
	require.True(t, p.Contains(p.To.Add(-time.Nanosecond)))
	require.False(t, p.Contains(p.To), "to is exclusive")
	require.False(t, p.Contains(p.From.Add(-time.Nanosecond)))
}
