package lead

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

func TestParseImportTime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Time{
		"2026-10-01T09:12:00Z":      time.Date(2026, 10, 1, 9, 12, 0, 0, time.UTC),
		"2026-10-01T09:12:00+02:00": time.Date(2026, 10, 1, 7, 12, 0, 0, time.UTC),
		"2026-10-01T09:12:00.5Z":    time.Date(2026, 10, 1, 9, 12, 0, 5e8, time.UTC),
		"2026-10-01 09:12:00+00":    time.Date(2026, 10, 1, 9, 12, 0, 0, time.UTC),
		"2026-10-01T09:12:00":       time.Date(2026, 10, 1, 9, 12, 0, 0, berlin),
		"2026-10-01 09:12":          time.Date(2026, 10, 1, 9, 12, 0, 0, berlin),
		"2026-10-01 09:12:30":       time.Date(2026, 10, 1, 9, 12, 30, 0, berlin),
		"2026-10-01":                time.Date(2026, 10, 1, 0, 0, 0, 0, berlin),
		"10/1/2026 9:12 AM":         time.Date(2026, 10, 1, 9, 12, 0, 0, berlin),
		"10/1/2026 9:12 pm":         time.Date(2026, 10, 1, 21, 12, 0, 0, berlin),
		"1/2/2026 3:04:05 PM":       time.Date(2026, 1, 2, 15, 4, 5, 0, berlin),
		"01/02/2026 15:04":          time.Date(2026, 1, 2, 15, 4, 0, 0, berlin),
		"10/1/2026":                 time.Date(2026, 10, 1, 0, 0, 0, 0, berlin),
		"1.10.2026":                 time.Date(2026, 10, 1, 0, 0, 0, 0, berlin),
		"01.10.2026 09:12":          time.Date(2026, 10, 1, 9, 12, 0, 0, berlin),
		"  2026-10-01  ":            time.Date(2026, 10, 1, 0, 0, 0, 0, berlin),
	} {
		got, ok := ParseImportTime(in, berlin)
		require.True(t, ok, in)
		require.True(t, got.Equal(want), "%s: %v, want %v", in, got, want)
	}
	for _, bad := range []string{"", "yesterday", "2026-13-01", "31/12/2026", "1700000000", "2026-10-01T25:00"} {
		_, ok := ParseImportTime(bad, berlin)
		require.False(t, ok, bad)
	}
}

func TestImportValues(t *testing.T) {
	t.Parallel()
	t.Run("Country", func(t *testing.T) {
		for in, want := range map[string]string{"DE": "DE", "de": "DE", "Germany": "DE", " deutschland ": "DE", "United States": "US",
			"USA": "US", "united  states of america": "US", "UK": "GB", "Great Britain": "GB", "Türkiye": "TR", "XK": "XK", "zz": "ZZ"} {
			got, ok := CountryCode(in)
			require.True(t, ok, in)
			require.Equal(t, want, got, in)
		}
		for _, bad := range []string{"Atlantis", "D", "Germ", "12"} {
			_, ok := CountryCode(bad)
			require.False(t, ok, bad)
		}
	})
	t.Run("Formula", func(t *testing.T) {
		for _, in := range []string{"=1+1", "=HYPERLINK(\"x\")", "@SUM(A1)", "+A1", "-A1", "  =x", "\t=x", "+cmd|' /C calc'!A0", "--1"} {
			require.True(t, FormulaCell(in), in)
		}
		for _, in := range []string{"", "+49 30 1234", "+1 (415) 555", "-5", "- item", "-(3)", "-", "+", "a=b", "ana@example.com", "Smith-Jones"} {
			require.False(t, FormulaCell(in), in)
		}
	})
	t.Run("Bool", func(t *testing.T) {
		for in, want := range map[string]bool{"true": true, "Yes": true, "Y": true, "1": true, "x": true, "FALSE": false, "no": false, "0": false} {
			got, ok := ParseImportBool(in)
			require.True(t, ok, in)
			require.Equal(t, want, got, in)
		}
		_, ok := ParseImportBool("maybe")
		require.False(t, ok)
	})
	t.Run("Score", func(t *testing.T) {
		for in, want := range map[string]int{"72": 72, " 0 ": 0, "100": 100, "72.0": 72, "150": 150} {
			got, ok := ParseImportScore(in)
			require.True(t, ok, in)
			require.Equal(t, want, got)
		}
		for _, bad := range []string{"72.5", "high", "1e2", "99999999999"} {
			_, ok := ParseImportScore(bad)
			require.False(t, ok, bad)
		}
	})
	t.Run("SourceCode", func(t *testing.T) {
		for in, want := range map[string]string{"Paid Search": "paid_search", "PAID_SEARCH": "paid_search", " Partner  Referral ": "partner_referral",
			"Offline Sources": "offline_sources", "Web": "web", "AI Referrals!": "ai_referrals"} {
			require.Equal(t, want, SourceCode(in), in)
		}
	})
	t.Run("Stages", func(t *testing.T) {
		for in, want := range map[string]Stage{"marketingqualifiedlead": StageMQL, "Marketing Qualified Lead": StageMQL,
			"salesqualifiedlead": StageSQL, "opportunity": StageOpportunity, "customer": StageWon, "Customer": StageWon,
			"subscriber": StageNew, "lead": StageNew, "evangelist": StageNew, "": StageNew} {
			require.Equal(t, want, HubSpotLifecycleStage(in), in)
		}
		require.Equal(t, StageSQL, SalesforceLeadStatusStage("Closed - Converted"))
		require.Equal(t, StageNew, SalesforceLeadStatusStage("Working - Contacted"))
		n, ok := SalesforceRatingScore("hot")
		require.True(t, ok)
		require.Equal(t, 90, n)
		st, ok := ParseImportStage("MQL")
		require.True(t, ok)
		require.Equal(t, StageMQL, st)
		_, ok = ParseImportStage("rejected")
		require.False(t, ok)
	})
	t.Run("Filename", func(t *testing.T) {
		require.Equal(t, "leads.csv", ImportFilename(`C:\Users\ana\leads.csv`))
		require.Equal(t, "leads.csv", ImportFilename("../../etc/leads.csv"))
		require.Equal(t, "upload.csv", ImportFilename(" \x00 "))
		require.Len(t, []rune(ImportFilename(strings.Repeat("é", 300))), 200)
	})
}

func TestNewMapping(t *testing.T) {
	t.Parallel()
	t.Run("UnknownAndDuplicate", func(t *testing.T) {
		m, err := NewMapping(PresetHubSpot, []string{"\uFEFFRecord ID", " email ", "Favorite Color", "", "Email", "Lead Status"})
		require.NoError(t, err)
		require.Equal(t, 6, m.Width())
		require.Equal(t, FieldExternalID, m.Columns[0].Field)
		require.Equal(t, "Record ID", m.Columns[0].Header)
		require.Equal(t, FieldEmail, m.Columns[1].Field, "headers match without regard to case and spaces")
		require.False(t, m.Columns[2].Imported())
		require.Contains(t, m.Columns[2].Note, "not imported")
		require.Contains(t, m.Columns[3].Note, "no header")
		require.False(t, m.Columns[4].Imported())
		require.Contains(t, m.Columns[4].Note, "column 2 has the same header")
		require.False(t, m.Columns[5].Imported())
		require.Contains(t, m.Columns[5].Note, "Lifecycle Stage")
	})
	t.Run("MissingKey", func(t *testing.T) {
		_, err := NewMapping(PresetSalesforce, []string{"First Name", "Last Name"})
		var he *HeaderError
		require.ErrorAs(t, err, &he)
		require.Contains(t, he.Msg, `neither a "Lead ID" nor an "Email" column`)
		require.Contains(t, he.Msg, "Lead ID, First Name")
	})
	t.Run("Suggest", func(t *testing.T) {
		_, err := NewMapping(PresetAccord, []string{"Record ID", "First Name", "Lifecycle Stage"})
		require.ErrorContains(t, err, "choose the hubspot preset")
		require.Equal(t, PresetSalesforce, SuggestPreset([]string{"Lead ID", "Company / Account", "Email"}))
		require.Equal(t, Preset(""), SuggestPreset([]string{"foo"}))
	})
	t.Run("BadPreset", func(t *testing.T) {
		_, err := NewMapping("pipedrive", []string{"email"})
		require.ErrorContains(t, err, "accord, hubspot, salesforce")
	})
}

func TestImportParser(t *testing.T) {
	t.Parallel()
	m, err := NewMapping(PresetAccord, strings.Split("external_id,email,first_name,company,country,segment,score,icp_fit,created_at,stage,notes", ","))
	require.NoError(t, err)
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	p := NewImportParser(m, []string{"smb", "enterprise"}, berlin)
	parse := func(line int, cells string) ParsedRow {
		return p.Parse(Record{Line: line, Fields: strings.Split(cells, ",")}, nil, now)
	}

	ok := parse(2, " x-1 , Ana@Example.COM ,Ana,Example,Germany,Enterprise,72,yes,2026-10-01 09:12,mql,hi")
	require.Empty(t, ok.Err)
	in := ok.Row.Input
	require.Equal(t, "x-1", *in.ExternalID)
	require.Equal(t, "ana@example.com", *in.Email)
	require.Equal(t, "DE", *in.Country)
	require.Equal(t, "enterprise", *in.Segment)
	require.Equal(t, 72, *in.Score)
	require.True(t, *in.ICPFit)
	require.True(t, in.CreatedAt.Equal(time.Date(2026, 10, 1, 9, 12, 0, 0, berlin)))
	require.Equal(t, StageMQL, ok.Row.Stage)
	require.Nil(t, in.Title, "no column: left out")

	empty := parse(3, "x-2,,,,,,,,,,")
	require.Empty(t, empty.Err)
	require.Nil(t, empty.Row.Input.Email, "an empty cell keeps the stored value")
	require.Nil(t, empty.Row.Input.FirstName)
	require.Equal(t, StageNew, empty.Row.Stage)

	for line, tc := range map[int]struct{ cells, want string }{
		4:  {"x-1,b@example.com,,,,,,,,,", `line 4 repeats line 2 (same external_id "x-1")`},
		5:  {"x-9,ANA@example.com,,,,,,,,,", `line 5 repeats line 2 (same email "ana@example.com")`},
		6:  {"x-3,bad,,,,,,,,,", "line 6: email: must be a valid address"},
		7:  {"x-4,,,,,mid,,,,,", "line 7: segment: must be one of smb, enterprise"},
		8:  {",,Nobody,,,,,,,,", "line 8: the row has neither external_id nor email: fill in at least one"},
		9:  {"x-5,,=cmd,,,,,,,,", `line 9: first_name "=cmd" starts like a spreadsheet formula`},
		10: {"x-6,,,,Narnia,,,,,,", `country "Narnia" is not a country Accord knows`},
		11: {"x-7,,,,,,abc,maybe,,,", `score "abc" must be a whole number from 0 to 100; icp_fit "maybe" must be true or false`},
		12: {"x-8,,,,,,,,someday,,", `created_at "someday" is not a date`},
		13: {"x-10,,,,,,,,,lost,", `stage "lost" must be new, mql, sql, opportunity or won`},
		14: {"x-11,,,,,,,,2027-01-01,,", "created_at: may not be more than 5 minutes in the future"},
		15: {"x-12,,", "line 15 has 3 cells but the header has 11"},
	} {
		got := parse(line, tc.cells)
		require.Contains(t, got.Err, tc.want, "line %d", line)
		require.Equal(t, line, got.Line)
	}
	// A bad row's keys still count: the file has them twice either way.
	require.Contains(t, parse(16, "x-3,,,,,,,,,,").Err, "repeats line 6")
	le := &LineError{Line: 17, Msg: "line 17 is not valid UTF-8"}
	require.Equal(t, ParsedRow{Line: 17, Err: le.Msg}, p.Parse(Record{}, le, now))
}

func TestKeyIndex(t *testing.T) {
	t.Parallel()
	var x KeyIndex
	_, ok := x.Lookup(keyEmail, "a@example.com")
	require.False(t, ok)
	const n = 200_000
	for i := 0; i < n; i++ {
		x.Add(keyEmail, fmt.Sprintf("user%d@example.com", i), i+2)
		x.Add(keyExternalID, fmt.Sprintf("ext-%d", i), i+2)
	}
	require.Equal(t, 2*n, x.Len())
	for i := 0; i < n; i += 997 {
		line, ok := x.Lookup(keyEmail, fmt.Sprintf("user%d@example.com", i))
		require.True(t, ok)
		require.Equal(t, i+2, line)
		line, ok = x.Lookup(keyExternalID, fmt.Sprintf("ext-%d", i))
		require.True(t, ok)
		require.Equal(t, i+2, line)
	}
	_, ok = x.Lookup(keyExternalID, "user1@example.com")
	require.False(t, ok, "kinds are apart")
	_, ok = x.Lookup(keyEmail, "user1@example.co")
	require.False(t, ok)
	x.Add(keyEmail, "", 1)
	line, ok := x.Lookup(keyEmail, "")
	require.True(t, ok)
	require.Equal(t, 1, line)
}

func TestScanCSV(t *testing.T) {
	t.Parallel()
	header, rows, err := ScanCSV(strings.NewReader("\n\nemail,x\na@b.co,1\nFo\"o,2\n\n,\nc@d.co,3\n"), nil)
	require.NoError(t, err)
	require.Equal(t, []string{"email", "x"}, header)
	require.Equal(t, 3, rows, "bad rows count, blank ones do not")

	_, _, err = ScanCSV(strings.NewReader(""), nil)
	require.ErrorContains(t, err, "the file is empty")
	_, _, err = ScanCSV(strings.NewReader("\"email\n"), nil)
	require.ErrorContains(t, err, "the header row cannot be read")
	calls := 0
	_, _, err = ScanCSV(strings.NewReader("name\nAna\n"), func(h []string) error {
		calls++
		_, err := NewMapping(PresetAccord, h)
		return err
	})
	require.Equal(t, 1, calls)
	var he *HeaderError
	require.ErrorAs(t, err, &he)
	_, _, err = ScanCSV(io.MultiReader(strings.NewReader("email\n"), errReader{}), nil)
	require.ErrorIs(t, err, io.ErrClosedPipe)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrClosedPipe }
