package metric

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/validator"
)

// The query keys a period travels under, in links and in the API.
const (
	KeyPeriod = "period" // a preset: this_month, last_quarter, 2026-10, 2026-Q4 …
	KeyFrom   = "from"   // YYYY-MM-DD, the first day
	KeyTo     = "to"     // YYYY-MM-DD, the day after the last (exclusive)
)

// PeriodKeys are the query keys [ParsePeriod] reads, for [UnknownKeys].
var PeriodKeys = []string{KeyPeriod, KeyFrom, KeyTo}

// The presets of the period picker. Weeks start on Monday; quarters in
// January, April, July and October (the same bounds as sla.PeriodBounds, so
// a scorecard month and a dashboard month are the same month).
const (
	PresetThisWeek    = "this_week"
	PresetLastWeek    = "last_week"
	PresetThisMonth   = "this_month"
	PresetLastMonth   = "last_month"
	PresetThisQuarter = "this_quarter"
	PresetLastQuarter = "last_quarter"
)

// Presets lists the presets in picker order.
var Presets = []string{PresetThisWeek, PresetLastWeek, PresetThisMonth, PresetLastMonth, PresetThisQuarter, PresetLastQuarter}

// MaxDays is the longest period a figure may be asked for: a leap year. The
// cap keeps one request's work bounded; longer views are several requests.
const MaxDays = 366

// The years dates must fall in. Outside them a date is almost surely a typo
// (0206 for 2026), and the limit keeps date arithmetic far from overflow.
const (
	minYear = 2000
	maxYear = 2100
)

const dateLayout = "2006-01-02"

// Period is the half-open interval [From, To) that a figure is measured
// over. Both ends are local midnights in the tenant's time zone (their
// Location), so a period spanning a DST change is 23 or 25 hours longer or
// shorter in real time than its days × 24 h.
type Period struct {
	From, To time.Time
	// Preset is the preset the period was chosen by ("" for dates), so the
	// picker can show it selected. It takes no part in the figures.
	Preset string
}

// NewPeriod returns the period of the local dates [from, to) in loc; only
// the dates of from and to (read in loc) count.
func NewPeriod(from, to time.Time, loc *time.Location) Period {
	return Period{From: midnight(from.In(loc)), To: midnight(to.In(loc))}
}

// ParsePeriod reads the period a request asks for: a preset (see [Presets];
// also a month "2026-10" or a quarter "2026-Q4", the form the scorecard
// uses), or from/to dates (YYYY-MM-DD in loc, to exclusive). Nothing at all
// means this month, the dashboard's opening view (DESIGN.md §9). Presets are
// relative to now. Messages are keyed by the query key at fault. loc is the
// tenant's zone and must not be nil.
func ParsePeriod(preset, from, to string, loc *time.Location, now time.Time) (Period, validator.Errors) {
	preset, from, to = strings.TrimSpace(preset), strings.TrimSpace(from), strings.TrimSpace(to)
	var errs validator.Errors
	if preset != "" && (from != "" || to != "") {
		// Silently preferring one would show figures for a period the user
		// did not ask for.
		errs.Add(KeyPeriod, "give either a period or from and to dates, not both")
		return Period{}, errs
	}
	if preset != "" || (from == "" && to == "") {
		if preset == "" {
			preset = PresetThisMonth
		}
		p, ok := presetPeriod(preset, loc, now)
		if !ok {
			errs.Add(KeyPeriod, "must be one of "+strings.Join(Presets, ", ")+", a month like 2026-10 or a quarter like 2026-Q4")
			return Period{}, errs
		}
		return p, nil
	}
	f, fok := parseDate(from, KeyFrom, loc, &errs)
	t, tok := parseDate(to, KeyTo, loc, &errs)
	if !fok || !tok {
		return Period{}, errs
	}
	p := Period{From: f, To: t}
	switch n := p.Days(); {
	case n == 0:
		errs.Add(KeyTo, "the period is empty: to is the day after the last day, so one day from "+from+" ends "+dateOf(f.AddDate(0, 0, 1)))
	case n < 0:
		errs.Add(KeyTo, "must be after from")
	case n > MaxDays:
		errs.Add(KeyTo, fmt.Sprintf("a period may span at most %d days; this one spans %d", MaxDays, n))
	}
	if errs != nil {
		return Period{}, errs
	}
	return p, nil
}

// parseDate reads one YYYY-MM-DD date as its local midnight in loc, adding
// a message for key when it cannot.
func parseDate(s, key string, loc *time.Location, errs *validator.Errors) (time.Time, bool) {
	if s == "" {
		other := KeyTo
		if key == KeyTo {
			other = KeyFrom
		}
		errs.Add(key, "give both from and to (or neither, for this month); "+other+" alone is not a period")
		return time.Time{}, false
	}
	// Parsed in UTC for the calendar date only: the local midnight comes
	// from time.Date, which resolves DST the same way everywhere here.
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		errs.Add(key, "use a date like 2026-10-01")
		return time.Time{}, false
	}
	if d.Year() < minYear || d.Year() > maxYear {
		errs.Add(key, fmt.Sprintf("must be a date between %d and %d", minYear, maxYear))
		return time.Time{}, false
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc), true
}

// presetPeriod resolves a preset against now in loc.
func presetPeriod(preset string, loc *time.Location, now time.Time) (Period, bool) {
	l := now.In(loc)
	y, m, d := l.Date()
	// Noon of a local date: a safe instant to hand to PeriodBounds for "the
	// period containing this date", far from any DST change.
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, loc) }
	bounds := func(kind sla.Period, t time.Time) Period {
		from, to := sla.PeriodBounds(kind, t, loc)
		return Period{From: from, To: to, Preset: preset}
	}
	switch preset {
	case PresetThisWeek:
		return bounds(sla.PeriodWeek, l), true
	case PresetLastWeek:
		return bounds(sla.PeriodWeek, day(y, m, d-7)), true
	case PresetThisMonth:
		return bounds(sla.PeriodMonth, l), true
	case PresetLastMonth:
		return bounds(sla.PeriodMonth, day(y, m-1, 1)), true
	case PresetThisQuarter:
		return bounds(sla.PeriodQuarter, l), true
	case PresetLastQuarter:
		return bounds(sla.PeriodQuarter, day(y, m-3, 1)), true
	}
	// A named month or quarter: "2026-10", "2026-Q4".
	ys, rest, ok := strings.Cut(preset, "-")
	year, err := strconv.Atoi(ys)
	if !ok || err != nil || len(ys) != 4 || year < minYear || year > maxYear {
		return Period{}, false
	}
	if q, isQ := strings.CutPrefix(rest, "Q"); isQ && len(q) == 1 && q >= "1" && q <= "4" {
		return bounds(sla.PeriodQuarter, day(year, time.Month(3*int(q[0]-'0')-2), 1)), true
	}
	if mon, err := strconv.Atoi(rest); err == nil && len(rest) == 2 && mon >= 1 && mon <= 12 {
		return bounds(sla.PeriodMonth, day(year, time.Month(mon), 1)), true
	}
	return Period{}, false
}

// Days is the number of calendar days in the period, counted on local
// dates: a DST day is one day whether it lasts 23 or 25 hours.
func (p Period) Days() int { return dayNumber(p.To) - dayNumber(p.From) }

// Previous is the period of the same number of days ending where p starts
// (DESIGN.md §5). It is not "the previous month": before October (31 days)
// it is 31 Aug – 30 Sep, so that the two periods compare like with like.
func (p Period) Previous() Period {
	y, m, d := p.From.Date()
	return Period{From: time.Date(y, m, d-p.Days(), 0, 0, 0, 0, p.From.Location()), To: p.From}
}

// Contains reports whether t falls in [From, To).
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

// Dates returns from and to as the API writes them: YYYY-MM-DD in the
// tenant's zone, to exclusive.
func (p Period) Dates() (from, to string) { return dateOf(p.From), dateOf(p.To) }

// Query is the period as query values, to rebuild it in a link. It always
// carries the dates, never the preset: a link opened next month must show
// the figures it was made for.
func (p Period) Query() url.Values {
	from, to := p.Dates()
	return url.Values{KeyFrom: {from}, KeyTo: {to}}
}

// Key is the period's short name as a preset: "2026-10" for a calendar
// month, "2026-Q4" for a quarter (what the scorecard's "period" holds, and
// [ParsePeriod] reads back); otherwise the dates, "2026-10-01/2026-10-15"
// (ISO 8601 interval notation, to exclusive).
func (p Period) Key() string {
	switch kind, _ := p.shape(); kind {
	case sla.PeriodMonth:
		return p.From.Format("2006-01")
	case sla.PeriodQuarter:
		return fmt.Sprintf("%d-Q%d", p.From.Year(), (int(p.From.Month())-1)/3+1)
	}
	from, to := p.Dates()
	return from + "/" + to
}

// Label names the period for people by its shape, whatever it was chosen
// by: "October 2026", "Q4 2026", "week of 2 Nov 2026", or the dates with the
// last day included, "1 Oct – 14 Oct 2026".
func (p Period) Label() string {
	if kind, ok := p.shape(); ok {
		return sla.PeriodLabel(kind, p.From)
	}
	last := p.To.AddDate(0, 0, -1)
	switch {
	case p.Days() <= 1:
		return p.From.Format("2 Jan 2006")
	case last.Year() == p.From.Year():
		return p.From.Format("2 Jan") + " – " + last.Format("2 Jan 2006")
	}
	return p.From.Format("2 Jan 2006") + " – " + last.Format("2 Jan 2006")
}

// shape reports whether p is exactly one calendar week, month or quarter.
func (p Period) shape() (sla.Period, bool) {
	for _, kind := range []sla.Period{sla.PeriodMonth, sla.PeriodQuarter, sla.PeriodWeek} {
		from, to := sla.PeriodBounds(kind, p.From, p.From.Location())
		if from.Equal(p.From) && to.Equal(p.To) {
			return kind, true
		}
	}
	return "", false
}

// midnight is the local midnight starting t's date in t's location.
func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// dayNumber counts days since the epoch for t's local date, ignoring its
// clock and offset, so that differences count calendar days.
func dayNumber(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dateOf(t time.Time) string { return t.Format(dateLayout) }
