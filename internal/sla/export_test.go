package sla

// WeekdayOf exposes weekday to the external tests.
var WeekdayOf = weekday
