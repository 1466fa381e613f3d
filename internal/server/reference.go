package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/web/view"
)

// Reference data and provisioning (API.md "Reference data, provisioning and
// imports"; DESIGN.md §6 Settings): rejection reasons, segments, routing
// rules, revenue targets, the qualification rule and calendars, through the
// API and through the settings pages.

// notBuiltAPI answers endpoints that are routed but not built yet.
func (s *Server) notBuiltAPI(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, http.StatusNotImplemented, "not_implemented", "this endpoint is not built yet", nil)
}

// maxHolidays bounds the holidays of one calendar.
const maxHolidays = 1000

// maxEditorRows bounds the rows a settings editor form may submit.
const maxEditorRows = 1000

// decodeStrict decodes one JSON value of a field (raw) into dst, refusing
// unknown fields, and reports problems as field errors under prefix. Nested
// values held in optional fields need it: the outer decoder's
// DisallowUnknownFields does not reach into them.
func decodeStrict(raw []byte, dst any, prefix string, errs *validator.Errors) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		errs.Add(prefix+"."+typeErr.Field, "must be a "+jsonKind(typeErr.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		errs.Add(prefix+"."+name, "is not a field of this endpoint")
	default:
		errs.Add(prefix, "must be an object")
	}
	return false
}

// reasonJSON is a rejection reason as the API shows it.
type reasonJSON struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

func toReasonJSON(r postgres.Reason) reasonJSON { return reasonJSON{Code: r.Code, Label: r.Label} }

func (s *Server) handleAPIReasonList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	pr, ok := parsePage(w, r)
	if !ok {
		return
	}
	reasons, err := s.store.FindReasons(r.Context(), p.TenantID())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	resp, ok := pageSlice(w, reasons, pr, toReasonJSON)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleAPIReasonCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body reasonJSON
	if !decodeJSON(w, r, &body) {
		return
	}
	reason, err := s.store.CreateReason(r.Context(), p.TenantID(), p.Actor(), postgres.Reason{Code: body.Code, Label: body.Label}, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toReasonJSON(reason))
}

// segmentsJSON is the body of PUT /segments and its answer: the whole
// ordered list. GET /segments answers the list shape with the codes as data.
type segmentsJSON struct {
	Segments []string `json:"segments"`
}

func (s *Server) handleAPISegmentList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	pr, ok := parsePage(w, r)
	if !ok {
		return
	}
	segments, err := s.store.FindSegments(r.Context(), p.TenantID())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	resp, ok := pageSlice(w, segments, pr, func(s string) string { return s })
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleAPISegmentReplace(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body struct {
		Segments *[]string `json:"segments"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if body.Segments == nil {
		s.apiFail(w, r, validator.Errors{"segments": `is required: the whole ordered list, such as ["smb", "mid", "enterprise"]`})
		return
	}
	saved, err := s.store.ReplaceSegments(r.Context(), p.TenantID(), p.Actor(), *body.Segments, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, segmentsJSON{Segments: saved})
}

// routingMatchJSON is a routing rule's condition; null matches any value.
type routingMatchJSON struct {
	Segment *string `json:"segment"`
	Source  *string `json:"source"`
	Country *string `json:"country"`
}

// routingRuleJSON is one routing rule as the API shows it.
type routingRuleJSON struct {
	Match  routingMatchJSON `json:"match"`
	TeamID string           `json:"team_id"`
}

// routingJSON is the tenant's routing as the API shows it.
type routingJSON struct {
	Rules         []routingRuleJSON `json:"rules"`
	DefaultTeamID *string           `json:"default_team_id"`
}

func toRoutingJSON(rt lead.Routing) routingJSON {
	out := routingJSON{Rules: make([]routingRuleJSON, len(rt.Rules)), DefaultTeamID: idPtr(rt.DefaultTeamID)}
	for i, r := range rt.Rules {
		out.Rules[i] = routingRuleJSON{Match: routingMatchJSON{Segment: r.Segment, Source: r.Source, Country: r.Country}, TeamID: r.TeamID.String()}
	}
	return out
}

// routingBody is the body of PUT /routing-rules.
type routingBody struct {
	Rules *[]struct {
		Match  *routingMatchJSON `json:"match"`
		TeamID *string           `json:"team_id"`
	} `json:"rules"`
	DefaultTeamID *string `json:"default_team_id"`
}

func (s *Server) handleAPIRoutingShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	rt, err := s.store.FindRouting(r.Context(), p.TenantID())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRoutingJSON(rt))
}

func (s *Server) handleAPIRoutingReplace(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body routingBody
	if !decodeJSON(w, r, &body) {
		return
	}
	var errs validator.Errors
	var rt lead.Routing
	if body.Rules == nil {
		errs.Add("rules", "is required: the ordered list of rules ([] for none)")
	} else {
		for i, br := range *body.Rules {
			field := fmt.Sprintf("rules.%d.team_id", i)
			rule := lead.RoutingRule{}
			if br.Match != nil {
				rule.Segment, rule.Source, rule.Country = br.Match.Segment, br.Match.Source, br.Match.Country
			}
			if br.TeamID == nil || strings.TrimSpace(*br.TeamID) == "" {
				errs.Add(field, "is required: the team this rule sends leads to")
			} else if id := parseIDField(&errs, field, br.TeamID); id != nil {
				rule.TeamID = *id
			}
			rt.Rules = append(rt.Rules, rule)
		}
	}
	rt.DefaultTeamID = parseIDField(&errs, "default_team_id", body.DefaultTeamID)
	if errs != nil {
		// Report the rules' own problems too, so one answer lists them all.
		for k, v := range lead.ValidateRouting(postgres.NormalizeRouting(rt)) {
			errs.Add(k, v)
		}
		s.apiFail(w, r, errs)
		return
	}
	if err := s.store.ReplaceRouting(r.Context(), p.TenantID(), p.Actor(), rt, s.now()); err != nil {
		s.apiFail(w, r, err)
		return
	}
	saved, err := s.store.FindRouting(r.Context(), p.TenantID())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRoutingJSON(saved))
}

// targetJSON is a revenue target as the API shows it; segment null means
// all segments.
type targetJSON struct {
	Period  string  `json:"period"`
	Segment *string `json:"segment"`
	Revenue money   `json:"revenue"`
}

func toTargetJSON(t postgres.Target) targetJSON {
	j := targetJSON{Period: t.Period, Revenue: money(t.Revenue)}
	if t.Segment != "" {
		seg := t.Segment
		j.Segment = &seg
	}
	return j
}

// targetsJSON is the answer of PUT /targets: every target afterwards.
type targetsJSON struct {
	Targets []targetJSON `json:"targets"`
}

func (s *Server) handleAPITargetList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	pr, ok := parsePage(w, r)
	if !ok {
		return
	}
	targets, err := s.store.FindTargets(r.Context(), p.TenantID())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	resp, ok := pageSlice(w, targets, pr, toTargetJSON)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleAPITargetReplace sets the targets named in the body; revenue null
// removes one, and targets the body does not name stay as they are.
func (s *Server) handleAPITargetReplace(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body struct {
		Targets *[]struct {
			Period  string                    `json:"period"`
			Segment *string                   `json:"segment"`
			Revenue optional[json.RawMessage] `json:"revenue"`
		} `json:"targets"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	var errs validator.Errors
	if body.Targets == nil {
		s.apiFail(w, r, validator.Errors{"targets": `is required: a list such as [{"period": "2026-10", "revenue": 500000, "segment": null}]`})
		return
	}
	changes := make([]postgres.TargetChange, len(*body.Targets))
	for i, t := range *body.Targets {
		c := postgres.TargetChange{Period: t.Period}
		if t.Segment != nil {
			c.Segment = *t.Segment
		}
		field := fmt.Sprintf("targets.%d.revenue", i)
		switch {
		case !t.Revenue.Set:
			errs.Add(field, "is required: an amount, or null to remove the target")
		case !t.Revenue.Null:
			var m money
			if err := m.UnmarshalJSON(t.Revenue.Value); err != nil {
				errs.Add(field, "must be an amount with at most two decimals, such as 500000 or 1250.50")
				break
			}
			cents := lead.Cents(m)
			c.Revenue = &cents
		}
		changes[i] = c
	}
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	after, err := s.store.UpdateTargets(r.Context(), p.TenantID(), p.Actor(), changes, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := targetsJSON{Targets: make([]targetJSON, len(after))}
	for i, t := range after {
		out.Targets[i] = toTargetJSON(t)
	}
	writeJSON(w, http.StatusOK, out)
}

// pageViewsJSON is the intent part of the qualification rule.
type pageViewsJSON struct {
	URLContains string `json:"url_contains"`
	Count       int    `json:"count"`
	WithinHours int    `json:"within_hours"`
}

// qualificationRuleJSON is the qualification rule as the API shows it.
type qualificationRuleJSON struct {
	MinScore      *int           `json:"min_score"`
	RequireICPFit bool           `json:"require_icp_fit"`
	PageViews     *pageViewsJSON `json:"page_views"`
}

func toQualificationRuleJSON(q lead.Qualification) qualificationRuleJSON {
	j := qualificationRuleJSON{MinScore: q.MinScore, RequireICPFit: q.RequireICPFit}
	if pv := q.PageViews; pv != nil {
		j.PageViews = &pageViewsJSON{URLContains: pv.URLContains, Count: pv.Count, WithinHours: pv.WithinHours}
	}
	return j
}

func (s *Server) handleAPIQualificationShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	q, err := s.store.FindQualification(r.Context(), p.TenantID())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toQualificationRuleJSON(q))
}

// handleAPIQualificationReplace changes the parts of the rule the body
// names: null switches a part off, and a part left out keeps its value.
func (s *Server) handleAPIQualificationReplace(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body struct {
		MinScore      optional[int]             `json:"min_score"`
		RequireICPFit optional[bool]            `json:"require_icp_fit"`
		PageViews     optional[json.RawMessage] `json:"page_views"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	var errs validator.Errors
	var pv *lead.PageViewRule
	if body.PageViews.Set && !body.PageViews.Null {
		var j pageViewsJSON
		if decodeStrict(body.PageViews.Value, &j, "page_views", &errs) {
			pv = &lead.PageViewRule{URLContains: j.URLContains, Count: j.Count, WithinHours: j.WithinHours}
		}
	}
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	saved, err := s.store.UpdateQualification(r.Context(), p.TenantID(), p.Actor(), func(q *lead.Qualification) {
		if body.MinScore.Set {
			q.MinScore = nil
			if !body.MinScore.Null {
				v := body.MinScore.Value
				q.MinScore = &v
			}
		}
		if body.RequireICPFit.Set {
			q.RequireICPFit = !body.RequireICPFit.Null && body.RequireICPFit.Value
		}
		if body.PageViews.Set {
			q.PageViews = pv
		}
	}, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toQualificationRuleJSON(saved))
}

// holidayJSON is a calendar's closed day.
type holidayJSON struct {
	Date string `json:"date"`
	Name string `json:"name"`
}

// calendarJSON is a calendar as the API shows it (API.md "Agreement and
// timers"); GET and PUT /calendars answer the same shape.
type calendarJSON struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	TimeZone   string        `json:"time_zone"`
	AlwaysOpen bool          `json:"always_open"`
	Hours      sla.Week      `json:"hours"`
	Holidays   []holidayJSON `json:"holidays"`
	IsDefault  bool          `json:"is_default"`
	UpdatedAt  time.Time     `json:"updated_at"`
}

func toCalendarJSON(c sla.Calendar) calendarJSON {
	j := calendarJSON{ID: c.ID.String(), Name: c.Name, TimeZone: c.TimeZone, AlwaysOpen: c.AlwaysOpen, Hours: c.Hours,
		Holidays: make([]holidayJSON, len(c.Holidays)), IsDefault: c.IsDefault, UpdatedAt: c.UpdatedAt}
	for i, h := range c.Holidays {
		j.Holidays[i] = holidayJSON{Date: h.Date, Name: h.Name}
	}
	return j
}

// calendarBody is the body of POST (and PUT) /calendars.
type calendarBody struct {
	Name       string                `json:"name"`
	TimeZone   string                `json:"time_zone"`
	AlwaysOpen bool                  `json:"always_open"`
	Hours      map[string][][]string `json:"hours"`
	Holidays   []holidayJSON         `json:"holidays"`
}

// calendarInput validates a calendar body: hours by day ("hours.mon"),
// holidays by position ("holidays.0").
func calendarInput(body calendarBody) (sla.CalendarInput, validator.Errors) {
	week, errs := sla.ParseWeek(body.Hours)
	in := sla.CalendarInput{Name: body.Name, TimeZone: body.TimeZone, AlwaysOpen: body.AlwaysOpen, Hours: week}
	for _, h := range body.Holidays {
		in.Holidays = append(in.Holidays, sla.Holiday{Date: h.Date, Name: h.Name})
	}
	errs.Check(len(in.Holidays) <= maxHolidays, "holidays", fmt.Sprintf("at most %d holidays", maxHolidays))
	// Validate before sorting, so holiday errors name the body's positions.
	in.Name, in.TimeZone = strings.TrimSpace(in.Name), strings.TrimSpace(in.TimeZone)
	for i := range in.Holidays {
		in.Holidays[i].Date = strings.TrimSpace(in.Holidays[i].Date)
		in.Holidays[i].Name = strings.TrimSpace(in.Holidays[i].Name)
	}
	for k, v := range in.Validate() {
		errs.Add(k, v)
	}
	in.Normalize()
	return in, errs.OrNil()
}

func (s *Server) handleAPICalendarCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body calendarBody
	if !decodeJSON(w, r, &body) {
		return
	}
	in, errs := calendarInput(body)
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	c, err := s.store.CreateCalendar(r.Context(), p.TenantID(), p.Actor(), in, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toCalendarJSON(c))
}

// The settings pages. Each renders its page, or for htmx its editor alone.

func (s *Server) segmentsView(r *http.Request, p auth.Principal) (view.SegmentsView, error) {
	segments, err := s.store.FindSegments(r.Context(), p.TenantID())
	if err != nil {
		return view.SegmentsView{}, err
	}
	usage, err := s.store.FindSegmentUsage(r.Context(), p.TenantID())
	if err != nil {
		return view.SegmentsView{}, err
	}
	return view.SegmentsView{Segments: segments, Usage: usage, Text: strings.Join(segments, "\n")}, nil
}

func (s *Server) handleSegmentsShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.segmentsView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.SegmentsPage(s.page(r, "Segments", "settings"), v))
}

// handleSegmentsSave reads the editor, one segment per line (blank lines
// are skipped), and reports problems by line number.
func (s *Server) handleSegmentsSave(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	text := r.PostFormValue("segments")
	var list []string
	var lineOf []int
	for i, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			list = append(list, line)
			lineOf = append(lineOf, i+1)
		}
	}
	saved, err := s.store.ReplaceSegments(r.Context(), p.TenantID(), p.Actor(), list, s.now())
	verrs, invalid := asValidation(err)
	if err != nil && !invalid {
		s.renderError(w, r, err)
		return
	}
	if !invalid {
		msg := "Segments saved: " + strings.Join(saved, ", ") + "."
		if len(saved) == 0 {
			msg = "Segments saved: there are none now."
		}
		s.flash(r, "success", msg)
		s.redirect(w, r, "/settings/segments")
		return
	}
	v, err := s.segmentsView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v.Text, v.Errors = text, verrs
	v.Problems = segmentProblems(verrs, list, lineOf)
	s.render(w, r, http.StatusUnprocessableEntity, view.SegmentsPage(s.page(r, "Segments", "settings"), v))
}

// segmentProblems turns "segments.3" errors into "Line 5 (Big Co): …" in
// line order, followed by the list's own problems.
func segmentProblems(errs validator.Errors, list []string, lineOf []int) []string {
	type problem struct {
		line int
		msg  string
	}
	var byLine []problem
	var rest []string
	for _, field := range errs.Fields() {
		idx, ok := strings.CutPrefix(field, "segments.")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 || n >= len(list) {
			rest = append(rest, errs[field])
			continue
		}
		byLine = append(byLine, problem{lineOf[n], fmt.Sprintf("Line %d (%s): %s", lineOf[n], list[n], errs[field])})
	}
	slices.SortFunc(byLine, func(a, b problem) int { return a.line - b.line })
	out := make([]string, 0, len(byLine)+len(rest))
	for _, pr := range byLine {
		out = append(out, pr.msg)
	}
	return append(out, rest...)
}

func (s *Server) reasonsView(r *http.Request, p auth.Principal) (view.ReasonsView, error) {
	reasons, err := s.store.FindReasons(r.Context(), p.TenantID())
	if err != nil {
		return view.ReasonsView{}, err
	}
	rows := make([]view.ReasonRow, len(reasons))
	for i, x := range reasons {
		rows[i] = view.ReasonRow{Code: x.Code, Label: x.Label}
	}
	return view.ReasonsView{Reasons: rows}, nil
}

func (s *Server) handleReasonsShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.reasonsView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.ReasonsPage(s.page(r, "Rejection reasons", "settings"), v))
}

func (s *Server) handleReasonCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	form := view.ReasonFormView{Code: strings.TrimSpace(r.PostFormValue("code")), Label: strings.TrimSpace(r.PostFormValue("label"))}
	code := form.Code
	if code == "" {
		code = codeFromLabel(form.Label)
	}
	reason, err := s.store.CreateReason(r.Context(), p.TenantID(), p.Actor(), postgres.Reason{Code: code, Label: form.Label}, s.now())
	verrs, invalid := asValidation(err)
	if err != nil && !invalid {
		s.renderError(w, r, err)
		return
	}
	if !invalid {
		s.flash(r, "success", fmt.Sprintf("Reason “%s” (%s) added.", reason.Label, reason.Code))
		s.redirect(w, r, "/settings/reasons")
		return
	}
	if _, ok := verrs["code"]; ok && form.Code == "" && form.Label != "" {
		// The code was made from the label: say so next to the code field.
		if code == "" {
			verrs["code"] = "type a code: none could be made from this label"
		} else {
			verrs["code"] = fmt.Sprintf("the code made from the label, %s, %s: type another", code, verrs["code"])
		}
	}
	v, err := s.reasonsView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v.Form = form
	v.Form.Errors = verrs
	s.render(w, r, http.StatusUnprocessableEntity, view.ReasonsPage(s.page(r, "Rejection reasons", "settings"), v))
}

// codeFromLabel makes a reason code of a label: "No budget (yet)" →
// "no_budget_yet"; letters outside a–z are dropped, so it may be "".
func codeFromLabel(label string) string {
	var words []string
	word := strings.Builder{}
	flush := func() {
		if word.Len() > 0 {
			words = append(words, word.String())
			word.Reset()
		}
	}
	for _, c := range strings.ToLower(label) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			word.WriteRune(c)
		} else {
			flush()
		}
	}
	flush()
	code := strings.Join(words, "_")
	if len(code) > 50 {
		code = strings.TrimRight(code[:50], "_")
	}
	return code
}

// routingView builds the routing page with the saved rules in the editor.
func (s *Server) routingView(r *http.Request, p auth.Principal) (view.RoutingView, error) {
	ctx := r.Context()
	rt, err := s.store.FindRouting(ctx, p.TenantID())
	if err != nil {
		return view.RoutingView{}, err
	}
	teams, err := s.store.FindTeams(ctx, p.TenantID())
	if err != nil {
		return view.RoutingView{}, err
	}
	segments, err := s.store.FindSegments(ctx, p.TenantID())
	if err != nil {
		return view.RoutingView{}, err
	}
	v := view.RoutingView{Saved: rt, Teams: teams, Segments: segments, DefaultTeamID: uuidString(rt.DefaultTeamID)}
	for _, rule := range rt.Rules {
		v.Rows = append(v.Rows, view.RoutingRowView{Segment: strOrEmpty(rule.Segment), Source: strOrEmpty(rule.Source),
			Country: strOrEmpty(rule.Country), TeamID: rule.TeamID.String()})
	}
	v.Rows = withBlankRoutingRow(v.Rows)
	return v, nil
}

// strOrEmpty is *s, or "" for nil.
func strOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// withBlankRoutingRow ends the rows with one empty row for a new rule.
func withBlankRoutingRow(rows []view.RoutingRowView) []view.RoutingRowView {
	if n := len(rows); n == 0 || !rows[n-1].Blank() {
		rows = append(rows, view.RoutingRowView{})
	}
	return rows
}

// editorRows reads the row count of an editor form, bounded.
func editorRows(r *http.Request) int {
	n, err := strconv.Atoi(r.PostFormValue("rows"))
	if err != nil || n < 0 {
		return 0
	}
	return min(n, maxEditorRows)
}

// editorOp splits an editor button's value ("up:3") into verb and row (-1
// when the button names no row); ok is false for a row out of range.
func editorOp(r *http.Request, rows int) (verb string, row int, ok bool) {
	verb, arg, hasArg := strings.Cut(r.PostFormValue("op"), ":")
	if verb == "" {
		verb = "save"
	}
	if !hasArg {
		return verb, -1, true
	}
	i, err := strconv.Atoi(arg)
	if err != nil || i < 0 || i >= rows {
		return "", -1, false
	}
	return verb, i, true
}

func (s *Server) badEditorOp(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusBadRequest, "Unknown action",
		"The form asked for something this editor does not do. Reload the page and try again.")
}

// renderRouting answers an editor action: the editor alone for htmx, which
// swaps it in place, else the whole page.
func (s *Server) renderRouting(w http.ResponseWriter, r *http.Request, status int, v view.RoutingView) {
	pg := s.page(r, "Routing", "settings")
	if isHTMX(r) {
		s.render(w, r, status, view.RoutingEditor(pg, v))
		return
	}
	s.render(w, r, status, view.RoutingPage(pg, v))
}

func (s *Server) handleRoutingShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.routingView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	// Always the whole page: htmx follows a saved form's HX-Location with a
	// GET that replaces the body.
	s.render(w, r, http.StatusOK, view.RoutingPage(s.page(r, "Routing", "settings"), v))
}

// handleRoutingSave is the routing editor's one form: Save stores the rows
// in order; Up, Down, Remove and Add change the rows and show them again,
// unsaved, so the editor works without JavaScript.
func (s *Server) handleRoutingSave(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.routingView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	n := editorRows(r)
	rows := make([]view.RoutingRowView, n)
	for i := range rows {
		rows[i] = view.RoutingRowView{
			Segment: strings.TrimSpace(r.PostFormValue(fmt.Sprintf("rules.%d.segment", i))),
			Source:  strings.TrimSpace(r.PostFormValue(fmt.Sprintf("rules.%d.source", i))),
			Country: strings.ToUpper(strings.TrimSpace(r.PostFormValue(fmt.Sprintf("rules.%d.country", i)))),
			TeamID:  strings.TrimSpace(r.PostFormValue(fmt.Sprintf("rules.%d.team_id", i))),
		}
	}
	v.DefaultTeamID = strings.TrimSpace(r.PostFormValue("default_team_id"))
	verb, i, ok := editorOp(r, n)
	switch {
	case !ok:
		s.badEditorOp(w, r)
		return
	case verb == "save" && i < 0:
		// handled below
	case verb == "add" && i < 0:
		v.Rows, v.Dirty = append(rows, view.RoutingRowView{}), true
		s.renderRouting(w, r, http.StatusOK, v)
		return
	case (verb == "up" || verb == "down" || verb == "remove") && i >= 0:
		switch {
		case verb == "remove":
			rows = slices.Delete(rows, i, i+1)
		case verb == "up" && i > 0:
			rows[i-1], rows[i] = rows[i], rows[i-1]
		case verb == "down" && i+1 < len(rows):
			rows[i], rows[i+1] = rows[i+1], rows[i]
		}
		v.Rows, v.Dirty = withBlankRoutingRow(rows), true
		s.renderRouting(w, r, http.StatusOK, v)
		return
	default:
		s.badEditorOp(w, r)
		return
	}

	// Save: empty rows are dropped first, so rule numbers in messages are
	// the numbers the editor shows when it comes back.
	var filled []view.RoutingRowView
	for _, row := range rows {
		if !row.Blank() {
			filled = append(filled, row)
		}
	}
	var errs validator.Errors
	rt := lead.Routing{DefaultTeamID: optionalUUID(&errs, "default_team_id", v.DefaultTeamID)}
	for i, row := range filled {
		rule := lead.RoutingRule{Segment: nonEmpty(row.Segment), Source: nonEmpty(row.Source), Country: nonEmpty(row.Country)}
		if id := optionalUUID(&errs, fmt.Sprintf("rules.%d.team_id", i), row.TeamID); id != nil {
			rule.TeamID = *id
		}
		rt.Rules = append(rt.Rules, rule)
	}
	if errs == nil {
		err := s.store.ReplaceRouting(r.Context(), p.TenantID(), p.Actor(), rt, s.now())
		var invalid bool
		if errs, invalid = asValidation(err); err != nil && !invalid {
			s.renderError(w, r, err)
			return
		}
	}
	if errs == nil {
		s.flash(r, "success", "Routing saved: "+countOf(len(rt.Rules), "rule", "rules")+".")
		s.redirect(w, r, "/settings/routing")
		return
	}
	for k, m := range lead.ValidateRouting(postgres.NormalizeRouting(rt)) {
		errs.Add(k, m)
	}
	v.Rows, v.Errors, v.Dirty = withBlankRoutingRow(filled), errs, true
	s.renderRouting(w, r, http.StatusUnprocessableEntity, v)
}

// nonEmpty is &s, or nil for "".
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// countOf renders n with the noun in the right number: "1 rule", "3 rules".
func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (s *Server) handleQualificationShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	q, err := s.store.FindQualification(r.Context(), p.TenantID())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := view.QualificationView{Saved: q, Form: view.QualificationFormOf(q)}
	s.render(w, r, http.StatusOK, view.QualificationPage(s.page(r, "Qualification", "settings"), v))
}

// parseQualificationForm reads the form: each part has a switch, and a part
// switched off is saved as off whatever its fields hold.
func parseQualificationForm(r *http.Request) (lead.Qualification, view.QualificationFormView, validator.Errors) {
	f := view.QualificationFormView{
		ProfileOn:     r.PostFormValue("profile") == "on",
		MinScore:      strings.TrimSpace(r.PostFormValue("min_score")),
		RequireICPFit: r.PostFormValue("require_icp_fit") == "true",
		IntentOn:      r.PostFormValue("intent") == "on",
		URLContains:   strings.TrimSpace(r.PostFormValue("url_contains")),
		Count:         strings.TrimSpace(r.PostFormValue("count")),
		WithinHours:   strings.TrimSpace(r.PostFormValue("within_hours")),
	}
	var errs validator.Errors
	var q lead.Qualification
	wholeNumber := func(field, value, hint string) int {
		n, err := strconv.Atoi(value)
		if err != nil {
			errs.Add(field, hint)
		}
		return n
	}
	if f.ProfileOn {
		if f.MinScore != "" {
			n := wholeNumber("min_score", f.MinScore, "must be a whole number from 0 to 100")
			q.MinScore = &n
		}
		q.RequireICPFit = f.RequireICPFit
		errs.Check(q.MinScore != nil || q.RequireICPFit, "min_score",
			"give a minimum score or require an ICP fit, or switch the profile part off")
	}
	if f.IntentOn {
		q.PageViews = &lead.PageViewRule{URLContains: f.URLContains,
			Count:       wholeNumber("page_views.count", f.Count, "must be a whole number from 1 to 1000"),
			WithinHours: wholeNumber("page_views.within_hours", f.WithinHours, "must be a whole number of hours from 1 to 2160")}
	}
	for k, m := range q.Validate() {
		errs.Add(k, m)
	}
	return q, f, errs
}

func (s *Server) handleQualificationSave(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	q, form, errs := parseQualificationForm(r)
	if errs == nil {
		err := s.store.SetQualification(r.Context(), p.TenantID(), p.Actor(), q, s.now())
		var invalid bool
		if errs, invalid = asValidation(err); err != nil && !invalid {
			s.renderError(w, r, err)
			return
		}
	}
	if errs == nil {
		msg := "Qualification rule saved."
		if !q.Active() {
			msg = "Qualification rule switched off: new leads are handed off by people and the API only."
		}
		s.flash(r, "success", msg)
		s.redirect(w, r, "/settings/qualification")
		return
	}
	saved, err := s.store.FindQualification(r.Context(), p.TenantID())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	form.Errors = errs
	s.render(w, r, http.StatusUnprocessableEntity, view.QualificationPage(s.page(r, "Qualification", "settings"),
		view.QualificationView{Saved: saved, Form: form}))
}

// targetBlankRows is how many empty rows the targets editor offers.
const targetBlankRows = 3

func (s *Server) targetsView(r *http.Request, p auth.Principal) (view.TargetsView, error) {
	segments, err := s.store.FindSegments(r.Context(), p.TenantID())
	if err != nil {
		return view.TargetsView{}, err
	}
	return view.TargetsView{Segments: segments, Currency: p.Tenant.Currency,
		CurrentPeriod: s.now().In(p.Tenant.Location()).Format("2006-01")}, nil
}

// renderTargets is renderRouting for the targets editor.
func (s *Server) renderTargets(w http.ResponseWriter, r *http.Request, status int, v view.TargetsView) {
	pg := s.page(r, "Targets", "settings")
	if isHTMX(r) {
		s.render(w, r, status, view.TargetsEditor(pg, v))
		return
	}
	s.render(w, r, status, view.TargetsPage(pg, v))
}

func (s *Server) handleTargetsShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.targetsView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	targets, err := s.store.FindTargets(r.Context(), p.TenantID())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, t := range targets {
		v.Rows = append(v.Rows, view.TargetRowView{Period: t.Period, Segment: t.Segment, Revenue: t.Revenue.String()})
	}
	v.Rows = append(v.Rows, make([]view.TargetRowView, targetBlankRows)...)
	s.render(w, r, http.StatusOK, view.TargetsPage(s.page(r, "Targets", "settings"), v))
}

// handleTargetsSave stores the editor's rows as the tenant's whole set of
// targets: empty rows are skipped, ticked rows removed. Add rows shows the
// editor again with more empty rows.
func (s *Server) handleTargetsSave(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.targetsView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	n := editorRows(r)
	rows := make([]view.TargetRowView, n)
	for i := range rows {
		rows[i] = view.TargetRowView{
			Period:  strings.TrimSpace(r.PostFormValue(fmt.Sprintf("targets.%d.period", i))),
			Segment: strings.TrimSpace(r.PostFormValue(fmt.Sprintf("targets.%d.segment", i))),
			Revenue: strings.TrimSpace(r.PostFormValue(fmt.Sprintf("targets.%d.revenue", i))),
			Remove:  r.PostFormValue(fmt.Sprintf("targets.%d.remove", i)) == "true",
		}
	}
	v.Rows = rows
	verb, i, ok := editorOp(r, n)
	switch {
	case ok && verb == "save" && i < 0:
	case ok && verb == "add" && i < 0:
		v.Rows, v.Dirty = append(rows, make([]view.TargetRowView, targetBlankRows)...), true
		s.renderTargets(w, r, http.StatusOK, v)
		return
	default:
		s.badEditorOp(w, r)
		return
	}

	var errs validator.Errors
	var targets []postgres.Target
	var rowOf []int // target index → row index, to put store errors on rows
	for i, row := range rows {
		if row.Blank() || row.Remove {
			continue
		}
		field := fmt.Sprintf("targets.%d.revenue", i)
		var cents lead.Cents
		if row.Revenue == "" {
			errs.Add(field, "enter an amount, or tick Remove")
		} else if c, err := lead.ParseCents(strings.ReplaceAll(row.Revenue, " ", "")); err != nil {
			errs.Add(field, "must be an amount with at most two decimals and no thousands separators, such as 500000 or 1250.50")
		} else {
			cents = c
		}
		targets = append(targets, postgres.Target{Period: row.Period, Segment: row.Segment, Revenue: cents})
		rowOf = append(rowOf, i)
	}
	if errs == nil {
		_, err := s.store.ReplaceTargets(r.Context(), p.TenantID(), p.Actor(), targets, s.now())
		verrs, invalid := asValidation(err)
		if err != nil && !invalid {
			s.renderError(w, r, err)
			return
		}
		errs = remapIndexed(verrs, "targets.", rowOf)
	} else {
		// Show the rows' other problems too, so one round trip finds them all.
		changes := make([]postgres.TargetChange, len(targets))
		for k, t := range targets {
			changes[k] = postgres.TargetChange{Period: t.Period, Segment: t.Segment, Revenue: &t.Revenue}
		}
		for field, msg := range remapIndexed(postgres.CheckTargets(changes), "targets.", rowOf) {
			errs.Add(field, msg)
		}
	}
	if errs == nil {
		s.flash(r, "success", "Targets saved: "+countOf(len(targets), "target", "targets")+".")
		s.redirect(w, r, "/settings/targets")
		return
	}
	v.Errors, v.Dirty = errs, true
	s.renderTargets(w, r, http.StatusUnprocessableEntity, v)
}

// remapIndexed renames fields "<prefix><k>…" to "<prefix><rowOf[k]>…", so
// errors about the k-th item land on the form row it came from.
func remapIndexed(errs validator.Errors, prefix string, rowOf []int) validator.Errors {
	if errs == nil {
		return nil
	}
	out := validator.Errors{}
	for field, msg := range errs {
		rest, ok := strings.CutPrefix(field, prefix)
		idx, tail, _ := strings.Cut(rest, ".")
		k, err := strconv.Atoi(idx)
		if !ok || err != nil || k < 0 || k >= len(rowOf) {
			out.Add(field, msg)
			continue
		}
		name := prefix + strconv.Itoa(rowOf[k])
		if tail != "" {
			name += "." + tail
		}
		out.Add(name, msg)
	}
	return out
}
