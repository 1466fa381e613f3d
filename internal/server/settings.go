package server

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/web/view"
)

// optionalUUID parses an optional id field: "" is nil, garbage is an error
// message for the field.
func optionalUUID(errs *validator.Errors, field, value string) *uuid.UUID {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil
	}
	id, err := uuid.Parse(value)
	if err != nil {
		errs.Add(field, "is not a valid id")
		return nil
	}
	return &id
}

func (s *Server) usersView(r *http.Request, p auth.Principal) (view.UsersView, error) {
	members, err := s.store.FindMembers(r.Context(), p.TenantID())
	if err != nil {
		return view.UsersView{}, err
	}
	teams, err := s.store.FindTeams(r.Context(), p.TenantID())
	if err != nil {
		return view.UsersView{}, err
	}
	return view.UsersView{Members: members, Teams: teams, Form: view.InviteFormView{Role: tenant.RoleRep}}, nil
}

func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.usersView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.UsersPage(s.page(r, "Users", "settings"), v))
}

func (s *Server) handleUserInvite(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var errs validator.Errors
	in := auth.InviteInput{
		Email:  r.PostFormValue("email"),
		Name:   r.PostFormValue("name"),
		Role:   tenant.Role(r.PostFormValue("role")),
		TeamID: optionalUUID(&errs, "team_id", r.PostFormValue("team_id")),
	}
	in.Normalize()
	for k, v := range in.Validate() {
		errs.Add(k, v)
	}
	form := view.InviteFormView{Email: in.Email, Name: in.Name, Role: in.Role, TeamID: r.PostFormValue("team_id")}
	var created *view.CreatedInvite
	if errs == nil {
		var inviteURL string
		inviteURL, _, errs = s.invite(r, p, in)
		if errs == nil {
			created = &view.CreatedInvite{Email: in.Email, URL: inviteURL, Emailed: s.cfg.MailEnabled}
			form = view.InviteFormView{Role: tenant.RoleRep}
		}
	}
	v, err := s.usersView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v.Form, v.Created = form, created
	v.Form.Errors = errs
	status := http.StatusOK
	if errs != nil {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, view.UsersPage(s.page(r, "Users", "settings"), v))
}

// invite creates the invitation (and its e-mail when SMTP is configured) and
// returns the link. Input problems come back as field errors; anything else
// as an error wrapped in the field "_form" by callers.
func (s *Server) invite(r *http.Request, p auth.Principal, in auth.InviteInput) (string, auth.Member, validator.Errors) {
	token, hash := auth.NewInviteToken(p.TenantID())
	inviteURL := strings.TrimRight(s.cfg.BaseURL, "/") + "/invite/" + token
	inv := postgres.Invite{TokenHash: hash}
	if s.cfg.MailEnabled {
		msg, err := inviteMessage(r, in, p, inviteURL)
		if err != nil {
			return "", auth.Member{}, validator.Errors{"_form": "the invitation e-mail could not be prepared"}
		}
		inv.Email = &msg
	}
	m, err := s.store.InviteUser(r.Context(), p.TenantID(), p.Actor(), in, inv, s.now())
	if err != nil {
		if verrs, ok := asValidation(err); ok {
			return "", auth.Member{}, verrs
		}
		s.logger.ErrorContext(r.Context(), "invite user", "request_id", requestIDFrom(r.Context()), "error", err.Error())
		return "", auth.Member{}, validator.Errors{"_form": "the invitation could not be saved; please try again (request id " + requestIDFrom(r.Context()) + ")"}
	}
	return inviteURL, m, nil
}

func inviteMessage(r *http.Request, in auth.InviteInput, p auth.Principal, inviteURL string) (mail.Message, error) {
	e := view.InviteEmail{Name: in.Name, TenantName: p.Tenant.Name, InviterName: p.Name, URL: inviteURL}
	var html bytes.Buffer
	if err := view.InviteEmailHTML(e).Render(r.Context(), &html); err != nil {
		return mail.Message{}, fmt.Errorf("render invitation e-mail: %w", err)
	}
	text := fmt.Sprintf("Hello %s,\n\n%s invited you to %s on Accord.\n\nOpen this link to accept (it works once, for 7 days):\n%s\n",
		in.Name, p.Name, p.Tenant.Name, inviteURL)
	return mail.Message{To: in.Email, Subject: "You're invited to " + p.Tenant.Name + " on Accord", Text: text, HTML: html.String()}, nil
}

func (s *Server) handleUserUpdate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	uid, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	var errs validator.Errors
	role := tenant.Role(r.PostFormValue("role"))
	away := r.PostFormValue("away") == "true"
	active := r.PostFormValue("active") == "true"
	upd := auth.MemberUpdate{Role: &role, Away: &away, Active: &active}
	if team := optionalUUID(&errs, "team_id", r.PostFormValue("team_id")); team != nil {
		upd.TeamID = team
	} else {
		upd.ClearTeam = true
	}
	for k, v := range upd.Validate() {
		errs.Add(k, v)
	}
	teams, err := s.store.FindTeams(r.Context(), p.TenantID())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if errs == nil {
		m, err := s.store.UpdateMember(r.Context(), p.TenantID(), p.Actor(), uid, upd, s.now())
		if verrs, ok := asValidation(err); ok {
			errs = verrs
		} else if err != nil {
			s.renderError(w, r, err)
			return
		} else {
			s.render(w, r, http.StatusOK, view.UserRow(s.page(r, "Users", "settings"), m, teams, nil))
			return
		}
	}
	m, err := s.store.FindMember(r.Context(), p.TenantID(), uid)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusUnprocessableEntity, view.UserRow(s.page(r, "Users", "settings"), m, teams, errs))
}

func (s *Server) teamsView(r *http.Request, p auth.Principal) (view.TeamsView, error) {
	ctx := r.Context()
	teams, err := s.store.FindTeams(ctx, p.TenantID())
	if err != nil {
		return view.TeamsView{}, err
	}
	members, err := s.store.FindMembers(ctx, p.TenantID())
	if err != nil {
		return view.TeamsView{}, err
	}
	var managers []auth.Member
	for _, m := range members {
		if m.Active && (m.Role == tenant.RoleManager || m.Role == tenant.RoleAdmin || m.Role == tenant.RoleMarketing) {
			managers = append(managers, m)
		}
	}
	cals, err := s.store.FindCalendars(ctx, p.TenantID())
	if err != nil {
		return view.TeamsView{}, err
	}
	return view.TeamsView{Teams: teams, Managers: managers, Calendars: cals, Form: view.TeamFormView{Side: tenant.SideSales}}, nil
}

func (s *Server) handleTeamList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.teamsView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.TeamsPage(s.page(r, "Teams", "settings"), v))
}

func (s *Server) handleTeamEdit(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	t, err := s.store.FindTeam(r.Context(), p.TenantID(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v, err := s.teamsView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v.Form = view.TeamFormView{ID: t.ID.String(), Name: t.Name, Side: t.Side, ManagerID: uuidString(t.ManagerID), CalendarID: uuidString(t.CalendarID)}
	s.render(w, r, http.StatusOK, view.TeamsPage(s.page(r, "Edit team", "settings"), v))
}

func uuidString(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return id.String()
}

func parseTeamForm(r *http.Request) (tenant.TeamInput, view.TeamFormView, validator.Errors) {
	var errs validator.Errors
	in := tenant.TeamInput{
		Name:       r.PostFormValue("name"),
		Side:       tenant.Side(r.PostFormValue("side")),
		ManagerID:  optionalUUID(&errs, "manager_id", r.PostFormValue("manager_id")),
		CalendarID: optionalUUID(&errs, "calendar_id", r.PostFormValue("calendar_id")),
	}
	in.Normalize()
	for k, v := range in.Validate() {
		errs.Add(k, v)
	}
	form := view.TeamFormView{Name: in.Name, Side: in.Side, ManagerID: r.PostFormValue("manager_id"), CalendarID: r.PostFormValue("calendar_id")}
	return in, form, errs
}

func (s *Server) handleTeamCreate(w http.ResponseWriter, r *http.Request) {
	s.saveTeam(w, r, uuid.Nil)
}

func (s *Server) handleTeamUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	s.saveTeam(w, r, id)
}

// saveTeam creates (id nil) or updates a team from the form.
func (s *Server) saveTeam(w http.ResponseWriter, r *http.Request, id uuid.UUID) {
	p, _ := auth.FromContext(r.Context())
	in, form, errs := parseTeamForm(r)
	if errs == nil {
		var t tenant.Team
		var err error
		if id == uuid.Nil {
			t, err = s.store.CreateTeam(r.Context(), p.TenantID(), p.Actor(), in, s.now())
		} else {
			t, err = s.store.UpdateTeam(r.Context(), p.TenantID(), p.Actor(), id, in, s.now())
		}
		if verrs, ok := asValidation(err); ok {
			errs = verrs
		} else if err != nil {
			s.renderError(w, r, err)
			return
		} else {
			s.flash(r, "success", "Team "+t.Name+" saved.")
			s.redirect(w, r, "/settings/teams")
			return
		}
	}
	v, err := s.teamsView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if id != uuid.Nil {
		form.ID = id.String()
	}
	v.Form = form
	v.Form.Errors = errs
	s.render(w, r, http.StatusUnprocessableEntity, view.TeamsPage(s.page(r, "Teams", "settings"), v))
}

func (s *Server) tokensView(r *http.Request, p auth.Principal) (view.TokensView, error) {
	toks, err := s.store.FindAPITokens(r.Context(), p.TenantID())
	if err != nil {
		return view.TokensView{}, err
	}
	return view.TokensView{Tokens: toks, Form: view.TokenFormView{Scope: auth.ScopeIngest}}, nil
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.tokensView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.TokensPage(s.page(r, "API tokens", "settings"), v))
}

// handleTokenCreate shows the new token on the page it answers with, once;
// it is never stored in plain text, not even in the session.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	in := auth.TokenInput{Name: r.PostFormValue("name"), Scope: auth.Scope(r.PostFormValue("scope"))}
	in.Normalize()
	errs := in.Validate()
	var created *view.CreatedToken
	if errs == nil {
		plain, hash := auth.NewAPIToken(p.TenantID())
		if _, err := s.store.CreateAPIToken(r.Context(), p.TenantID(), p.Actor(), in, hash, auth.TokenHint(plain), s.now()); err != nil {
			s.renderError(w, r, err)
			return
		}
		created = &view.CreatedToken{Name: in.Name, Scope: in.Scope, Plain: plain}
	}
	v, err := s.tokensView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v.Created = created
	status := http.StatusCreated
	if errs != nil {
		v.Form = view.TokenFormView{Name: in.Name, Scope: in.Scope, Errors: errs}
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, view.TokensPage(s.page(r, "API tokens", "settings"), v))
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	if err := s.store.RevokeAPIToken(r.Context(), p.TenantID(), p.Actor(), id, s.now()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, "success", "Token revoked.")
	s.redirect(w, r, "/settings/tokens")
}
