package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/web/view"
)

func (s *Server) handleLoginShow(w http.ResponseWriter, r *http.Request) {
	if s.sessions.GetString(r.Context(), sessUserID) != "" {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	pg := s.page(r, "Sign in", "")
	if r.URL.Query().Get("signed_out") == "1" && pg.Flash == nil {
		pg.Flash = &view.Flash{Kind: "info", Message: "You are signed out."}
	}
	s.render(w, r, http.StatusOK, view.LoginPage(pg, view.LoginForm{Next: r.URL.Query().Get("next")}))
}

func (s *Server) handleLoginCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	email := validator.NormalizeEmail(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	form := view.LoginForm{Email: email, Next: r.PostFormValue("next")}
	var errs validator.Errors
	errs.Check(email != "", "email", "enter your email address")
	errs.Check(password != "", "password", "enter your password")
	if errs != nil {
		form.Errors = errs
		s.render(w, r, http.StatusUnprocessableEntity, view.LoginPage(s.page(r, "Sign in", ""), form))
		return
	}
	now := s.now()
	ip := s.clientIP(r)
	wait, blocked, err := s.store.LoginBlocked(ctx, s.cfg.Throttle, email, ip, now)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if blocked {
		minutes := int(math.Ceil(wait.Minutes()))
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		form.Errors = validator.Errors{"_form": fmt.Sprintf(
			"Too many failed sign-ins. For your account's safety, sign-in is paused: try again in %d minute%s.", minutes, plural(minutes))}
		s.render(w, r, http.StatusTooManyRequests, view.LoginPage(s.page(r, "Sign in", ""), form))
		return
	}
	u, err := s.store.FindUserByEmail(ctx, email)
	if err != nil && !errors.Is(err, postgres.ErrNotFound) {
		s.serverError(w, r, err)
		return
	}
	// An unknown account is checked against a dummy hash, so timing does not
	// tell which emails have accounts.
	if !auth.CheckPasswordOrDummy(u.PasswordHash, password) {
		if err := s.store.RecordLoginFailure(ctx, email, ip, now); err != nil {
			s.serverError(w, r, err)
			return
		}
		form.Errors = validator.Errors{"_form": "The email or password is wrong."}
		s.render(w, r, http.StatusUnauthorized, view.LoginPage(s.page(r, "Sign in", ""), form))
		return
	}
	ms, err := s.store.FindMemberships(ctx, u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if len(ms) == 0 {
		form.Errors = validator.Errors{"_form": "Your account is not a member of any tenant any more. Ask an admin to invite you again."}
		s.render(w, r, http.StatusForbidden, view.LoginPage(s.page(r, "Sign in", ""), form))
		return
	}
	tid := ms[0].TenantID
	for _, m := range ms {
		if u.LastTenantID != nil && m.TenantID == *u.LastTenantID {
			tid = m.TenantID
		}
	}
	if err := s.startSession(r, u.ID, tid); err != nil {
		s.serverError(w, r, err)
		return
	}
	if err := s.store.ClearLoginFailures(ctx, email); err != nil {
		s.serverError(w, r, err)
		return
	}
	if err := s.store.RecordLogin(ctx, u.ID, tid, now); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, safeNext(form.Next), http.StatusSeeOther)
}

// startSession signs user uid in to tenant tid under a new session token
// (so a token planted before sign-in is worthless) and a new CSRF token.
func (s *Server) startSession(r *http.Request, uid uuid.UUID, tid tenant.ID) error {
	ctx := r.Context()
	if err := s.sessions.RenewToken(ctx); err != nil {
		return fmt.Errorf("renew session token: %w", err)
	}
	s.sessions.Put(ctx, sessUserID, uid.String())
	s.sessions.Put(ctx, sessTenantID, tid.String())
	s.sessions.Put(ctx, sessCSRF, auth.RandomString(32))
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/login?signed_out=1", http.StatusSeeOther)
}

func (s *Server) handleTenantSwitch(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	tid, err := tenant.ParseID(r.PostFormValue("tenant_id"))
	if err != nil {
		s.errorPage(w, r, http.StatusUnprocessableEntity, "Unknown tenant", "Pick a tenant from the list.")
		return
	}
	var target *auth.Membership
	for i := range p.Memberships {
		if p.Memberships[i].TenantID == tid {
			target = &p.Memberships[i]
		}
	}
	if target == nil {
		// Not a member there: the same answer as for a tenant that does not exist.
		s.errorPage(w, r, http.StatusNotFound, "Unknown tenant", "You are not a member of that tenant.")
		return
	}
	if err := s.store.SetLastTenant(r.Context(), p.ID, tid); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), sessTenantID, tid.String())
	s.flash(r, "success", "You are now working in "+target.TenantName+".")
	s.redirect(w, r, "/")
}

// invitationFromPath resolves /invite/{token}; an unusable link gets a page
// that says why and offers nothing else.
func (s *Server) invitationFromPath(w http.ResponseWriter, r *http.Request) (auth.Invitation, tenant.ID, []byte, bool) {
	token := chi.URLParam(r, "token")
	tid, hash, err := auth.ParseInviteToken(token)
	if err != nil {
		s.render(w, r, http.StatusNotFound, view.InviteInvalid(s.page(r, "Invitation", ""), "This invitation link is not valid. Check that you copied all of it."))
		return auth.Invitation{}, tid, nil, false
	}
	inv, err := s.store.FindInvitation(r.Context(), tid, hash)
	if errors.Is(err, postgres.ErrNotFound) {
		s.render(w, r, http.StatusNotFound, view.InviteInvalid(s.page(r, "Invitation", ""), "This invitation link is not valid. Check that you copied all of it."))
		return auth.Invitation{}, tid, nil, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return auth.Invitation{}, tid, nil, false
	}
	if err := inv.Usable(s.now()); err != nil {
		s.render(w, r, http.StatusGone, view.InviteInvalid(s.page(r, "Invitation", ""), capitalize(err.Error())+"."))
		return auth.Invitation{}, tid, nil, false
	}
	return inv, tid, hash, true
}

func (s *Server) handleInviteShow(w http.ResponseWriter, r *http.Request) {
	inv, _, _, ok := s.invitationFromPath(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, view.InvitePage(s.page(r, "Join "+inv.TenantName, ""), inviteForm(chi.URLParam(r, "token"), inv)))
}

func inviteForm(token string, inv auth.Invitation) view.InviteForm {
	return view.InviteForm{Token: token, Email: inv.Email, Name: inv.Name, TenantName: inv.TenantName, HasAccount: inv.HasAccount}
}

func (s *Server) handleInviteAccept(w http.ResponseWriter, r *http.Request) {
	inv, tid, hash, ok := s.invitationFromPath(w, r)
	if !ok {
		return
	}
	var passwordHash string
	if !inv.HasAccount {
		password := r.PostFormValue("password")
		if errs := auth.ValidatePassword(password, r.PostFormValue("confirm")); errs != nil {
			f := inviteForm(chi.URLParam(r, "token"), inv)
			f.Errors = errs
			s.render(w, r, http.StatusUnprocessableEntity, view.InvitePage(s.page(r, "Join "+inv.TenantName, ""), f))
			return
		}
		var err error
		if passwordHash, err = auth.HashPassword(password); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	inv, err := s.store.AcceptInvitation(r.Context(), tid, hash, passwordHash, s.now())
	if errors.Is(err, auth.ErrInvitationUsed) || errors.Is(err, auth.ErrInvitationExpired) {
		// Used meanwhile (a double submit): say so, as for any used link.
		s.render(w, r, http.StatusGone, view.InviteInvalid(s.page(r, "Invitation", ""), capitalize(err.Error())+"."))
		return
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := s.startSession(r, inv.UserID, tid); err != nil {
		s.serverError(w, r, err)
		return
	}
	if err := s.store.RecordLogin(r.Context(), inv.UserID, tid, s.now()); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.flash(r, "success", "Welcome to "+inv.TenantName+".")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}
