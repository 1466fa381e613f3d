package lead

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FormulaCell reports whether a cell would run as a formula when a
// spreadsheet opens a file it is exported to (CSV injection): it starts
// with "=" or "@", or with "+" or "-" followed by something other than a
// digit, a space or a parenthesis (so "+49 30 1234" and "-5" are fine).
// Tabs and carriage returns before those count too.
func FormulaCell(s string) bool {
	s = strings.TrimLeft(s, " \t\r\n")
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '@':
		return true
	case '+', '-':
		if len(s) == 1 {
			return false
		}
		c := s[1]
		return !(c >= '0' && c <= '9' || c == ' ' || c == '(' || c == ')')
	}
	return false
}

// dateLayouts are the date forms an import understands, tried in order.
// Forms without a zone are read in the tenant's time zone. Slashed dates are
// month first, as US exports of Salesforce and HubSpot write them; dotted
// dates are day first (German and other European exports).
var dateLayouts = []struct {
	layout string
	zoned  bool
}{
	{time.RFC3339Nano, true},
	{"2006-01-02 15:04:05Z07:00", true},
	{"2006-01-02 15:04:05.999999999Z07:00", true},
	{"2006-01-02 15:04:05.999999999Z07", true}, // PostgreSQL's own output: +00
	{"2006-01-02T15:04:05.999999999", false},
	{"2006-01-02T15:04", false},
	{"2006-01-02 15:04:05.999999999", false},
	{"2006-01-02 15:04", false},
	{"2006-01-02", false},
	{"1/2/2006 3:04 PM", false},
	{"1/2/2006 3:04:05 PM", false},
	{"1/2/2006 15:04", false},
	{"1/2/2006 15:04:05", false},
	{"1/2/2006", false},
	{"2.1.2006 15:04", false},
	{"2.1.2006 15:04:05", false},
	{"2.1.2006", false},
}

// ParseImportTime reads a date or time cell; times without a zone are in
// loc. It accepts RFC 3339 ("2026-10-01T09:12:00Z"), "2026-10-01 09:12",
// "2026-10-01", US "10/1/2026 9:12 AM" or "10/1/2026", and "1.10.2026".
func ParseImportTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return time.Time{}, false
	}
	// Go's layouts want AM/PM in capitals.
	up := strings.ToUpper(s)
	for _, l := range dateLayouts {
		v := s
		if strings.Contains(l.layout, "PM") {
			v = up
		}
		if l.zoned {
			if t, err := time.Parse(l.layout, v); err == nil {
				return t, true
			}
			continue
		}
		if t, err := time.ParseInLocation(l.layout, v, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ParseImportBool reads a yes/no cell: true, yes, y, 1 or false, no, n, 0,
// in any case.
func ParseImportBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "y", "1", "t", "x":
		return true, true
	case "false", "no", "n", "0", "f":
		return false, true
	}
	return false, false
}

// ParseImportScore reads a score cell: a whole number (a trailing ".0" is
// allowed, as spreadsheets write numbers).
func ParseImportScore(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if whole, frac, ok := strings.Cut(s, "."); ok && strings.Trim(frac, "0") == "" {
		s = whole
	}
	n, err := strconv.Atoi(s)
	if err != nil || len(s) > 4 {
		return 0, false
	}
	return n, true
}

// SourceCode turns a CRM's channel label into Accord's code style:
// "Paid Search" and "PAID_SEARCH" both become "paid_search".
func SourceCode(s string) string {
	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r > utf8.RuneSelf:
			if underscore && b.Len() > 0 {
				b.WriteByte('_')
			}
			underscore = false
			b.WriteRune(r)
		default:
			underscore = true
		}
	}
	return b.String()
}

// HubSpotLifecycleStage maps a HubSpot lifecycle stage, as its internal
// value ("marketingqualifiedlead") or label ("Marketing Qualified Lead"),
// to the stage an imported lead starts in (API.md).
func HubSpotLifecycleStage(s string) Stage {
	switch squash(s) {
	case "marketingqualifiedlead", "mql":
		return StageMQL
	case "salesqualifiedlead", "sql":
		return StageSQL
	case "opportunity":
		return StageOpportunity
	case "customer":
		return StageWon
	}
	return StageNew
}

// SalesforceLeadStatusStage maps a Salesforce lead status: a converted lead
// became a contact and opportunity in Salesforce, so it arrives as sql;
// every other status (open, working, not converted) as new.
func SalesforceLeadStatusStage(s string) Stage {
	if squash(s) == "closedconverted" {
		return StageSQL
	}
	return StageNew
}

// SalesforceRatingScore maps a Salesforce rating to a score: Hot 90, Warm
// 60, Cold 30.
func SalesforceRatingScore(s string) (int, bool) {
	switch squash(s) {
	case "hot":
		return 90, true
	case "warm":
		return 60, true
	case "cold":
		return 30, true
	}
	return 0, false
}

// importStages are the stages a row may name in the accord preset's stage
// column: stages a lead can hold without an owner's decision behind it.
var importStages = []Stage{StageNew, StageMQL, StageSQL, StageOpportunity, StageWon}

// ParseImportStage reads the accord preset's stage column.
func ParseImportStage(s string) (Stage, bool) {
	st := Stage(strings.ToLower(strings.TrimSpace(s)))
	for _, x := range importStages {
		if st == x {
			return st, true
		}
	}
	return "", false
}

// squash lower-cases s and drops everything but letters and digits.
func squash(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// quoteCell shows a cell in a message, shortened.
func quoteCell(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
