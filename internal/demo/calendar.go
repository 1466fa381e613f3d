package demo

import (
	"math"
	"time"
)

// never is a time (unix seconds) later than any history: a step planned
// for never does not happen.
const never int64 = math.MaxInt64 / 4

// workday is one local day: its start and, on weekdays, when work opens and
// closes (unix seconds; open == 0 on weekends).
type workday struct {
	start, open, close int64
}

// calendar is Mon–Fri 09:00–17:00 in a time zone, precomputed day by day
// for the generated period: people act in business time.
type calendar struct {
	days []workday
}

func newCalendar(loc *time.Location, from, to int64) calendar {
	first := time.Unix(from, 0).In(loc)
	y, m, d := first.Date()
	var c calendar
	for k := 0; ; k++ {
		day := time.Date(y, m, d+k, 0, 0, 0, 0, loc)
		if day.Unix() > to {
			break
		}
		w := workday{start: day.Unix()}
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			w.open = time.Date(y, m, d+k, 9, 0, 0, 0, loc).Unix()
			w.close = time.Date(y, m, d+k, 17, 0, 0, 0, loc).Unix()
		}
		c.days = append(c.days, w)
	}
	return c
}

// dayOf returns the index of the day holding t, or -1 before the first.
func (c calendar) dayOf(t int64) int {
	if len(c.days) == 0 || t < c.days[0].start {
		return -1
	}
	k := int((t - c.days[0].start) / 86400)
	if k >= len(c.days) {
		k = len(c.days) - 1
	}
	for k+1 < len(c.days) && c.days[k+1].start <= t {
		k++
	}
	for k > 0 && c.days[k].start > t {
		k--
	}
	return k
}

// add returns the instant d seconds of working time after t (a start
// outside working time begins at the next opening), or never when that is
// past the calendar's end.
func (c calendar) add(t int64, d float64) int64 {
	if t >= never {
		return never
	}
	left := int64(d)
	if left < 0 {
		left = 0
	}
	k := c.dayOf(t)
	if k < 0 {
		k, t = 0, c.days[0].start
	}
	for ; k < len(c.days); k++ {
		w := c.days[k]
		if t < w.start {
			t = w.start
		}
		if w.open == 0 || t >= w.close {
			continue
		}
		if t < w.open {
			t = w.open
		}
		if avail := w.close - t; left <= avail {
			return t + left
		}
		left -= w.close - t
	}
	return never
}
