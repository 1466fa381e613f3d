package lead

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/accordhq/accord/internal/validator"
)

// Preset is a CSV layout an import understands (API.md "imports").
type Preset string

// The presets.
const (
	PresetAccord     Preset = "accord"
	PresetHubSpot    Preset = "hubspot"
	PresetSalesforce Preset = "salesforce"
)

// Presets lists every preset in the order forms offer them.
var Presets = []Preset{PresetAccord, PresetHubSpot, PresetSalesforce}

// Valid reports whether p is a known preset.
func (p Preset) Valid() bool {
	for _, x := range Presets {
		if p == x {
			return true
		}
	}
	return false
}

// Label names the preset for people.
func (p Preset) Label() string {
	switch p {
	case PresetHubSpot:
		return "HubSpot contacts export"
	case PresetSalesforce:
		return "Salesforce lead report"
	case PresetAccord:
		return "Accord (API field names)"
	}
	return string(p)
}

// Headers lists the column headers the preset reads, in their usual order.
func (p Preset) Headers() []string {
	var out []string
	for _, c := range presetColumns[p] {
		out = append(out, c.header)
	}
	return out
}

// ImportStatus is where an import is.
type ImportStatus string

// The statuses of an import: a web upload waits as uploaded until someone
// starts it after the preview; API imports start at once.
const (
	ImportUploaded ImportStatus = "uploaded"
	ImportRunning  ImportStatus = "running"
	ImportDone     ImportStatus = "done"
	ImportFailed   ImportStatus = "failed"
)

// Finished reports whether the import will not change any more.
func (s ImportStatus) Finished() bool { return s == ImportDone || s == ImportFailed }

// Field is what a CSV column fills in.
type Field string

// The fields columns map to. Besides the lead fields of the API, a column
// may give the stage (accord stage, HubSpot lifecycle stage, Salesforce lead
// status) or a Salesforce rating (→ score).
const (
	FieldExternalID Field = "external_id"
	FieldEmail      Field = "email"
	FieldFirstName  Field = "first_name"
	FieldLastName   Field = "last_name"
	FieldCompany    Field = "company"
	FieldTitle      Field = "title"
	FieldPhone      Field = "phone"
	FieldCountry    Field = "country"
	FieldSegment    Field = "segment"
	FieldSource     Field = "source"
	FieldCampaign   Field = "campaign"
	FieldScore      Field = "score"
	FieldICPFit     Field = "icp_fit"
	FieldCreatedAt  Field = "created_at"
	FieldStage      Field = "stage"
	FieldRating     Field = "rating"
)

// fieldCount bounds the Field indexes of a Mapping.
const fieldCount = 16

var fieldOrder = []Field{FieldExternalID, FieldEmail, FieldFirstName, FieldLastName, FieldCompany, FieldTitle, FieldPhone,
	FieldCountry, FieldSegment, FieldSource, FieldCampaign, FieldScore, FieldICPFit, FieldCreatedAt, FieldStage, FieldRating}

func (f Field) index() int {
	for i, x := range fieldOrder {
		if x == f {
			return i
		}
	}
	return -1
}

// cellKind says how a column's cells are read.
type cellKind int

const (
	cellText cellKind = iota
	cellSourceCode
	cellIgnored // recognised, but Accord has nowhere to put it
	cellHubSpotLifecycle
	cellSalesforceStatus
	cellAccordStage
)

type presetColumn struct {
	header string
	field  Field
	kind   cellKind
	note   string // how the column is read, for the preview
}

// presetColumns are the headers of each preset (API.md) and where they go.
var presetColumns = map[Preset][]presetColumn{
	PresetAccord: {
		{header: "external_id", field: FieldExternalID},
		{header: "email", field: FieldEmail},
		{header: "first_name", field: FieldFirstName},
		{header: "last_name", field: FieldLastName},
		{header: "company", field: FieldCompany},
		{header: "title", field: FieldTitle},
		{header: "phone", field: FieldPhone},
		{header: "country", field: FieldCountry, note: "two-letter code or English name"},
		{header: "segment", field: FieldSegment, note: "one of the tenant's segments"},
		{header: "source", field: FieldSource},
		{header: "campaign", field: FieldCampaign},
		{header: "score", field: FieldScore, note: "0–100"},
		{header: "icp_fit", field: FieldICPFit, note: "true/false, yes/no, 1/0"},
		{header: "created_at", field: FieldCreatedAt, note: "new leads only"},
		{header: "stage", field: FieldStage, kind: cellAccordStage, note: "new, mql, sql, opportunity or won; new leads only"},
	},
	PresetHubSpot: {
		{header: "Record ID", field: FieldExternalID},
		{header: "First Name", field: FieldFirstName},
		{header: "Last Name", field: FieldLastName},
		{header: "Email", field: FieldEmail},
		{header: "Phone Number", field: FieldPhone},
		{header: "Company Name", field: FieldCompany},
		{header: "Job Title", field: FieldTitle},
		{header: "Country/Region", field: FieldCountry, note: "two-letter code or English name"},
		{header: "Lifecycle Stage", field: FieldStage, kind: cellHubSpotLifecycle,
			note: "marketing qualified lead → mql, sales qualified lead → sql, opportunity → opportunity, customer → won, others → new; new leads only"},
		{header: "Lead Status", kind: cellIgnored, note: "not imported: Accord takes the stage from Lifecycle Stage"},
		{header: "Create Date", field: FieldCreatedAt, note: "new leads only"},
		{header: "Original Source", field: FieldSource, kind: cellSourceCode, note: "as a code: Paid Search → paid_search"},
		{header: "Original Source Drill-Down 1", field: FieldCampaign},
		{header: "HubSpot Score", field: FieldScore, note: "0–100"},
	},
	PresetSalesforce: {
		{header: "Lead ID", field: FieldExternalID},
		{header: "First Name", field: FieldFirstName},
		{header: "Last Name", field: FieldLastName},
		{header: "Title", field: FieldTitle},
		{header: "Company / Account", field: FieldCompany},
		{header: "Email", field: FieldEmail},
		{header: "Phone", field: FieldPhone},
		{header: "Country", field: FieldCountry, note: "two-letter code or English name"},
		{header: "Lead Source", field: FieldSource, kind: cellSourceCode, note: "as a code: Partner Referral → partner_referral"},
		{header: "Lead Status", field: FieldStage, kind: cellSalesforceStatus,
			note: "Closed - Converted → sql, others → new; new leads only"},
		{header: "Rating", field: FieldRating, note: "→ score: Hot 90, Warm 60, Cold 30"},
		{header: "Create Date", field: FieldCreatedAt, note: "new leads only"},
	},
}

// keyHeaders names the key columns of a preset: external id, email.
func keyHeaders(p Preset) (ext, email string) {
	for _, c := range presetColumns[p] {
		switch c.field {
		case FieldExternalID:
			ext = c.header
		case FieldEmail:
			email = c.header
		}
	}
	return ext, email
}

// Column is one column of an uploaded file and what the import does with it.
type Column struct {
	Header string // as in the file
	Field  Field  // "" when not imported
	Note   string // how it is read, or why it is not imported
}

// Imported reports whether the column's cells are stored.
func (c Column) Imported() bool { return c.Field != "" }

// Mapping is how a file's columns map to lead fields under a preset.
type Mapping struct {
	Preset  Preset
	Columns []Column
	idx     [fieldCount]int // column of each field, -1 for none
	kinds   [fieldCount]cellKind
}

// HeaderError means a file cannot be imported with the chosen preset at
// all; Msg says why and what to do.
type HeaderError struct {
	Msg string
}

func (e *HeaderError) Error() string { return e.Msg }

// NewMapping maps a file's header row under preset p. Headers are matched
// without regard to case and spacing; unknown headers are not imported. A
// file without a key column (external id or email) is refused, with a hint
// when another preset fits its headers.
func NewMapping(p Preset, header []string) (Mapping, error) {
	m := Mapping{Preset: p}
	for i := range m.idx {
		m.idx[i] = -1
	}
	if !p.Valid() {
		return m, &HeaderError{Msg: "the preset must be one of accord, hubspot, salesforce"}
	}
	byName := map[string]presetColumn{}
	for _, c := range presetColumns[p] {
		byName[headerKey(c.header)] = c
	}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		if strings.ContainsAny(h, "\x00\r") {
			return m, &HeaderError{Msg: "the header row has control characters in it: save the file as CSV UTF-8 with ordinary line breaks and upload it again"}
		}
		col := Column{Header: h}
		pc, known := byName[headerKey(h)]
		switch {
		case h == "":
			col.Note = "not imported: the column has no header"
		case !known:
			col.Note = "not imported: not a column of the " + p.Label() + " preset"
		case pc.kind == cellIgnored:
			col.Note = pc.note
		case m.idx[pc.field.index()] >= 0:
			col.Note = fmt.Sprintf("not imported: column %d has the same header", m.idx[pc.field.index()]+1)
		default:
			col.Field, col.Note = pc.field, pc.note
			m.idx[pc.field.index()] = i
			m.kinds[pc.field.index()] = pc.kind
		}
		m.Columns = append(m.Columns, col)
	}
	if m.idx[FieldExternalID.index()] < 0 && m.idx[FieldEmail.index()] < 0 {
		ext, email := keyHeaders(p)
		msg := fmt.Sprintf("the file has neither a %q nor an %q column, so no row could be matched or created: the %s preset expects the headers %s",
			ext, email, p.Label(), strings.Join(p.Headers(), ", "))
		if alt := SuggestPreset(header); alt != "" && alt != p {
			msg += fmt.Sprintf(". The headers look like a %s: choose the %s preset", alt.Label(), alt)
		}
		return m, &HeaderError{Msg: msg}
	}
	return m, nil
}

// SuggestPreset returns the preset whose key columns a header row has, or "".
func SuggestPreset(header []string) Preset {
	have := map[string]bool{}
	for _, h := range header {
		have[headerKey(strings.TrimPrefix(h, "\uFEFF"))] = true
	}
	best, bestN := Preset(""), 0
	for _, p := range Presets {
		n := 0
		for _, c := range presetColumns[p] {
			if have[headerKey(c.header)] {
				n++
			}
		}
		ext, email := keyHeaders(p)
		if (have[headerKey(ext)] || have[headerKey(email)]) && n > bestN {
			best, bestN = p, n
		}
	}
	return best
}

func headerKey(h string) string {
	return strings.ToLower(strings.Join(strings.Fields(h), " "))
}

// Width is the number of columns of the header row.
func (m Mapping) Width() int { return len(m.Columns) }

// header returns the file's header for field f, or the field's name.
func (m Mapping) header(f Field) string {
	if i := m.idx[f.index()]; i >= 0 && m.Columns[i].Header != "" {
		return m.Columns[i].Header
	}
	return string(f)
}

func (m Mapping) cell(cells []string, f Field) (string, bool) {
	i := m.idx[f.index()]
	if i < 0 || i >= len(cells) {
		return "", false
	}
	v := strings.TrimSpace(cells[i])
	if strings.ContainsAny(v, "\r\n") {
		// A cell spread over lines (a company name wrapped in the
		// spreadsheet) is one line in Accord.
		v = strings.Join(strings.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
		v = strings.Join(strings.Fields(v), " ")
	}
	return v, v != ""
}

// Keys returns a row's external id and normalised email, the keys rows are
// matched and deduplicated by ("" when empty).
func (m Mapping) Keys(cells []string) (ext, email string) {
	ext, _ = m.cell(cells, FieldExternalID)
	email, _ = m.cell(cells, FieldEmail)
	return ext, validator.NormalizeEmail(email)
}

// ImportRow is a row of a file as a lead input, normalised, with the stage
// a new lead starts in.
type ImportRow struct {
	Line  int
	Input Input
	Stage Stage
}

// Row reads the cells of one record (already known to have Width cells)
// into a lead input. Empty cells are left out, so an update keeps the
// stored value. It returns the problems found, each naming its column.
func (m Mapping) Row(cells []string, loc *time.Location) (ImportRow, []string) {
	var row ImportRow
	row.Stage = StageNew
	var probs []string
	for i, col := range m.Columns {
		if !col.Imported() || i >= len(cells) {
			continue
		}
		if v := strings.TrimSpace(cells[i]); FormulaCell(v) {
			probs = append(probs, fmt.Sprintf("%s %s starts like a spreadsheet formula: remove the leading %q (cells may not start with =, @, or + or - followed by a letter)",
				col.Header, quoteCell(v), v[:1]))
		}
	}
	if len(probs) > 0 {
		return row, probs
	}
	text := func(f Field) *string {
		v, ok := m.cell(cells, f)
		if !ok {
			return nil
		}
		return &v
	}
	in := &row.Input
	in.ExternalID, in.Email = text(FieldExternalID), text(FieldEmail)
	in.FirstName, in.LastName = text(FieldFirstName), text(FieldLastName)
	in.Company, in.Title, in.Phone = text(FieldCompany), text(FieldTitle), text(FieldPhone)
	in.Segment, in.Campaign = text(FieldSegment), text(FieldCampaign)
	if v := text(FieldSource); v != nil {
		if m.kinds[FieldSource.index()] == cellSourceCode {
			code := SourceCode(*v)
			v = &code
		}
		in.Source = v
	}
	if v := text(FieldCountry); v != nil {
		code, ok := CountryCode(*v)
		if !ok {
			probs = append(probs, fmt.Sprintf("%s %s is not a country Accord knows: use a two-letter ISO code such as DE", m.header(FieldCountry), quoteCell(*v)))
		}
		in.Country = &code
	}
	if v := text(FieldScore); v != nil {
		n, ok := ParseImportScore(*v)
		if !ok || n < 0 || n > 100 {
			probs = append(probs, fmt.Sprintf("%s %s must be a whole number from 0 to 100", m.header(FieldScore), quoteCell(*v)))
		}
		in.Score = &n
	}
	if v := text(FieldRating); v != nil {
		n, ok := SalesforceRatingScore(*v)
		if !ok {
			probs = append(probs, fmt.Sprintf("%s %s must be Hot, Warm or Cold", m.header(FieldRating), quoteCell(*v)))
		}
		if in.Score == nil {
			in.Score = &n
		}
	}
	if v := text(FieldICPFit); v != nil {
		b, ok := ParseImportBool(*v)
		if !ok {
			probs = append(probs, fmt.Sprintf("%s %s must be true or false (yes/no, 1/0)", m.header(FieldICPFit), quoteCell(*v)))
		}
		in.ICPFit = &b
	}
	if v := text(FieldCreatedAt); v != nil {
		t, ok := ParseImportTime(*v, loc)
		if !ok {
			probs = append(probs, fmt.Sprintf("%s %s is not a date Accord reads: write it as 2026-10-01 09:12, 2026-10-01T09:12:00Z or 10/1/2026 9:12 AM",
				m.header(FieldCreatedAt), quoteCell(*v)))
		}
		utc := t.UTC()
		in.CreatedAt = &utc
	}
	if v := text(FieldStage); v != nil {
		switch m.kinds[FieldStage.index()] {
		case cellHubSpotLifecycle:
			row.Stage = HubSpotLifecycleStage(*v)
		case cellSalesforceStatus:
			row.Stage = SalesforceLeadStatusStage(*v)
		default:
			st, ok := ParseImportStage(*v)
			if !ok {
				probs = append(probs, fmt.Sprintf("%s %s must be new, mql, sql, opportunity or won (leads reach other stages through the funnel)",
					m.header(FieldStage), quoteCell(*v)))
			}
			row.Stage = st
		}
	}
	in.Normalize()
	return row, probs
}

// validationMessages turns the lead's field errors into messages that name
// the file's columns.
func (m Mapping) validationMessages(errs validator.Errors, in Input) []string {
	var out []string
	for _, f := range errs.Fields() {
		if f == "email" && in.Email == nil && in.ExternalID == nil {
			ext, email := keyHeaders(m.Preset)
			out = append(out, fmt.Sprintf("the row has neither %s nor %s: fill in at least one", ext, email))
			continue
		}
		out = append(out, m.header(Field(f))+": "+errs[f])
	}
	return out
}

// ParsedRow is one record of an import after the checks that need no
// database: a row to store, or the reason it is skipped.
type ParsedRow struct {
	Line int
	Row  ImportRow
	// Err says why the row is skipped, starting with "line N"; "" for a
	// row to store.
	Err string
}

// ImportParser turns the records of one file into rows, in file order. It
// is the one place the rules live, for the preview, the import job and a
// job that resumes: a row that repeats the key of an earlier row (external
// id first, then normalised email) is skipped naming that line, and every
// other row is checked as POST /leads checks a lead.
type ImportParser struct {
	mapping  Mapping
	segments []string
	loc      *time.Location
	keys     KeyIndex
}

// NewImportParser returns a parser for records under m, checking segments
// against the tenant's and reading zone-less times in loc.
func NewImportParser(m Mapping, segments []string, loc *time.Location) *ImportParser {
	if loc == nil {
		loc = time.UTC
	}
	return &ImportParser{mapping: m, segments: segments, loc: loc}
}

// MemoryBytes is the memory the parser holds to find duplicates: about
// 60 bytes per row with both keys.
func (p *ImportParser) MemoryBytes() int { return p.keys.Bytes() }

// Mapping is the parser's column mapping.
func (p *ImportParser) Mapping() Mapping { return p.mapping }

// Parse checks one record; recErr is the reader's *LineError for it, if
// any. now bounds created_at. Keys are claimed in file order whether or not
// the rest of the row is valid, so the same file always gives the same
// duplicates, however often a job resumes.
func (p *ImportParser) Parse(rec Record, recErr *LineError, now time.Time) ParsedRow {
	if recErr != nil {
		return ParsedRow{Line: recErr.Line, Err: recErr.Msg}
	}
	out := ParsedRow{Line: rec.Line}
	if len(rec.Fields) != p.mapping.Width() {
		out.Err = fmt.Sprintf("line %d has %d %s but the header has %d: check for a missing or extra delimiter (a cell with a comma in it needs double quotes)",
			rec.Line, len(rec.Fields), plural(len(rec.Fields), "cell", "cells"), p.mapping.Width())
		return out
	}
	ext, email := p.mapping.Keys(rec.Fields)
	if ext != "" {
		if first, ok := p.keys.Lookup(keyExternalID, ext); ok {
			out.Err = fmt.Sprintf("line %d repeats line %d (same %s %s): skipped", rec.Line, first, p.mapping.header(FieldExternalID), quoteCell(ext))
			return out
		}
	}
	if email != "" {
		if first, ok := p.keys.Lookup(keyEmail, email); ok {
			out.Err = fmt.Sprintf("line %d repeats line %d (same %s %s): skipped", rec.Line, first, p.mapping.header(FieldEmail), quoteCell(email))
			return out
		}
	}
	if ext != "" {
		p.keys.Add(keyExternalID, ext, rec.Line)
	}
	if email != "" {
		p.keys.Add(keyEmail, email, rec.Line)
	}
	row, probs := p.mapping.Row(rec.Fields, p.loc)
	row.Line = rec.Line
	if len(probs) == 0 {
		if errs := row.Input.Validate(p.segments, true, now); errs != nil {
			probs = p.mapping.validationMessages(errs, row.Input)
		}
	}
	if len(probs) > 0 {
		out.Err = fmt.Sprintf("line %d: %s", rec.Line, strings.Join(probs, "; "))
		return out
	}
	out.Row = row
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ReadHeader reads a file's header row, its first record that is not
// blank. A file without one, or whose header is malformed, is a
// *FileError; other errors come from the source.
func ReadHeader(rd *CSVReader) ([]string, error) {
	rec, err := rd.Read()
	var le *LineError
	switch {
	case err == io.EOF:
		return nil, &FileError{Msg: "the file is empty: export it again with a header row and at least one row"}
	case errors.As(err, &le):
		return nil, &FileError{Msg: "the header row cannot be read: " + le.Msg}
	case err != nil:
		return nil, err
	}
	return rec.Fields, nil
}

// ScanCSV reads a whole file once, as an import will, and counts its rows
// (every record after the header, bad ones included: the progress of an
// import counts the same). check, when set, sees the header before the
// rest is read, so that a file the chosen preset cannot import is refused
// before it is stored. It returns the header; errors are a *FileError, the
// error of check, or the source's.
func ScanCSV(r io.Reader, check func(header []string) error) ([]string, int, error) {
	rd := NewCSVReader(r)
	header, err := ReadHeader(rd)
	if err != nil {
		return nil, 0, err
	}
	if check != nil {
		if err := check(header); err != nil {
			return header, 0, err
		}
	}
	rows := 0
	for {
		_, err := rd.Read()
		var le *LineError
		switch {
		case err == io.EOF:
			return header, rows, nil
		case err == nil, errors.As(err, &le):
			rows++
		default:
			return header, rows, err
		}
	}
}

// ImportFilename cleans the name a browser or client gives an uploaded
// file for showing it: the last path element, no control characters, at
// most 200 characters; "upload.csv" when nothing is left.
func ImportFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	if name == "" {
		return "upload.csv"
	}
	return name
}
