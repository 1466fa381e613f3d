package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/internal/webhook"
)

// scopeJSON is a clause's scope (API.md).
type scopeJSON struct {
	Segment *string `json:"segment"`
	Source  *string `json:"source"`
}

type stepBody struct {
	AfterMinutes int      `json:"after_minutes"`
	Notify       []string `json:"notify"`
	Reassign     bool     `json:"reassign"`
}

// clauseBody is a clause as the API reads and writes it.
type clauseBody struct {
	ID              *string    `json:"id,omitempty"`
	Side            string     `json:"side"`
	Kind            string     `json:"kind"`
	TargetMinutes   *int       `json:"target_minutes,omitempty"`
	Attempts        *int       `json:"attempts,omitempty"`
	TargetCount     *int       `json:"target_count,omitempty"`
	TargetPercent   *float64   `json:"target_percent,omitempty"`
	TargetAmount    *money     `json:"target_amount,omitempty"`
	Period          *string    `json:"period,omitempty"`
	Scope           *scopeJSON `json:"scope"`
	CalendarID      *string    `json:"calendar_id"`
	WarnAtPercent   *int       `json:"warn_at_percent,omitempty"`
	PauseCapMinutes *int       `json:"pause_cap_minutes,omitempty"`
	Escalation      []stepBody `json:"escalation,omitempty"`
}

func toClauseBody(c sla.Clause) clauseBody {
	id := c.ID.String()
	b := clauseBody{ID: &id, Side: string(c.Side), Kind: string(c.Kind), Scope: &scopeJSON{Segment: c.Scope.Segment, Source: c.Scope.Source},
		CalendarID: idPtr(c.CalendarID)}
	if c.Kind.Lead() {
		b.TargetMinutes, b.WarnAtPercent, b.PauseCapMinutes = &c.TargetMinutes, &c.WarnAtPercent, &c.PauseCapMinutes
		b.Escalation = []stepBody{}
		for _, s := range c.Escalation {
			notify := s.Notify
			if notify == nil {
				notify = []string{}
			}
			b.Escalation = append(b.Escalation, stepBody{AfterMinutes: s.AfterMinutes, Notify: notify, Reassign: s.Reassign})
		}
		if c.Kind == sla.KindAttempts {
			b.Attempts = &c.Attempts
		}
	} else {
		p := string(c.Period)
		b.Period, b.TargetCount, b.TargetPercent = &p, c.TargetCount, c.TargetPercent
		if c.TargetAmount != nil {
			m := money(*c.TargetAmount)
			b.TargetAmount = &m
		}
	}
	return b
}

// clause reads a clause body; field errors are prefixed "clauses.N.".
func (b clauseBody) clause(i int, errs *validator.Errors) sla.Clause {
	f := func(name string) string { return "clauses." + strconv.Itoa(i) + "." + name }
	c := sla.Clause{Side: tenant.Side(b.Side), Kind: sla.Kind(b.Kind), TargetCount: b.TargetCount, TargetPercent: b.TargetPercent}
	if b.ID != nil && *b.ID != "" {
		if id, err := uuid.Parse(*b.ID); err == nil {
			c.ID = id
		} else {
			errs.Add(f("id"), "is not a valid id")
		}
	}
	if b.Kind == "" {
		errs.Add(f("kind"), "is required")
	}
	if b.Side == "" && c.Kind.Valid() {
		c.Side = c.Kind.Side()
	}
	if b.TargetMinutes != nil {
		c.TargetMinutes = *b.TargetMinutes
	}
	if b.Attempts != nil {
		c.Attempts = *b.Attempts
	}
	if b.TargetAmount != nil {
		v := int64(*b.TargetAmount)
		c.TargetAmount = &v
	}
	if b.Period != nil {
		c.Period = sla.Period(*b.Period)
	}
	if b.Scope != nil {
		c.Scope = sla.Scope{Segment: b.Scope.Segment, Source: b.Scope.Source}
	}
	c.CalendarID = parseIDField(errs, f("calendar_id"), b.CalendarID)
	if b.WarnAtPercent != nil {
		c.WarnAtPercent = *b.WarnAtPercent
	}
	if b.PauseCapMinutes != nil {
		c.PauseCapMinutes = *b.PauseCapMinutes
		if c.PauseCapMinutes == 0 {
			c.PauseCapMinutes = -1 // an explicit 0 is no pause at all, not "the default"
		}
	}
	if b.Escalation != nil {
		c.Escalation = []sla.Step{}
		for _, s := range b.Escalation {
			c.Escalation = append(c.Escalation, sla.Step{AfterMinutes: s.AfterMinutes, Notify: s.Notify, Reassign: s.Reassign})
		}
	}
	c.Normalize()
	if c.PauseCapMinutes == -1 {
		c.PauseCapMinutes = 0
	}
	return c
}

// agreementJSON is the version in force (API.md GET /agreement).
type agreementJSON struct {
	Version       int          `json:"version"`
	EffectiveFrom *time.Time   `json:"effective_from"`
	Author        *string      `json:"author"`
	Clauses       []clauseBody `json:"clauses"`
}

func toAgreementJSON(a sla.Agreement) agreementJSON {
	j := agreementJSON{Version: a.Version, Clauses: []clauseBody{}}
	if a.Version > 0 {
		j.EffectiveFrom, j.Author = &a.EffectiveFrom, &a.Author
	}
	for _, c := range a.Clauses {
		j.Clauses = append(j.Clauses, toClauseBody(c))
	}
	return j
}

func (s *Server) handleAPIAgreementShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	a, err := s.store.FindAgreement(r.Context(), p.TenantID())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAgreementJSON(a))
}

type agreementBody struct {
	BaseVersion    *int         `json:"base_version"`
	Clauses        []clauseBody `json:"clauses"`
	ApplyToRunning bool         `json:"apply_to_running"`
}

func (b agreementBody) input() (postgres.SaveAgreementInput, validator.Errors) {
	var errs validator.Errors
	in := postgres.SaveAgreementInput{ApplyToRunning: b.ApplyToRunning}
	if b.BaseVersion == nil {
		errs.Add("base_version", "is required: the version you edited (0 for a new tenant)")
	} else {
		in.BaseVersion = *b.BaseVersion
	}
	errs.Check(b.Clauses != nil, "clauses", "is required (an empty list removes every clause)")
	for i, c := range b.Clauses {
		in.Clauses = append(in.Clauses, c.clause(i, &errs))
	}
	return in, errs.OrNil()
}

func (s *Server) handleAPIAgreementReplace(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body agreementBody
	if !decodeJSON(w, r, &body) {
		return
	}
	in, errs := body.input()
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	a, err := s.store.SaveAgreement(r.Context(), p.TenantID(), p.Actor(), in, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toAgreementJSON(a))
}

type outcomeJSON struct {
	Met      int `json:"met"`
	Breached int `json:"breached"`
}

type previewRowJSON struct {
	ID       *string     `json:"id"`
	Name     string      `json:"name"`
	Current  outcomeJSON `json:"current"`
	Proposed outcomeJSON `json:"proposed"`
}

// previewJSON is API.md's preview answer.
type previewJSON struct {
	Days      int              `json:"days"`
	Leads     int              `json:"leads"`
	Current   outcomeJSON      `json:"current"`
	Proposed  outcomeJSON      `json:"proposed"`
	ByTeam    []previewRowJSON `json:"by_team"`
	ByRep     []previewRowJSON `json:"by_rep"`
	ElapsedMS int64            `json:"elapsed_ms"`
}

func toPreviewJSON(pv postgres.Preview) previewJSON {
	rows := func(rs []postgres.PreviewRow) []previewRowJSON {
		out := []previewRowJSON{}
		for _, r := range rs {
			out = append(out, previewRowJSON{ID: idPtr(r.ID), Name: r.Name, Current: outcomeJSON(r.Current), Proposed: outcomeJSON(r.Proposed)})
		}
		return out
	}
	return previewJSON{Days: pv.Days, Leads: pv.Leads, Current: outcomeJSON(pv.Current), Proposed: outcomeJSON(pv.Proposed),
		ByTeam: rows(pv.ByTeam), ByRep: rows(pv.ByRep), ElapsedMS: pv.Elapsed.Milliseconds()}
}

func (s *Server) handleAPIAgreementPreview(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body agreementBody
	if !decodeJSON(w, r, &body) {
		return
	}
	if body.BaseVersion == nil {
		zero := 0
		body.BaseVersion = &zero // a preview saves nothing; the base is optional
	}
	in, errs := body.input()
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	pv, err := s.store.PreviewAgreement(r.Context(), p.TenantID(), in.Clauses, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPreviewJSON(pv))
}

// timerJSONOf turns a stored timer into the API form.
func timerJSONOf(t postgres.Timer) timerJSON {
	return timerJSON{ID: t.ID.String(), LeadID: t.LeadID.String(), ClauseID: t.ClauseID.String(), AgreementVersion: t.AgreementVersion,
		Side: t.Side, Kind: t.Kind, Status: t.Status, StartedAt: t.StartedAt, DueAt: t.DueAt, StoppedAt: t.StoppedAt,
		BreachedAt: t.BreachedAt, HolderID: idPtr(t.HolderID), PausedMinutes: t.PausedMinutes}
}

// slaFilter reads the filters shared by GET /timers and GET /breaches.
func slaFilter(r *http.Request, breaches bool) (postgres.SLAFilter, validator.Errors) {
	q := r.URL.Query()
	var errs validator.Errors
	f := postgres.SLAFilter{Side: q.Get("side"), Kind: q.Get("kind"), Cursor: q.Get("cursor")}
	errs.Check(f.Side == "" || tenant.Side(f.Side).Valid(), "side", "must be marketing or sales")
	errs.Check(f.Kind == "" || (sla.Kind(f.Kind).Valid() && sla.Kind(f.Kind).Lead()), "kind", "must be respond, first_touch, attempts or recycle")
	if st := q.Get("status"); st != "" && !breaches {
		for _, part := range strings.Split(st, ",") {
			part = strings.TrimSpace(part)
			errs.Check(part == "running" || part == "at_risk" || part == "met" || part == "breached" || part == "cancelled", "status",
				"must be running, at_risk, met, breached or cancelled")
			f.Statuses = append(f.Statuses, part)
		}
	}
	f.LeadID = optionalUUID(&errs, "lead_id", q.Get("lead_id"))
	f.HolderID = optionalUUID(&errs, "holder_id", q.Get("holder_id"))
	f.TeamID = optionalUUID(&errs, "team_id", q.Get("team_id"))
	f.ClauseID = optionalUUID(&errs, "clause_id", q.Get("clause_id"))
	if v := q.Get("since"); v != "" && breaches {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs.Add("since", "must be an RFC 3339 time such as 2026-10-01T00:00:00Z")
		} else {
			f.Since = &t
		}
	}
	f.Limit = 50
	if v := q.Get("limit"); v != "" {
		n, ok := parseLimit(v)
		if !ok {
			errs.Add("limit", "must be a whole number from 1 to 500")
		}
		f.Limit = n
	}
	return f, errs.OrNil()
}

func (s *Server) handleAPITimerList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	f, errs := slaFilter(r, false)
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	page, err := s.store.FindTimers(r.Context(), p.TenantID(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	resp := listResponse[timerJSON]{Data: []timerJSON{}}
	for _, t := range page.Items {
		resp.Data = append(resp.Data, timerJSONOf(t))
	}
	if page.NextCursor != "" {
		resp.NextCursor = &page.NextCursor
	}
	writeJSON(w, http.StatusOK, resp)
}

// breachJSON is API.md's breach.
type breachJSON struct {
	ID              string     `json:"id"`
	TimerID         string     `json:"timer_id"`
	LeadID          string     `json:"lead_id"`
	Side            string     `json:"side"`
	Kind            string     `json:"kind"`
	HolderID        *string    `json:"holder_id"`
	TeamID          *string    `json:"team_id"`
	DueAt           time.Time  `json:"due_at"`
	BreachedAt      time.Time  `json:"breached_at"`
	DetectedAt      time.Time  `json:"detected_at"`
	EscalationLevel int        `json:"escalation_level"`
	AcknowledgedAt  *time.Time `json:"acknowledged_at"`
	Excused         bool       `json:"excused"`
	ExcuseReason    *string    `json:"excuse_reason"`
}

func toBreachJSON(b postgres.Breach) breachJSON {
	j := breachJSON{ID: b.ID.String(), TimerID: b.TimerID.String(), LeadID: b.LeadID.String(), Side: b.Side, Kind: b.Kind,
		HolderID: idPtr(b.HolderID), TeamID: idPtr(b.TeamID), DueAt: b.DueAt, BreachedAt: b.BreachedAt, DetectedAt: b.DetectedAt,
		EscalationLevel: b.EscalationLevel, AcknowledgedAt: b.AcknowledgedAt, Excused: b.Excused()}
	if b.ExcuseReason != "" {
		j.ExcuseReason = &b.ExcuseReason
	}
	return j
}

func (s *Server) handleAPIBreachList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	f, errs := slaFilter(r, true)
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	page, err := s.store.FindBreaches(r.Context(), p.TenantID(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	resp := listResponse[breachJSON]{Data: []breachJSON{}}
	for _, b := range page.Items {
		resp.Data = append(resp.Data, toBreachJSON(b))
	}
	if page.NextCursor != "" {
		resp.NextCursor = &page.NextCursor
	}
	writeJSON(w, http.StatusOK, resp)
}

// webhookJSON is a webhook endpoint; the secret only in the create answer.
type webhookJSON struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Format    string    `json:"format"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	Secret    string    `json:"secret,omitempty"`
}

func toWebhookJSON(e postgres.WebhookEndpoint) webhookJSON {
	return webhookJSON{ID: e.ID.String(), URL: e.URL, Events: e.Events, Format: e.Format, Active: e.Active, CreatedAt: e.CreatedAt}
}

type webhookBody struct {
	URL    *string  `json:"url"`
	Events []string `json:"events"`
	Format *string  `json:"format"`
	Active *bool    `json:"active"`
}

func (s *Server) validateWebhook(b webhookBody, create bool) validator.Errors {
	var errs validator.Errors
	if create {
		errs.Check(b.URL != nil, "url", "is required")
		errs.Check(len(b.Events) > 0, "events", "name at least one event type: "+strings.Join(webhook.Types, ", "))
	}
	if b.URL != nil {
		if err := webhook.ValidateURL(*b.URL, s.cfg.Production); err != nil {
			errs.Add("url", err.Error())
		}
	}
	for _, e := range b.Events {
		errs.Check(webhook.ValidType(e), "events", "unknown event type "+e+": use "+strings.Join(webhook.Types, ", "))
	}
	if b.Format != nil {
		errs.Check(*b.Format == "accord" || *b.Format == "slack", "format", "must be accord or slack")
	}
	return errs.OrNil()
}

func (s *Server) handleAPIWebhookList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	pr, ok := parsePage(w, r)
	if !ok {
		return
	}
	eps, err := s.store.FindWebhookEndpoints(r.Context(), p.TenantID())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	resp, ok := pageSlice(w, eps, pr, toWebhookJSON)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleAPIWebhookCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var b webhookBody
	if !decodeJSON(w, r, &b) {
		return
	}
	if errs := s.validateWebhook(b, true); errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	format := "accord"
	if b.Format != nil {
		format = *b.Format
	}
	e, err := s.store.CreateWebhookEndpoint(r.Context(), p.TenantID(), p.Actor(), *b.URL, dedupe(b.Events), format, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	j := toWebhookJSON(e)
	j.Secret = e.Secret // shown once
	writeJSON(w, http.StatusCreated, j)
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) handleAPIWebhookUpdate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	var b webhookBody
	if !decodeJSON(w, r, &b) {
		return
	}
	if errs := s.validateWebhook(b, false); errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	e, err := s.store.UpdateWebhookEndpoint(r.Context(), p.TenantID(), p.Actor(), id,
		postgres.WebhookUpdate{URL: b.URL, Events: dedupe(b.Events), Format: b.Format, Active: b.Active}, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(e))
}

func (s *Server) handleAPIWebhookDelete(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	if err := s.store.DeleteWebhookEndpoint(r.Context(), p.TenantID(), p.Actor(), id, s.now()); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// parseLimit reads ?limit= (1–500).
func parseLimit(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 500 {
		return 50, false
	}
	return n, true
}

func (s *Server) handleAPICalendarList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	pr, ok := parsePage(w, r)
	if !ok {
		return
	}
	cals, err := s.store.FindCalendars(r.Context(), p.TenantID())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	resp, ok := pageSlice(w, cals, pr, toCalendarJSON)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleAPICalendarUpdate replaces a calendar; the running timers on it are
// recomputed (a forgotten holiday moves their due times).
func (s *Server) handleAPICalendarUpdate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	var body calendarBody
	if !decodeJSON(w, r, &body) {
		return
	}
	in, errs := calendarInput(body)
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	c, err := s.store.UpdateCalendar(r.Context(), p.TenantID(), p.Actor(), id, in, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toCalendarJSON(c))
}
