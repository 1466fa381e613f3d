package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/web/view"
)

// ladderText says an escalation ladder in plain words.
func ladderText(steps []sla.Step) []string {
	var out []string
	for _, st := range steps {
		when := "At the breach"
		if st.AfterMinutes > 0 {
			when = sla.DescribeMinutes(st.AfterMinutes) + " later, if still unresolved"
		}
		var who []string
		for _, n := range st.Notify {
			switch {
			case n == "holder":
				who = append(who, "the holder")
			case n == "manager":
				who = append(who, "their manager")
			case strings.HasPrefix(n, "role:"):
				who = append(who, tenant.Role(strings.TrimPrefix(n, "role:")).Label()+"s")
			case strings.HasPrefix(n, "user:"):
				who = append(who, "a named user")
			}
		}
		line := when + ": notify " + strings.Join(who, " and ")
		if len(who) == 0 {
			line = when + ":"
		}
		if st.Reassign {
			line += ", and reassign the lead by routing"
		}
		out = append(out, line)
	}
	return out
}

func clauseView(c sla.Clause, cals map[uuid.UUID]string) view.ClauseView {
	v := view.ClauseView{ID: c.ID.String(), Kind: string(c.Kind), Sentence: c.Describe()}
	var scope []string
	if c.Scope.Segment != nil {
		scope = append(scope, "segment "+*c.Scope.Segment)
	}
	if c.Scope.Source != nil {
		scope = append(scope, "source "+*c.Scope.Source)
	}
	if len(scope) > 0 {
		v.Scope = strings.Join(scope, ", ")
	} else {
		v.Scope = "every lead"
	}
	if c.Kind.Lead() {
		if c.CalendarID != nil {
			v.Calendar = cals[*c.CalendarID]
		} else {
			v.Calendar = "the holder's team calendar"
		}
		v.Warn = fmt.Sprintf("at %d %% of the time", c.WarnAtPercent)
		v.PauseCap = "may add up to " + sla.DescribeMinutes(c.PauseCapMinutes)
		v.Ladder = ladderText(c.Escalation)
	}
	return v
}

func (s *Server) handleAgreementShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	o, err := s.store.FindAgreementOverview(r.Context(), p.TenantID(), s.now(), 20)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	a, versions := o.Agreement, o.Versions
	loc := p.Location()
	names := map[uuid.UUID]string{}
	v := view.AgreementView{Version: a.Version, Author: a.Author, Effective: a.EffectiveFrom.In(loc).Format("2 Jan 2006"), CanEdit: p.Can(auth.PermEditAgreement)}
	for _, c := range o.Calendars {
		names[c.ID] = c.Name
		cv := view.CalendarView{ID: c.ID.String(), Name: c.Name, TimeZone: c.TimeZone, Hours: c.Hours.Describe(), Default: c.IsDefault, AlwaysOpen: c.AlwaysOpen}
		for _, h := range c.Holidays {
			cv.Holidays = append(cv.Holidays, h.Date+" "+h.Name)
		}
		for _, t := range o.Teams {
			if (t.CalendarID != nil && *t.CalendarID == c.ID) || (t.CalendarID == nil && c.IsDefault) {
				cv.Teams = append(cv.Teams, t.Name)
			}
		}
		v.Calendars = append(v.Calendars, cv)
	}
	for _, c := range a.Clauses {
		cv := clauseView(c, names)
		for _, ps := range o.Periods {
			if ps.Clause.ID != c.ID {
				continue
			}
			pv := periodView(ps)
			if ps.Recorded {
				cv.Results = append(cv.Results, pv)
			} else {
				cv.Standing = &pv
			}
		}
		if c.Side == tenant.SideSales {
			v.Sales = append(v.Sales, cv)
		} else {
			v.Marketing = append(v.Marketing, cv)
		}
	}
	for i, ver := range versions {
		var prev []sla.Clause
		if i+1 < len(versions) {
			prev = versions[i+1].Clauses
		}
		v.History = append(v.History, view.VersionView{Version: ver.Version, Author: ver.Author,
			At: ver.EffectiveFrom.In(loc).Format("2 Jan 2006, 15:04"), Changes: diffClauses(prev, ver.Clauses)})
	}
	s.render(w, r, http.StatusOK, view.AgreementPage(s.page(r, "Agreement", "agreement"), v))
}

// periodView phrases a period clause's standing or result.
func periodView(ps postgres.PeriodStanding) view.PeriodView {
	c, r := ps.Clause, ps.Result
	v := view.PeriodView{Label: ps.Label(), Status: string(r.Status), Target: c.FormatActual(r.Target), Actual: "no data",
		Pace: c.Pace(r), FromNext: ps.FromNextPeriod}
	if r.Actual != nil {
		v.Actual = c.FormatActual(*r.Actual)
	}
	return v
}

// diffClauses says what changed between two versions, clause by clause.
func diffClauses(before, after []sla.Clause) []string {
	old := map[uuid.UUID]sla.Clause{}
	for _, c := range before {
		old[c.ID] = c
	}
	var out []string
	seen := map[uuid.UUID]bool{}
	for _, c := range after {
		seen[c.ID] = true
		b, ok := old[c.ID]
		if !ok {
			out = append(out, "Added: "+c.Describe())
			continue
		}
		if d := b.Describe(); d != c.Describe() {
			out = append(out, "Changed: "+d+" → "+c.Describe())
		} else if b.WarnAtPercent != c.WarnAtPercent || b.PauseCapMinutes != c.PauseCapMinutes ||
			fmt.Sprint(b.CalendarID) != fmt.Sprint(c.CalendarID) || fmt.Sprint(b.Escalation) != fmt.Sprint(c.Escalation) {
			out = append(out, "Changed the warning, calendar, pause cap or ladder of: "+c.Describe())
		}
	}
	for _, c := range before {
		if !seen[c.ID] {
			out = append(out, "Removed: "+c.Describe())
		}
	}
	if len(out) == 0 {
		out = []string{"No change to the clauses"}
	}
	return out
}

// clauseForm turns a clause into the editor's fields.
func clauseForm(c sla.Clause) view.ClauseForm {
	f := view.ClauseForm{ID: c.ID.String(), Kind: string(c.Kind), Period: string(c.Period)}
	if c.Scope.Segment != nil {
		f.Segment = *c.Scope.Segment
	}
	if c.Scope.Source != nil {
		f.Source = *c.Scope.Source
	}
	if c.CalendarID != nil {
		f.CalendarID = c.CalendarID.String()
	}
	if c.Kind.Lead() {
		m := c.TargetMinutes
		switch {
		case m >= 960 && m%480 == 0:
			f.Target, f.Unit = strconv.Itoa(m/480), "days"
		case m%60 == 0:
			f.Target, f.Unit = strconv.Itoa(m/60), "hours"
		default:
			f.Target, f.Unit = strconv.Itoa(m), "minutes"
		}
		if c.Kind == sla.KindAttempts {
			f.Attempts = strconv.Itoa(c.Attempts)
		}
		f.Warn = strconv.Itoa(c.WarnAtPercent)
		f.PauseCap = trimFloat(float64(c.PauseCapMinutes) / 60)
		for _, st := range c.Escalation {
			sf := view.StepForm{AfterHours: trimFloat(float64(st.AfterMinutes) / 60), Notify: map[string]bool{}, Reassign: st.Reassign}
			for _, n := range st.Notify {
				sf.Notify[n] = true
			}
			f.Steps = append(f.Steps, sf)
		}
	} else {
		if c.TargetCount != nil {
			f.Count = strconv.Itoa(*c.TargetCount)
		}
		if c.TargetPercent != nil {
			f.Percent = trimFloat(*c.TargetPercent)
		}
		if c.TargetAmount != nil {
			f.Amount = lead.Cents(*c.TargetAmount).String()
		}
	}
	return f
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(strconv.FormatFloat(f, 'f', 2, 64), "0"), ".0")
}

func blankClause() view.ClauseForm {
	return view.ClauseForm{Kind: string(sla.KindRespond), Target: "4", Unit: "hours", Warn: "75", PauseCap: "40", Period: "month",
		Steps: []view.StepForm{{AfterHours: "0", Notify: map[string]bool{"holder": true, "manager": true}}}}
}

// agreementForm fills the editor's choices around its clauses.
func (s *Server) agreementForm(r *http.Request, p auth.Principal, base int, clauses []view.ClauseForm) (view.AgreementForm, error) {
	f := view.AgreementForm{BaseVersion: base, Clauses: clauses}
	segs, err := s.store.FindSegments(r.Context(), p.TenantID())
	if err != nil {
		return f, err
	}
	for _, sg := range segs {
		f.Segments = append(f.Segments, view.Option{Value: sg, Label: sg})
	}
	cals, err := s.store.FindCalendars(r.Context(), p.TenantID())
	if err != nil {
		return f, err
	}
	for _, c := range cals {
		f.Calendars = append(f.Calendars, view.Option{Value: c.ID.String(), Label: c.Name + " (" + c.TimeZone + ")"})
	}
	return f, nil
}

func (s *Server) handleAgreementEdit(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	a, err := s.store.FindAgreement(r.Context(), p.TenantID())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	var forms []view.ClauseForm
	for _, c := range a.Clauses {
		forms = append(forms, clauseForm(c))
	}
	if len(forms) == 0 {
		forms = []view.ClauseForm{blankClause()}
	}
	f, err := s.agreementForm(r, p, a.Version, forms)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.AgreementEditPage(s.page(r, "Edit agreement", "agreement"), f))
}

// parseAgreementForm reads the editor: the forms as typed (to re-render),
// the clauses they make, and field errors keyed by the form's clause index.
func parseAgreementForm(r *http.Request) ([]view.ClauseForm, []sla.Clause, []int, validator.Errors) {
	var errs validator.Errors
	count, _ := strconv.Atoi(r.PostFormValue("count"))
	if count < 0 || count > 200 {
		count = 0
	}
	var forms []view.ClauseForm
	var clauses []sla.Clause
	var index []int // clause i came from form index[i]
	for i := 0; i < count; i++ {
		get := func(field string) string { return strings.TrimSpace(r.PostFormValue(fmt.Sprintf("c%d.%s", i, field))) }
		f := view.ClauseForm{ID: get("id"), Kind: get("kind"), Segment: get("segment"), Source: get("source"), Target: get("target"),
			Unit: get("unit"), Attempts: get("attempts"), Count: get("count"), Percent: get("percent"), Amount: get("amount"),
			Period: get("period"), CalendarID: get("calendar_id"), Warn: get("warn"), PauseCap: get("pause_cap")}
		steps, _ := strconv.Atoi(get("steps"))
		if steps < 0 || steps > 10 {
			steps = 0
		}
		for j := 0; j < steps; j++ {
			sf := view.StepForm{AfterHours: strings.TrimSpace(r.PostFormValue(fmt.Sprintf("c%d.s%d.after", i, j))), Notify: map[string]bool{},
				Reassign: r.PostFormValue(fmt.Sprintf("c%d.s%d.reassign", i, j)) == "1"}
			for _, n := range r.PostForm[fmt.Sprintf("c%d.s%d.notify", i, j)] {
				sf.Notify[n] = true
			}
			f.Steps = append(f.Steps, sf)
		}
		if get("remove") == "1" {
			continue
		}
		forms = append(forms, f)
		fi := len(forms) - 1
		field := func(name string) string { return fmt.Sprintf("clauses.%d.%s", fi, name) }
		c := sla.Clause{Kind: sla.Kind(f.Kind), Period: sla.Period(f.Period)}
		if id, err := uuid.Parse(f.ID); err == nil {
			c.ID = id
		}
		if f.Segment != "" {
			v := f.Segment
			c.Scope.Segment = &v
		}
		if f.Source != "" {
			v := f.Source
			c.Scope.Source = &v
		}
		c.CalendarID = optionalUUID(&errs, field("calendar_id"), f.CalendarID)
		num := func(name, v string, dst *float64) bool {
			if v == "" {
				return false
			}
			x, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", "."), 64)
			if err != nil || x < 0 {
				errs.Add(field(name), "must be a number")
				return false
			}
			*dst = x
			return true
		}
		var x float64
		if c.Kind.Lead() {
			if num("target_minutes", f.Target, &x) {
				mult := 60.0
				switch f.Unit {
				case "minutes":
					mult = 1
				case "days":
					mult = 480
				}
				c.TargetMinutes = int(x*mult + 0.5)
			}
			if c.Kind == sla.KindAttempts && num("attempts", f.Attempts, &x) {
				c.Attempts = int(x)
			}
			if num("warn_at_percent", f.Warn, &x) {
				c.WarnAtPercent = int(x)
			}
			if f.PauseCap != "" && num("pause_cap_minutes", f.PauseCap, &x) {
				c.PauseCapMinutes = int(x*60 + 0.5)
				if c.PauseCapMinutes == 0 {
					c.PauseCapMinutes = -1
				}
			}
			c.Escalation = []sla.Step{}
			for j, sf := range f.Steps {
				var after float64
				if sf.AfterHours != "" {
					if v, err := strconv.ParseFloat(strings.ReplaceAll(sf.AfterHours, ",", "."), 64); err == nil && v >= 0 {
						after = v
					} else {
						errs.Add(fmt.Sprintf("clauses.%d.escalation.%d.after_minutes", fi, j), "must be a number of hours")
					}
				}
				st := sla.Step{AfterMinutes: int(after*60 + 0.5), Reassign: sf.Reassign}
				for _, n := range []string{"holder", "manager", "role:admin", "role:marketing"} {
					if sf.Notify[n] {
						st.Notify = append(st.Notify, n)
					}
				}
				if len(st.Notify) == 0 && !st.Reassign {
					continue // an empty row is no step
				}
				c.Escalation = append(c.Escalation, st)
			}
		} else {
			if num("target_count", f.Count, &x) {
				n := int(x)
				c.TargetCount = &n
			}
			if num("target_percent", f.Percent, &x) {
				v := x
				c.TargetPercent = &v
			}
			if f.Amount != "" {
				if cents, err := lead.ParseCents(strings.ReplaceAll(f.Amount, ",", "")); err == nil {
					v := int64(cents)
					c.TargetAmount = &v
				} else {
					errs.Add(field("target_amount"), "must be an amount such as 250000")
				}
			}
		}
		c.Normalize()
		if c.PauseCapMinutes == -1 {
			c.PauseCapMinutes = 0
		}
		clauses = append(clauses, c)
		index = append(index, fi)
	}
	return forms, clauses, index, errs.OrNil()
}

func (s *Server) handleAgreementSave(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	base, _ := strconv.Atoi(r.PostFormValue("base_version"))
	forms, clauses, _, errs := parseAgreementForm(r)
	action := r.PostFormValue("action")
	rerender := func(status int, f view.AgreementForm) {
		s.render(w, r, status, view.AgreementEditPage(s.page(r, "Edit agreement", "agreement"), f))
	}
	switch {
	case action == "add":
		forms = append(forms, blankClause())
		f, err := s.agreementForm(r, p, base, forms)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		rerender(http.StatusOK, f)
		return
	case strings.HasPrefix(action, "add_step:"):
		i, err := strconv.Atoi(strings.TrimPrefix(action, "add_step:"))
		if err == nil && i >= 0 && i < len(forms) {
			forms[i].Steps = append(forms[i].Steps, view.StepForm{AfterHours: "4", Notify: map[string]bool{"role:admin": true}})
		}
		f, ferr := s.agreementForm(r, p, base, forms)
		if ferr != nil {
			s.renderError(w, r, ferr)
			return
		}
		rerender(http.StatusOK, f)
		return
	case action == "preview":
		f, err := s.agreementForm(r, p, base, forms)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if errs == nil {
			pv, err := s.store.PreviewAgreement(r.Context(), p.TenantID(), clauses, s.now())
			if verrs, ok := asValidation(err); ok {
				errs = verrs
			} else if err != nil {
				s.renderError(w, r, err)
				return
			} else {
				v := previewView(pv)
				f.Preview = &v
			}
		}
		f.Errors = errs
		rerender(statusFor(errs), f)
		return
	}
	apply := r.PostFormValue("apply_to_running")
	if apply != "true" && apply != "false" {
		errs.Add("apply_to_running", "choose whether the new version applies to running timers")
	}
	if errs == nil {
		a, err := s.store.SaveAgreement(r.Context(), p.TenantID(), p.Actor(),
			postgres.SaveAgreementInput{BaseVersion: base, Clauses: clauses, ApplyToRunning: apply == "true"}, s.now())
		switch {
		case errors.Is(err, postgres.ErrConflict):
			errs = validator.Errors{"_form": "Someone saved a new version meanwhile. Reload the editor to start from it; nothing of yours was saved."}
		case err != nil:
			if verrs, ok := asValidation(err); ok {
				errs = verrs
				break
			}
			s.renderError(w, r, err)
			return
		default:
			msg := fmt.Sprintf("Version %d saved.", a.Version)
			if apply == "true" {
				msg += " Running timers are being recomputed under it."
			} else {
				msg += " Running timers keep the version they started under."
			}
			s.flash(r, "success", msg)
			s.redirect(w, r, "/agreement")
			return
		}
	}
	f, err := s.agreementForm(r, p, base, forms)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f.Errors = errs
	if _, ok := errs["_form"]; ok {
		rerender(http.StatusConflict, f)
		return
	}
	rerender(http.StatusUnprocessableEntity, f)
}

func statusFor(errs validator.Errors) int {
	if errs != nil {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

func previewView(pv postgres.Preview) view.PreviewView {
	lines := func(rs []postgres.PreviewRow) []view.PreviewLine {
		var out []view.PreviewLine
		for _, r := range rs {
			out = append(out, view.PreviewLine{Name: orUnknown(r.Name), Current: [2]int{r.Current.Met, r.Current.Breached},
				Proposed: [2]int{r.Proposed.Met, r.Proposed.Breached}})
		}
		return out
	}
	return view.PreviewView{Days: pv.Days, Leads: pv.Leads, Current: [2]int{pv.Current.Met, pv.Current.Breached},
		Proposed: [2]int{pv.Proposed.Met, pv.Proposed.Breached}, ByTeam: lines(pv.ByTeam), ByRep: lines(pv.ByRep),
		Elapsed: pv.Elapsed.Round(time.Millisecond).String()}
}

func orUnknown(s string) string {
	if s == "" {
		return "(no longer a member)"
	}
	return s
}

// handleAgreementPreview answers the editor's preview button in place.
func (s *Server) handleAgreementPreview(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	_, clauses, _, errs := parseAgreementForm(r)
	if errs == nil {
		pv, err := s.store.PreviewAgreement(r.Context(), p.TenantID(), clauses, s.now())
		if verrs, ok := asValidation(err); ok {
			errs = verrs
		} else if err != nil {
			s.renderError(w, r, err)
			return
		} else {
			s.render(w, r, http.StatusOK, view.PreviewPanel(previewView(pv)))
			return
		}
	}
	s.render(w, r, http.StatusUnprocessableEntity, view.FormErrorsList(errs))
}

var weekdayLabels = []struct{ key, label string }{
	{"mon", "Monday"}, {"tue", "Tuesday"}, {"wed", "Wednesday"}, {"thu", "Thursday"}, {"fri", "Friday"}, {"sat", "Saturday"}, {"sun", "Sunday"},
}

func calendarForm(c sla.Calendar) view.CalendarForm {
	f := view.CalendarForm{ID: c.ID.String(), Name: c.Name, TimeZone: c.TimeZone, AlwaysOpen: c.AlwaysOpen}
	if c.ID == uuid.Nil {
		f.ID = ""
	}
	for i, d := range weekdayLabels {
		wd := sla.DayOrder[i]
		var parts []string
		for _, iv := range c.Hours[wd] {
			parts = append(parts, sla.FormatClock(iv.Start)+"-"+sla.FormatClock(iv.End))
		}
		f.Days = append(f.Days, view.DayHours{Key: d.key, Label: d.label, Value: strings.Join(parts, ", ")})
	}
	var lines []string
	for _, h := range c.Holidays {
		lines = append(lines, h.Date+" "+h.Name)
	}
	f.Holidays = strings.Join(lines, "\n")
	return f
}

// parseCalendarForm reads the calendar editor into a validated input.
func parseCalendarForm(r *http.Request, id string) (view.CalendarForm, sla.CalendarInput, validator.Errors) {
	f := view.CalendarForm{ID: id, Name: r.PostFormValue("name"), TimeZone: r.PostFormValue("time_zone"),
		AlwaysOpen: r.PostFormValue("always_open") == "1", Holidays: r.PostFormValue("holidays")}
	raw := map[string][][]string{}
	var errs validator.Errors
	for _, d := range weekdayLabels {
		v := strings.TrimSpace(r.PostFormValue("hours_" + d.key))
		f.Days = append(f.Days, view.DayHours{Key: d.key, Label: d.label, Value: v})
		if v == "" {
			continue
		}
		for _, part := range strings.Split(v, ",") {
			a, b, ok := strings.Cut(strings.TrimSpace(part), "-")
			if !ok {
				errs.Add("hours."+d.key, "write intervals like 09:00-12:00, 13:00-17:30")
				break
			}
			raw[d.key] = append(raw[d.key], []string{strings.TrimSpace(a), strings.TrimSpace(b)})
		}
	}
	week, werrs := sla.ParseWeek(raw)
	for k, v := range werrs {
		errs.Add(k, v)
	}
	in := sla.CalendarInput{Name: f.Name, TimeZone: f.TimeZone, AlwaysOpen: f.AlwaysOpen, Hours: week}
	for n, line := range strings.Split(f.Holidays, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		date, name, _ := strings.Cut(line, " ")
		if strings.TrimSpace(name) == "" {
			errs.Add("holidays", fmt.Sprintf("line %d: write the date and a name, e.g. 2026-12-25 Christmas Day", n+1))
			continue
		}
		in.Holidays = append(in.Holidays, sla.Holiday{Date: date, Name: strings.TrimSpace(name)})
	}
	in.Normalize()
	for k, v := range in.Validate() {
		if strings.HasPrefix(k, "holidays.") {
			k = "holidays"
		}
		errs.Add(k, v)
	}
	return f, in, errs.OrNil()
}

func (s *Server) handleCalendarNew(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	f := calendarForm(sla.Calendar{TimeZone: p.Tenant.TimeZone, Hours: sla.DefaultWeek()})
	s.render(w, r, http.StatusOK, view.CalendarPage(s.page(r, "New calendar", "agreement"), f))
}

func (s *Server) handleCalendarEdit(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	c, err := s.store.FindCalendar(r.Context(), p.TenantID(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.CalendarPage(s.page(r, "Edit calendar", "agreement"), calendarForm(c)))
}

func (s *Server) handleCalendarSave(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	idParam := chi.URLParam(r, "id")
	var id uuid.UUID
	if idParam != "" {
		var err error
		if id, err = uuid.Parse(idParam); err != nil {
			s.renderError(w, r, postgres.ErrNotFound)
			return
		}
	}
	f, in, errs := parseCalendarForm(r, idParam)
	if errs == nil {
		var err error
		if id == uuid.Nil {
			_, err = s.store.CreateCalendar(r.Context(), p.TenantID(), p.Actor(), in, s.now())
		} else {
			_, err = s.store.UpdateCalendar(r.Context(), p.TenantID(), p.Actor(), id, in, s.now())
		}
		if verrs, ok := asValidation(err); ok {
			errs = verrs
		} else if err != nil {
			s.renderError(w, r, err)
			return
		} else {
			s.flash(r, "success", "Calendar "+in.Name+" saved; running timers on it are recomputed.")
			s.redirect(w, r, "/agreement")
			return
		}
	}
	f.Errors = errs
	s.render(w, r, http.StatusUnprocessableEntity, view.CalendarPage(s.page(r, "Calendar", "agreement"), f))
}

// timeLeft renders the time until due: "2 h 5 min", "overdue by 12 min".
func timeLeft(due, now time.Time) string {
	if !due.After(now) {
		return "overdue by " + waitingText(due, now)
	}
	return waitingText(now, due)
}

func (s *Server) handleBreachList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	q := r.URL.Query()
	tab := q.Get("tab")
	if tab != "at_risk" && tab != "breached" && tab != "resolved" {
		tab = "open"
	}
	f, errs := slaFilter(r, tab == "breached")
	if errs != nil {
		s.renderError(w, r, errs)
		return
	}
	v := view.BreachesView{Tab: tab, Filter: view.BreachFilterView{Side: f.Side, Kind: f.Kind, TeamID: q.Get("team_id"), HolderID: q.Get("holder_id")}}
	now := s.now()
	loc := p.Location()
	if tab == "resolved" {
		// The timers behind a compliance figure: its period and lead
		// filters, read as the dashboard reads them.
		period, perrs := metric.ParsePeriod(q.Get(metric.KeyPeriod), q.Get(metric.KeyFrom), q.Get(metric.KeyTo), p.Tenant.Location(), now)
		lf, ferrs := metric.ParseFilter(q)
		if perrs != nil || ferrs != nil {
			s.renderError(w, r, metric.Merge(perrs, ferrs))
			return
		}
		f.Resolved = &postgres.TimeRange{From: period.From, To: period.To}
		f.Segment, f.Source, f.Campaign = metric.Arg(lf.Segment), metric.Arg(lf.Source), metric.Arg(lf.Campaign)
		v.PeriodLabel = period.Label()
		from, to := period.Dates()
		v.Keep = []view.Option{{Value: metric.KeyFrom, Label: from}, {Value: metric.KeyTo, Label: to}}
		for _, k := range []string{metric.KeySegment, metric.KeySource, metric.KeyCampaign} {
			if x := q.Get(k); x != "" {
				v.Keep = append(v.Keep, view.Option{Value: k, Label: x})
			}
		}
		page, err := s.store.FindTimers(r.Context(), p.TenantID(), f)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		for _, t := range page.Items {
			row := view.TimerRowView{LeadID: t.LeadID.String(), LeadName: t.LeadName, Kind: kindName(t.Kind), Side: t.Side, Holder: t.HolderName,
				Due: t.DueAt.In(loc).Format("Mon 2 Jan, 15:04"), Status: t.Status}
			if t.Status == "met" && t.StoppedAt != nil {
				row.Resolved = "met " + t.StoppedAt.In(loc).Format("Mon 2 Jan, 15:04")
			}
			v.Timers = append(v.Timers, row)
		}
		if page.NextCursor != "" {
			nq := cloneQuery(q)
			nq.Set("cursor", page.NextCursor)
			v.NextURL = "/breaches?" + nq.Encode()
		}
		if err := s.fillBreachFilters(r, p, &v); err != nil {
			s.renderError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, view.BreachesPage(s.page(r, "Breaches", "breaches"), v))
		return
	}
	next := func(cursor string) {
		if cursor == "" {
			return
		}
		nq := cloneQuery(q)
		nq.Set("cursor", cursor)
		nq.Set("tab", tab)
		v.NextURL = "/breaches?" + nq.Encode()
	}
	if tab == "breached" {
		page, err := s.store.FindBreaches(r.Context(), p.TenantID(), f)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		for _, b := range page.Items {
			v.Breaches = append(v.Breaches, breachRow(p, b, loc))
		}
		next(page.NextCursor)
	} else {
		f.Statuses = []string{"running"}
		if tab == "at_risk" {
			f.Statuses = []string{"at_risk"}
		}
		page, err := s.store.FindTimers(r.Context(), p.TenantID(), f)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		for _, t := range page.Items {
			v.Timers = append(v.Timers, view.TimerRowView{LeadID: t.LeadID.String(), LeadName: t.LeadName, Kind: kindName(t.Kind),
				Side: t.Side, Holder: t.HolderName, Due: t.DueAt.In(loc).Format("Mon 2 Jan, 15:04"), Left: timeLeft(t.DueAt, now),
				AtRisk: t.Status == "at_risk"})
		}
		next(page.NextCursor)
	}
	if err := s.fillBreachFilters(r, p, &v); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.BreachesPage(s.page(r, "Breaches", "breaches"), v))
}

func kindName(k string) string {
	switch k {
	case "respond":
		return "Respond"
	case "first_touch":
		return "First touch"
	case "attempts":
		return "Attempts"
	case "recycle":
		return "Recycle"
	}
	return k
}

func (s *Server) fillBreachFilters(r *http.Request, p auth.Principal, v *view.BreachesView) error {
	teams, err := s.store.FindTeams(r.Context(), p.TenantID())
	if err != nil {
		return err
	}
	for _, t := range teams {
		v.Teams = append(v.Teams, view.Option{Value: t.ID.String(), Label: t.Name})
	}
	members, err := s.store.FindMembers(r.Context(), p.TenantID())
	if err != nil {
		return err
	}
	for _, m := range members {
		v.Holders = append(v.Holders, view.Option{Value: m.ID.String(), Label: m.Name})
	}
	return nil
}

// breachRow decides which actions the viewer may take on a breach.
func breachRow(p auth.Principal, b postgres.Breach, loc *time.Location) view.BreachRowView {
	v := view.BreachRowView{ID: b.ID.String(), LeadID: b.LeadID.String(), LeadName: b.LeadName, Kind: kindName(b.Kind), Side: b.Side,
		Holder: b.HolderName, Team: b.TeamName, BreachedAt: b.BreachedAt.In(loc).Format("Mon 2 Jan, 15:04"), Level: b.EscalationLevel,
		Excused: b.Excused(), ExcuseReason: b.ExcuseReason, Requester: b.ExcuseRequester, Resolved: b.Resolved}
	if b.AcknowledgedAt != nil {
		v.Acknowledged = b.AcknowledgedBy + ", " + b.AcknowledgedAt.In(loc).Format("2 Jan 15:04")
	}
	holder := b.HolderID != nil && *b.HolderID == p.ID
	lead := p.Can(auth.PermManageTeamLeads) || p.Can(auth.PermEditAgreement)
	v.CanAck = b.AcknowledgedAt == nil && !v.Excused && (holder || lead || (b.Side == "marketing" && p.Can(auth.PermHandoff)))
	v.CanRequest = !v.Excused && b.ExcuseRequestedBy == nil && (lead || (b.Side == "marketing" && p.Can(auth.PermHandoff)))
	v.CanApprove = !v.Excused && b.ExcuseRequestedBy != nil && *b.ExcuseRequestedBy != p.ID && p.Can(auth.PermEditAgreement)
	return v
}

func (s *Server) breachAction(w http.ResponseWriter, r *http.Request, may func(view.BreachRowView) bool,
	act func(p auth.Principal, id uuid.UUID) (postgres.Breach, error), done string) {
	p, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	b, err := s.store.FindBreach(r.Context(), p.TenantID(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if !may(breachRow(p, b, p.Location())) {
		s.renderError(w, r, auth.ErrForbidden)
		return
	}
	nb, err := act(p, id)
	if verrs, ok := asValidation(err); ok {
		row := breachRow(p, b, p.Location())
		row.Errors = verrs
		s.render(w, r, http.StatusUnprocessableEntity, view.BreachRow(s.page(r, "Breaches", "breaches"), row))
		return
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	row := breachRow(p, nb, p.Location())
	row.Message = done
	s.render(w, r, http.StatusOK, view.BreachRow(s.page(r, "Breaches", "breaches"), row))
}

func (s *Server) handleBreachAcknowledge(w http.ResponseWriter, r *http.Request) {
	s.breachAction(w, r, func(v view.BreachRowView) bool { return v.CanAck }, func(p auth.Principal, id uuid.UUID) (postgres.Breach, error) {
		return s.store.AcknowledgeBreach(r.Context(), p.TenantID(), p, id, s.now())
	}, "Acknowledged.")
}

func (s *Server) handleBreachExcuse(w http.ResponseWriter, r *http.Request) {
	s.breachAction(w, r, func(v view.BreachRowView) bool { return v.CanRequest }, func(p auth.Principal, id uuid.UUID) (postgres.Breach, error) {
		return s.store.RequestExcuse(r.Context(), p.TenantID(), p, id, r.PostFormValue("reason"), s.now())
	}, "Excuse asked; a second person approves it.")
}

func (s *Server) handleBreachApprove(w http.ResponseWriter, r *http.Request) {
	s.breachAction(w, r, func(v view.BreachRowView) bool { return v.CanApprove }, func(p auth.Principal, id uuid.UUID) (postgres.Breach, error) {
		return s.store.ApproveExcuse(r.Context(), p.TenantID(), p, id, s.now())
	}, "Excused: it no longer counts against compliance.")
}
