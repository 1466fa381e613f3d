package sla_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/sla"
)

func TestParseWeek(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     map[string][][]string
		errKey  string
		errText string
	}{
		{name: "default", raw: map[string][][]string{"mon": {{"09:00", "17:00"}}}},
		{name: "lunch break", raw: map[string][][]string{"tue": {{"09:00", "12:00"}, {"13:00", "17:30"}}}},
		{name: "until midnight", raw: map[string][][]string{"sat": {{"18:00", "24:00"}}}},
		{name: "reversed", raw: map[string][][]string{"mon": {{"17:00", "09:00"}}}, errKey: "hours.mon", errText: "ends before it starts"},
		{name: "overlap", raw: map[string][][]string{"wed": {{"09:00", "13:00"}, {"12:00", "17:00"}}}, errKey: "hours.wed", errText: "overlap"},
		{name: "out of order", raw: map[string][][]string{"wed": {{"13:00", "17:00"}, {"09:00", "12:00"}}}, errKey: "hours.wed", errText: "overlap or are out of order"},
		{name: "bad time", raw: map[string][][]string{"thu": {{"9am", "17:00"}}}, errKey: "hours.thu", errText: "HH:MM"},
		{name: "past midnight", raw: map[string][][]string{"thu": {{"09:00", "24:30"}}}, errKey: "hours.thu", errText: "HH:MM"},
		{name: "unknown day", raw: map[string][][]string{"monday": {{"09:00", "17:00"}}}, errKey: "hours.monday", errText: "unknown day"},
		{name: "not a pair", raw: map[string][][]string{"fri": {{"09:00"}}}, errKey: "hours.fri", errText: "pair"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, errs := sla.ParseWeek(tc.raw)
			if tc.errKey == "" {
				require.Nil(t, errs)
				b, err := json.Marshal(w)
				require.NoError(t, err)
				var back map[string][][]string
				require.NoError(t, json.Unmarshal(b, &back))
				require.Equal(t, tc.raw, back, "the API form round-trips")
				return
			}
			require.Contains(t, errs[tc.errKey], tc.errText)
		})
	}
}

func TestCalendarInput_Validate(t *testing.T) {
	t.Parallel()
	good := sla.CalendarInput{Name: "Berlin", TimeZone: "Europe/Berlin", Hours: sla.DefaultWeek(),
		Holidays: []sla.Holiday{{Date: "2026-12-25", Name: "Christmas"}}}
	require.Nil(t, good.Validate())

	bad := sla.CalendarInput{Name: " ", TimeZone: "Europe/Atlantis",
		Holidays: []sla.Holiday{{Date: "2026-13-01", Name: "x"}, {Date: "2026-12-25", Name: ""}, {Date: "2026-12-25", Name: "again"}}}
	errs := bad.Validate()
	require.Contains(t, errs, "name")
	require.Contains(t, errs, "time_zone")
	require.Contains(t, errs["hours"], "at least one day")
	require.Contains(t, errs["holidays.0"], "YYYY-MM-DD")
	require.Contains(t, errs["holidays.1"], "name")
	require.Contains(t, errs["holidays.2"], "twice")

	always := sla.CalendarInput{Name: "24/7", TimeZone: "UTC", AlwaysOpen: true}
	require.Nil(t, always.Validate(), "an always-open calendar needs no hours")
}

func TestWeek_Describe(t *testing.T) {
	t.Parallel()
	require.Equal(t, "Mon–Fri 09:00–17:00", sla.DefaultWeek().Describe())
	w := sla.DefaultWeek()
	w[3] = []sla.Interval{{Start: 9 * 60, End: 12 * 60}, {Start: 13 * 60, End: 17 * 60}}
	require.Equal(t, "Mon–Tue 09:00–17:00; Wed 09:00–12:00, 13:00–17:00; Thu–Fri 09:00–17:00", w.Describe())
	require.Equal(t, "closed every day", sla.Week{}.Describe())
}
