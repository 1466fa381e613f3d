// Package sla holds the agreement between marketing and sales: business
// calendars and the deadline math on them, clauses, timers and breaches. It
// is pure: rules are functions of (state, now), with no I/O.
package sla

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// Interval is a working interval of one day in wall-clock minutes from
// midnight: [Start, End), with End up to 24:00 (1440).
type Interval struct {
	Start int
	End   int
}

// Week holds the working intervals of each weekday, indexed by time.Weekday.
// A day without intervals is closed.
type Week [7][]Interval

// Holiday is a whole closed day of a calendar.
type Holiday struct {
	Date string // YYYY-MM-DD in the calendar's zone
	Name string
}

// Calendar is a business calendar: working hours in a time zone, holidays, or
// always open (24/7).
type Calendar struct {
	ID         uuid.UUID
	Name       string
	TimeZone   string
	AlwaysOpen bool
	Hours      Week
	Holidays   []Holiday
	IsDefault  bool
	UpdatedAt  time.Time
}

// DefaultWeek is Monday to Friday, 09:00–17:00: the calendar every tenant
// starts with (DESIGN.md §2).
func DefaultWeek() Week {
	var w Week
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = []Interval{{Start: 9 * 60, End: 17 * 60}}
	}
	return w
}

var dayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// DayKey is the API's name of a weekday ("mon").
func DayKey(d time.Weekday) string { return dayKeys[d] }

// DayOrder lists weekdays Monday first, as calendars are shown.
var DayOrder = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// FormatClock renders minutes from midnight as HH:MM ("24:00" for 1440).
func FormatClock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// ParseClock reads HH:MM (00:00–24:00) as minutes from midnight.
func ParseClock(s string) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return h*60 + m, nil
}

// MarshalJSON writes the API form {"mon": [["09:00","17:00"]], …}; closed
// days are left out.
func (w Week) MarshalJSON() ([]byte, error) {
	out := map[string][][2]string{}
	for d, ivs := range w {
		if len(ivs) == 0 {
			continue
		}
		pairs := make([][2]string, len(ivs))
		for i, iv := range ivs {
			pairs[i] = [2]string{FormatClock(iv.Start), FormatClock(iv.End)}
		}
		out[dayKeys[d]] = pairs
	}
	return json.Marshal(out)
}

// ParseWeek reads the API form of working hours, reporting every problem by
// day ("hours.mon").
func ParseWeek(raw map[string][][]string) (Week, validator.Errors) {
	var w Week
	var errs validator.Errors
	known := map[string]time.Weekday{}
	for i, k := range dayKeys {
		known[k] = time.Weekday(i)
	}
	for _, key := range sortedDayKeys(raw) {
		d, ok := known[key]
		if !ok {
			errs.Add("hours."+key, "unknown day: use mon, tue, wed, thu, fri, sat or sun")
			continue
		}
		for _, pair := range raw[key] {
			if len(pair) != 2 {
				errs.Add("hours."+key, "each interval is a pair [\"HH:MM\", \"HH:MM\"]")
				break
			}
			start, err1 := ParseClock(pair[0])
			end, err2 := ParseClock(pair[1])
			if err1 != nil || err2 != nil {
				errs.Add("hours."+key, "times must be HH:MM between 00:00 and 24:00")
				break
			}
			w[d] = append(w[d], Interval{Start: start, End: end})
		}
	}
	for d := range w {
		if msg := checkDay(w[d]); msg != "" {
			errs.Add("hours."+dayKeys[d], msg)
		}
	}
	return w, errs.OrNil()
}

func sortedDayKeys(m map[string][][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkDay explains what is wrong with one day's intervals, or "".
func checkDay(ivs []Interval) string {
	for i, iv := range ivs {
		if iv.End <= iv.Start {
			return fmt.Sprintf("interval %s–%s ends before it starts", FormatClock(iv.Start), FormatClock(iv.End))
		}
		if i > 0 {
			prev := ivs[i-1]
			if iv.Start < prev.End {
				return fmt.Sprintf("intervals %s–%s and %s–%s overlap or are out of order",
					FormatClock(prev.Start), FormatClock(prev.End), FormatClock(iv.Start), FormatClock(iv.End))
			}
		}
	}
	return ""
}

// CalendarInput is what creating or editing a calendar takes.
type CalendarInput struct {
	Name       string
	TimeZone   string
	AlwaysOpen bool
	Hours      Week
	Holidays   []Holiday
}

// Normalize trims names and sorts holidays by date.
func (in *CalendarInput) Normalize() {
	in.Name = strings.TrimSpace(in.Name)
	in.TimeZone = strings.TrimSpace(in.TimeZone)
	for i := range in.Holidays {
		in.Holidays[i].Name = strings.TrimSpace(in.Holidays[i].Name)
		in.Holidays[i].Date = strings.TrimSpace(in.Holidays[i].Date)
	}
	sort.Slice(in.Holidays, func(i, j int) bool { return in.Holidays[i].Date < in.Holidays[j].Date })
}

// Validate reports each field that is wrong, or nil.
func (in CalendarInput) Validate() validator.Errors {
	var errs validator.Errors
	errs.Check(validator.NotBlank(in.Name), "name", "must not be blank")
	errs.Check(validator.MaxChars(in.Name, 100), "name", "must be at most 100 characters")
	errs.Check(tenant.ValidTimeZone(in.TimeZone), "time_zone", "must be an IANA time zone such as Europe/Berlin")
	open := false
	for d := range in.Hours {
		if msg := checkDay(in.Hours[d]); msg != "" {
			errs.Add("hours."+dayKeys[d], msg)
		}
		open = open || len(in.Hours[d]) > 0
	}
	errs.Check(in.AlwaysOpen || open, "hours", "a calendar that is not always open needs working hours on at least one day")
	seen := map[string]bool{}
	for i, h := range in.Holidays {
		field := fmt.Sprintf("holidays.%d", i)
		if _, err := time.Parse(time.DateOnly, h.Date); err != nil {
			errs.Add(field, "date must be YYYY-MM-DD")
			continue
		}
		errs.Check(!seen[h.Date], field, "this date is listed twice")
		seen[h.Date] = true
		errs.Check(validator.NotBlank(h.Name), field, "needs a name")
		errs.Check(validator.MaxChars(h.Name, 100), field, "name must be at most 100 characters")
	}
	return errs.OrNil()
}

// Describe renders working hours in a line for people: "Mon–Fri 09:00–17:00".
func (w Week) Describe() string {
	type group struct {
		from, to time.Weekday
		hours    string
	}
	var groups []group
	for _, d := range DayOrder {
		if len(w[d]) == 0 {
			continue
		}
		parts := make([]string, len(w[d]))
		for i, iv := range w[d] {
			parts[i] = FormatClock(iv.Start) + "–" + FormatClock(iv.End)
		}
		h := strings.Join(parts, ", ")
		if n := len(groups); n > 0 && groups[n-1].hours == h && nextDay(groups[n-1].to) == d {
			groups[n-1].to = d
			continue
		}
		groups = append(groups, group{from: d, to: d, hours: h})
	}
	if len(groups) == 0 {
		return "closed every day"
	}
	out := make([]string, len(groups))
	for i, g := range groups {
		days := shortDay(g.from)
		if g.to != g.from {
			days += "–" + shortDay(g.to)
		}
		out[i] = days + " " + g.hours
	}
	return strings.Join(out, "; ")
}

func nextDay(d time.Weekday) time.Weekday { return (d + 1) % 7 }

func shortDay(d time.Weekday) string { return d.String()[:3] }
