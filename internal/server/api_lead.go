package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// money is an amount in the API: a JSON number with at most two decimals,
// read exactly (no float rounding) into cents.
type money lead.Cents

// MarshalJSON writes the amount as a number: 1250000 or 1250.5.
func (m money) MarshalJSON() ([]byte, error) {
	s := lead.Cents(m).String()
	s = strings.TrimSuffix(strings.TrimSuffix(s, "0"), ".0")
	s = strings.TrimSuffix(s, ".")
	return []byte(s), nil
}

// UnmarshalJSON reads a number (or a numeric string) exactly.
func (m *money) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	c, err := lead.ParseCents(s)
	if err != nil {
		// A type error gets the field's name added by the decoder, so the
		// answer is a 422 on that field.
		return &json.UnmarshalTypeError{Value: "amount " + strconv.Quote(s), Type: reflect.TypeFor[money]()}
	}
	*m = money(c)
	return nil
}

func moneyPtr(c *lead.Cents) *money {
	if c == nil {
		return nil
	}
	m := money(*c)
	return &m
}

// leadJSON is a lead as the API shows it (API.md Leads).
type leadJSON struct {
	ID             string       `json:"id"`
	ExternalID     *string      `json:"external_id"`
	Email          *string      `json:"email"`
	FirstName      string       `json:"first_name"`
	LastName       string       `json:"last_name"`
	Company        string       `json:"company"`
	Title          string       `json:"title"`
	Phone          string       `json:"phone"`
	Country        string       `json:"country"`
	Segment        *string      `json:"segment"`
	Source         string       `json:"source"`
	Campaign       string       `json:"campaign"`
	Score          *int         `json:"score"`
	ICPFit         bool         `json:"icp_fit"`
	Stage          string       `json:"stage"`
	OwnerID        *string      `json:"owner_id"`
	TeamID         *string      `json:"team_id"`
	Amount         *money       `json:"amount"`
	Currency       string       `json:"currency"`
	CreatedAt      time.Time    `json:"created_at"`
	StageChangedAt time.Time    `json:"stage_changed_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
	SnoozedUntil   *time.Time   `json:"snoozed_until"`
	Version        int          `json:"version"`
	Timers         *[]timerJSON `json:"timers,omitempty"`
}

// timerJSON is a timer (API.md Agreement and timers); leads carry theirs.
type timerJSON struct {
	ID               string     `json:"id"`
	LeadID           string     `json:"lead_id"`
	ClauseID         string     `json:"clause_id"`
	AgreementVersion int        `json:"agreement_version"`
	Side             string     `json:"side"`
	Kind             string     `json:"kind"`
	Status           string     `json:"status"`
	StartedAt        time.Time  `json:"started_at"`
	DueAt            time.Time  `json:"due_at"`
	StoppedAt        *time.Time `json:"stopped_at"`
	BreachedAt       *time.Time `json:"breached_at"`
	HolderID         *string    `json:"holder_id"`
	PausedMinutes    int        `json:"paused_minutes"`
}

func toLeadJSON(l lead.Lead) leadJSON {
	return leadJSON{
		ID: l.ID.String(), ExternalID: l.ExternalID, Email: l.Email, FirstName: l.FirstName, LastName: l.LastName,
		Company: l.Company, Title: l.Title, Phone: l.Phone, Country: l.Country, Segment: l.Segment, Source: l.Source,
		Campaign: l.Campaign, Score: l.Score, ICPFit: l.ICPFit, Stage: string(l.Stage), OwnerID: idPtr(l.OwnerID),
		TeamID: idPtr(l.TeamID), Amount: moneyPtr(l.Amount), Currency: l.Currency, CreatedAt: l.CreatedAt,
		StageChangedAt: l.StageChangedAt, UpdatedAt: l.UpdatedAt, SnoozedUntil: l.SnoozedUntil, Version: l.Version,
	}
}

// leadBody is the body of POST /leads and each item of a batch.
type leadBody struct {
	ExternalID *string    `json:"external_id"`
	Email      *string    `json:"email"`
	FirstName  *string    `json:"first_name"`
	LastName   *string    `json:"last_name"`
	Company    *string    `json:"company"`
	Title      *string    `json:"title"`
	Phone      *string    `json:"phone"`
	Country    *string    `json:"country"`
	Segment    *string    `json:"segment"`
	Source     *string    `json:"source"`
	Campaign   *string    `json:"campaign"`
	Score      *int       `json:"score"`
	ICPFit     *bool      `json:"icp_fit"`
	CreatedAt  *time.Time `json:"created_at"`
}

func (b leadBody) input() lead.Input {
	return lead.Input{ExternalID: b.ExternalID, Email: b.Email, FirstName: b.FirstName, LastName: b.LastName,
		Company: b.Company, Title: b.Title, Phone: b.Phone, Country: b.Country, Segment: b.Segment, Source: b.Source,
		Campaign: b.Campaign, Score: b.Score, ICPFit: b.ICPFit, CreatedAt: b.CreatedAt}
}

// leadFail answers a failed lead write: a conflict shows the lead's current
// state; a refused move lists the allowed targets.
func (s *Server) leadFail(w http.ResponseWriter, r *http.Request, err error) {
	var conflict *postgres.ConflictError
	var moveErr *lead.MoveError
	switch {
	case errors.As(err, &conflict):
		body := map[string]any{"error": apiErrorBody{Code: "conflict", Message: conflict.Message}}
		if conflict.Lead.ID != uuid.Nil {
			body["lead"] = toLeadJSON(conflict.Lead)
		}
		writeJSON(w, http.StatusConflict, body)
	case errors.As(err, &moveErr):
		writeAPIError(w, http.StatusUnprocessableEntity, "invalid", moveErr.Reason, map[string]string{"to": moveErr.Reason})
	default:
		s.apiFail(w, r, err)
	}
}

func (s *Server) handleAPILeadCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body leadBody
	if !decodeJSON(w, r, &body) {
		return
	}
	res, err := s.store.UpsertLead(r.Context(), p.TenantID(), p, body.input(), s.now())
	if err != nil {
		s.leadFail(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toLeadJSON(res.Lead))
}

// maxBatch is the most leads one batch takes (API.md).
const maxBatch = 1000

type batchBody struct {
	Leads []json.RawMessage `json:"leads"`
}

type batchError struct {
	Index   int               `json:"index"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func (s *Server) handleAPILeadBatch(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body batchBody
	if !decodeJSON(w, r, &body) {
		return
	}
	if len(body.Leads) > maxBatch {
		writeAPIError(w, http.StatusUnprocessableEntity, "invalid",
			fmt.Sprintf("a batch takes at most %d leads, this one has %d; nothing was stored", maxBatch, len(body.Leads)),
			map[string]string{"leads": fmt.Sprintf("at most %d items", maxBatch)})
		return
	}
	resp := struct {
		Created int          `json:"created"`
		Updated int          `json:"updated"`
		Errors  []batchError `json:"errors"`
	}{Errors: []batchError{}}
	// Items that do not even decode are reported like invalid ones.
	var ins []lead.Input
	var index []int
	for i, raw := range body.Leads {
		var item leadBody
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&item); err != nil {
			resp.Errors = append(resp.Errors, batchError{Index: i, Code: "invalid", Message: decodeMessage(err), Fields: decodeFields(err)})
			continue
		}
		ins = append(ins, item.input())
		index = append(index, i)
	}
	results, err := s.store.UpsertLeads(r.Context(), p.TenantID(), p, ins, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	for _, res := range results {
		switch {
		case res.Err == nil && res.Created:
			resp.Created++
		case res.Err == nil:
			resp.Updated++
		default:
			resp.Errors = append(resp.Errors, itemError(index[res.Index], res.Err))
		}
	}
	sortBatchErrors(resp.Errors)
	writeJSON(w, http.StatusOK, resp)
}

func sortBatchErrors(errs []batchError) {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && errs[j].Index < errs[j-1].Index; j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
}

func itemError(i int, err error) batchError {
	var verrs validator.Errors
	var conflict *postgres.ConflictError
	switch {
	case errors.As(err, &verrs):
		return batchError{Index: i, Code: "invalid", Message: verrs.Error(), Fields: verrs}
	case errors.As(err, &conflict):
		return batchError{Index: i, Code: "conflict", Message: conflict.Message}
	case errors.Is(err, postgres.ErrConflict):
		return batchError{Index: i, Code: "conflict", Message: "the lead changed meanwhile"}
	}
	return batchError{Index: i, Code: "invalid", Message: "refers to something that does not exist in this tenant"}
}

// decodeMessage and decodeFields phrase a JSON decoding error of one item.
func decodeMessage(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return "field " + typeErr.Field + " has the wrong type"
	}
	if name, ok := unknownField(err); ok {
		return "unknown field " + strconv.Quote(name)
	}
	return "the item is not a valid lead object: " + err.Error()
}

func decodeFields(err error) map[string]string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return map[string]string{typeErr.Field: "must be a " + jsonKind(typeErr.Type.Kind().String())}
	}
	if name, ok := unknownField(err); ok {
		return map[string]string{name: "is not a field of a lead"}
	}
	return nil
}

func unknownField(err error) (string, bool) {
	name, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	return strings.Trim(name, `"`), ok
}

// leadFilter reads the list filters of GET /leads.
func leadFilter(r *http.Request, now time.Time) (lead.Filter, validator.Errors) {
	q := r.URL.Query()
	var errs validator.Errors
	f := lead.Filter{Segment: q.Get("segment"), Source: q.Get("source"), Campaign: q.Get("campaign"), Q: q.Get("q"), Cursor: q.Get("cursor")}
	for _, st := range q["stage"] {
		for _, part := range strings.Split(st, ",") {
			if part = strings.TrimSpace(part); part != "" {
				f.Stages = append(f.Stages, lead.Stage(part))
			}
		}
	}
	f.OwnerID = optionalUUID(&errs, "owner_id", q.Get("owner_id"))
	f.TeamID = optionalUUID(&errs, "team_id", q.Get("team_id"))
	if v := q.Get("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs.Add("updated_since", "must be an RFC 3339 time such as 2026-10-01T00:00:00Z")
		} else {
			f.UpdatedSince = &t
		}
	}
	if from, to := q.Get("handoff_from"), q.Get("handoff_to"); from != "" || to != "" {
		// The leads behind a dashboard figure: a period in the tenant's
		// zone, as the figures read it.
		p, _ := auth.FromContext(r.Context())
		period, perrs := metric.ParsePeriod("", from, to, tenant.LoadLocation(p.Tenant.TimeZone), now)
		for k, v := range perrs {
			errs.Add("handoff_"+k, v)
		}
		h := &lead.HandoffFilter{From: period.From, To: period.To, Decision: q.Get("decision"), Reached: lead.Stage(q.Get("reached"))}
		if v := q.Get("touched"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs.Add("touched", "must be true or false")
			}
			h.Touched = &b
		}
		if perrs == nil {
			f.Handoff = h
		}
	} else {
		for _, k := range []string{"decision", "reached", "touched"} {
			if q.Get(k) != "" {
				errs.Add(k, "needs handoff_from and handoff_to")
			}
		}
	}
	f.Limit = 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			errs.Add("limit", "must be a whole number from 1 to 500")
		} else {
			f.Limit = n
		}
	}
	for k, v := range f.Validate() {
		errs.Add(k, v)
	}
	return f, errs.OrNil()
}

func (s *Server) handleAPILeadList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	f, errs := leadFilter(r, s.now())
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	page, err := s.store.FindLeads(r.Context(), p.TenantID(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	resp := listResponse[leadJSON]{Data: make([]leadJSON, 0, len(page.Leads))}
	for _, l := range page.Leads {
		resp.Data = append(resp.Data, toLeadJSON(l))
	}
	if page.NextCursor != "" {
		resp.NextCursor = &page.NextCursor
	}
	writeJSON(w, http.StatusOK, resp)
}

// leadIDParam reads {id}; a malformed id is simply not found (API.md).
func leadIDParam(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	return id, err == nil
}

func (s *Server) handleAPILeadShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	l, timers, err := s.store.FindLeadWithTimers(r.Context(), p.TenantID(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	j := toLeadJSON(l)
	ts := []timerJSON{}
	for _, t := range timers {
		ts = append(ts, timerJSONOf(t.Timer))
	}
	j.Timers = &ts
	writeJSON(w, http.StatusOK, j)
}

// eventJSON is one timeline event (API.md GET /leads/{id}/timeline).
type eventJSON struct {
	Type  string    `json:"type"`
	At    time.Time `json:"at"`
	Actor actorJSON `json:"actor"`
	// transition
	From   *string `json:"from,omitempty"`
	To     string  `json:"to,omitempty"`
	Reason *string `json:"reason,omitempty"`
	Note   *string `json:"note,omitempty"`
	Amount *money  `json:"amount,omitempty"`
	// activity
	Kind    string  `json:"kind,omitempty"`
	URL     *string `json:"url,omitempty"`
	AssetID *string `json:"asset_id,omitempty"`
	// assignment
	OwnerID *string `json:"owner_id,omitempty"`
	TeamID  *string `json:"team_id,omitempty"`
	Why     string  `json:"why,omitempty"`
	// pause
	Until *time.Time `json:"until,omitempty"`
	// timer
	Status string     `json:"status,omitempty"`
	DueAt  *time.Time `json:"due_at,omitempty"`
}

type actorJSON struct {
	Type string  `json:"type"`
	ID   *string `json:"id"`
	Name string  `json:"name"`
}

func toEventJSON(e lead.Event) eventJSON {
	j := eventJSON{Type: e.Type, At: e.At, Actor: actorJSON{Type: e.Actor.Type, ID: idPtr(e.Actor.ID), Name: e.Actor.Name}}
	str := func(s string) *string { return &s }
	switch e.Type {
	case "transition":
		if e.From != "" {
			j.From = str(string(e.From))
		}
		j.To = string(e.To)
		j.Reason = nil
		if e.Reason != "" {
			j.Reason = str(e.Reason)
		}
		j.Note = str(e.Note)
		j.Amount = moneyPtr(e.Amount)
	case "activity":
		j.Kind = string(e.Kind)
		j.Note = str(e.Note)
		if e.URL != "" {
			j.URL = str(e.URL)
		}
		j.AssetID = idPtr(e.AssetID)
	case "content_open":
		j.AssetID = idPtr(e.AssetID)
	case "assignment":
		j.OwnerID, j.TeamID, j.Why = idPtr(e.OwnerID), idPtr(e.TeamID), e.Why
	case "pause":
		j.Note, j.Until = str(e.Note), e.Until
	case "timer":
		j.Kind, j.Status, j.DueAt = e.TimerKind, e.TimerStatus, e.DueAt
	}
	return j
}

func (s *Server) handleAPILeadTimeline(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	events, err := s.store.FindTimeline(r.Context(), p.TenantID(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := make([]eventJSON, len(events))
	for i, e := range events {
		out[i] = toEventJSON(e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

type transitionBody struct {
	To              string     `json:"to"`
	Reason          *string    `json:"reason"`
	Note            *string    `json:"note"`
	At              *time.Time `json:"at"`
	Amount          *money     `json:"amount"`
	OwnerID         *string    `json:"owner_id"`
	ExpectedVersion *int       `json:"expected_version"`
}

func (s *Server) handleAPILeadTransition(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	var body transitionBody
	if !decodeJSON(w, r, &body) {
		return
	}
	var errs validator.Errors
	errs.Check(body.To != "", "to", "is required: the stage to move to")
	in := lead.TransitionInput{To: lead.Stage(body.To), At: body.At, ExpectedVersion: body.ExpectedVersion,
		OwnerID: parseIDField(&errs, "owner_id", body.OwnerID)}
	if body.Reason != nil {
		in.Reason = *body.Reason
	}
	if body.Note != nil {
		in.Note = *body.Note
	}
	if body.Amount != nil {
		c := lead.Cents(*body.Amount)
		in.Amount = &c
	}
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	in.Normalize()
	l, err := s.store.Transition(r.Context(), p.TenantID(), p, id, in, s.now())
	if err != nil {
		s.leadFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLeadJSON(l))
}

type activityBody struct {
	Kind    string     `json:"kind"`
	At      *time.Time `json:"at"`
	Note    *string    `json:"note"`
	URL     *string    `json:"url"`
	AssetID *string    `json:"asset_id"`
}

// activityJSON is a logged activity as the API returns it.
type activityJSON struct {
	ID      int64     `json:"id"`
	LeadID  string    `json:"lead_id"`
	Kind    string    `json:"kind"`
	At      time.Time `json:"at"`
	Note    string    `json:"note"`
	URL     *string   `json:"url"`
	AssetID *string   `json:"asset_id"`
	Actor   actorJSON `json:"actor"`
	// TrackedURL is the asset's tracked link for this lead (content_shared):
	// what the rep sends the prospect, so that opens are counted.
	TrackedURL string `json:"tracked_url,omitempty"`
}

func (s *Server) handleAPILeadActivity(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	var body activityBody
	if !decodeJSON(w, r, &body) {
		return
	}
	var errs validator.Errors
	errs.Check(body.Kind != "", "kind", "is required: call, email, meeting, linkedin, note, nurture, page_view or content_shared")
	in := lead.ActivityInput{Kind: lead.ActivityKind(body.Kind), At: body.At, AssetID: parseIDField(&errs, "asset_id", body.AssetID)}
	if body.Note != nil {
		in.Note = *body.Note
	}
	if body.URL != nil {
		in.URL = *body.URL
	}
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	in.Normalize()
	act, _, err := s.store.AddActivity(r.Context(), p.TenantID(), p, id, in, s.now())
	if err != nil {
		s.leadFail(w, r, err)
		return
	}
	j := activityJSON{ID: act.ID, LeadID: act.LeadID.String(), Kind: string(act.Kind), At: act.At, Note: act.Note,
		AssetID: idPtr(act.AssetID), Actor: actorJSON{Type: string(act.Actor.Type), ID: idPtr(nonNil(act.Actor.ID)), Name: act.Actor.Name}}
	if act.URL != "" {
		j.URL = &act.URL
	}
	if act.LinkToken != "" {
		j.TrackedURL = s.trackedURL(act.LinkToken)
	}
	writeJSON(w, http.StatusCreated, j)
}

func nonNil(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

type assignBody struct {
	OwnerID string `json:"owner_id"`
}

func (s *Server) handleAPILeadAssign(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	var body assignBody
	if !decodeJSON(w, r, &body) {
		return
	}
	owner, err := uuid.Parse(body.OwnerID)
	if err != nil {
		s.apiFail(w, r, validator.Errors{"owner_id": "is required: the id of the new owner"})
		return
	}
	l, err := s.store.Assign(r.Context(), p.TenantID(), p, id, owner, s.now())
	if err != nil {
		s.leadFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLeadJSON(l))
}
