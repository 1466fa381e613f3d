package server

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// userJSON is a user as the API shows it.
type userJSON struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Role        string     `json:"role"`
	TeamID      *string    `json:"team_id"`
	ManagerID   *string    `json:"manager_id"`
	TimeZone    *string    `json:"time_zone"`
	Away        bool       `json:"away"`
	Active      bool       `json:"active"`
	Invited     bool       `json:"invited"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
	InviteURL   string     `json:"invite_url,omitempty"`
}

func toUserJSON(m auth.Member) userJSON {
	u := userJSON{ID: m.ID.String(), Email: m.Email, Name: m.Name, Role: string(m.Role),
		TeamID: idPtr(m.TeamID), ManagerID: idPtr(m.ManagerID), Away: m.Away, Active: m.Active,
		Invited: m.Invited, CreatedAt: m.CreatedAt, LastLoginAt: m.LastLoginAt}
	if m.TimeZone != "" {
		u.TimeZone = &m.TimeZone
	}
	return u
}

func idPtr(id *uuid.UUID) *string {
	if id == nil {
		return nil
	}
	s := id.String()
	return &s
}

// parseIDField reads an optional id of a JSON body; a malformed id is a field error.
func parseIDField(errs *validator.Errors, field string, v *string) *uuid.UUID {
	if v == nil || *v == "" {
		return nil
	}
	id, err := uuid.Parse(*v)
	if err != nil {
		errs.Add(field, "is not a valid id")
		return nil
	}
	return &id
}

func (s *Server) handleAPIUserList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	pr, ok := parsePage(w, r)
	if !ok {
		return
	}
	after := uuid.Nil
	if pr.Cursor != "" {
		id, err := uuid.Parse(pr.Cursor)
		if err != nil {
			writeAPIError(w, http.StatusUnprocessableEntity, "invalid", "cursor is not one this API returned", map[string]string{"cursor": "is not valid"})
			return
		}
		after = id
	}
	members, err := s.store.FindMembersPage(r.Context(), p.TenantID(), after, pr.Limit+1)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	resp := listResponse[userJSON]{Data: []userJSON{}}
	if len(members) > pr.Limit {
		members = members[:pr.Limit]
		resp.NextCursor = encodeCursor(members[len(members)-1].ID.String())
	}
	for _, m := range members {
		resp.Data = append(resp.Data, toUserJSON(m))
	}
	writeJSON(w, http.StatusOK, resp)
}

type userCreateBody struct {
	Email     string  `json:"email"`
	Name      string  `json:"name"`
	Role      string  `json:"role"`
	TeamID    *string `json:"team_id"`
	ManagerID *string `json:"manager_id"`
	TimeZone  string  `json:"time_zone"`
}

// handleAPIUserCreate invites a user: no password ever passes the API; the
// answer carries the invitation link, which is also e-mailed when SMTP is set.
func (s *Server) handleAPIUserCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body userCreateBody
	if !decodeJSON(w, r, &body) {
		return
	}
	var errs validator.Errors
	in := auth.InviteInput{Email: body.Email, Name: body.Name, Role: tenant.Role(body.Role), TimeZone: body.TimeZone,
		TeamID: parseIDField(&errs, "team_id", body.TeamID), ManagerID: parseIDField(&errs, "manager_id", body.ManagerID)}
	in.Normalize()
	for k, v := range in.Validate() {
		errs.Add(k, v)
	}
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	inviteURL, m, errs := s.invite(r, p, in)
	if errs != nil {
		if msg, ok := errs["_form"]; ok && len(errs) == 1 {
			writeAPIError(w, http.StatusInternalServerError, "internal", msg, nil)
			return
		}
		s.apiFail(w, r, errs)
		return
	}
	u := toUserJSON(m)
	u.InviteURL = inviteURL
	writeJSON(w, http.StatusCreated, u)
}

type userUpdateBody struct {
	Role      optional[string] `json:"role"`
	TeamID    optional[string] `json:"team_id"`
	ManagerID optional[string] `json:"manager_id"`
	Away      optional[bool]   `json:"away"`
	Active    optional[bool]   `json:"active"`
	Name      optional[string] `json:"name"`
	TimeZone  optional[string] `json:"time_zone"`
}

func (s *Server) handleAPIUserUpdate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	uid, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	var body userUpdateBody
	if !decodeJSON(w, r, &body) {
		return
	}
	var errs validator.Errors
	var upd auth.MemberUpdate
	if body.Role.Set {
		role := tenant.Role(body.Role.Value)
		upd.Role = &role
	}
	if body.TeamID.Set {
		if body.TeamID.Null || body.TeamID.Value == "" {
			upd.ClearTeam = true
		} else {
			upd.TeamID = parseIDField(&errs, "team_id", &body.TeamID.Value)
		}
	}
	if body.ManagerID.Set {
		if body.ManagerID.Null || body.ManagerID.Value == "" {
			upd.ClearManager = true
		} else {
			upd.ManagerID = parseIDField(&errs, "manager_id", &body.ManagerID.Value)
		}
	}
	for _, f := range []struct {
		name string
		o    optional[bool]
		dst  **bool
	}{{"away", body.Away, &upd.Away}, {"active", body.Active, &upd.Active}} {
		if f.o.Set {
			if f.o.Null {
				errs.Add(f.name, "must be true or false")
				continue
			}
			v := f.o.Value
			*f.dst = &v
		}
	}
	if body.Name.Set {
		upd.Name = &body.Name.Value
	}
	if body.TimeZone.Set {
		upd.TimeZone = &body.TimeZone.Value
	}
	for k, v := range upd.Validate() {
		errs.Add(k, v)
	}
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	m, err := s.store.UpdateMember(r.Context(), p.TenantID(), p.Actor(), uid, upd, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(m))
}

// teamJSON is a team as the API shows it.
type teamJSON struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Side       string    `json:"side"`
	ManagerID  *string   `json:"manager_id"`
	CalendarID *string   `json:"calendar_id"`
	Members    int       `json:"members"`
	CreatedAt  time.Time `json:"created_at"`
}

func toTeamJSON(t tenant.Team) teamJSON {
	return teamJSON{ID: t.ID.String(), Name: t.Name, Side: string(t.Side), ManagerID: idPtr(t.ManagerID),
		CalendarID: idPtr(t.CalendarID), Members: t.Members, CreatedAt: t.CreatedAt}
}

func (s *Server) handleAPITeamList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	pr, ok := parsePage(w, r)
	if !ok {
		return
	}
	teams, err := s.store.FindTeams(r.Context(), p.TenantID())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	// Teams are few; they page by position in their stable order.
	resp, ok := pageSlice(w, teams, pr, toTeamJSON)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

type teamCreateBody struct {
	Name       string  `json:"name"`
	Side       string  `json:"side"`
	ManagerID  *string `json:"manager_id"`
	CalendarID *string `json:"calendar_id"`
}

func (s *Server) handleAPITeamCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body teamCreateBody
	if !decodeJSON(w, r, &body) {
		return
	}
	var errs validator.Errors
	in := tenant.TeamInput{Name: body.Name, Side: tenant.Side(body.Side),
		ManagerID: parseIDField(&errs, "manager_id", body.ManagerID), CalendarID: parseIDField(&errs, "calendar_id", body.CalendarID)}
	in.Normalize()
	for k, v := range in.Validate() {
		errs.Add(k, v)
	}
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	t, err := s.store.CreateTeam(r.Context(), p.TenantID(), p.Actor(), in, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toTeamJSON(t))
}
