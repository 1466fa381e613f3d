package server

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/a-h/templ"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/web/view"
)

// renderError is the one place errors become pages. Users see what happened
// in plain words and a request id; internal error text goes to the log only.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	var verrs validator.Errors
	switch {
	case errors.Is(err, postgres.ErrNotFound):
		s.errorPage(w, r, http.StatusNotFound, "Not found", "There is nothing here, or it belongs to another tenant.")
	case errors.Is(err, auth.ErrForbidden):
		s.errorPage(w, r, http.StatusForbidden, "Not allowed", "Your role does not allow this. Ask an admin if you need it.")
	case errors.Is(err, auth.ErrUnauthenticated):
		s.redirectToLogin(w, r)
	case errors.Is(err, postgres.ErrConflict):
		s.errorPage(w, r, http.StatusConflict, "Changed meanwhile", "Someone else changed this at the same time. Reload to see the current state.")
	case errors.Is(err, postgres.ErrInvalidReference):
		s.errorPage(w, r, http.StatusUnprocessableEntity, "Invalid reference", "The form refers to something that does not exist in this tenant.")
	case errors.As(err, &verrs):
		s.errorPage(w, r, http.StatusUnprocessableEntity, "Please check your input", verrs.Error())
	case isTooLarge(err):
		s.errorPage(w, r, http.StatusRequestEntityTooLarge, "Too large", "What you sent is larger than Accord accepts.")
	default:
		s.serverError(w, r, err)
	}
}

// serverError logs err with the request id and shows a generic 500.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.logger.ErrorContext(r.Context(), "internal error", "request_id", requestIDFrom(r.Context()),
		"method", r.Method, "path", r.URL.Path, "error", err.Error())
	if isAPI(r) {
		writeAPIError(w, http.StatusInternalServerError, "internal", "something went wrong on our side; the request id is "+requestIDFrom(r.Context()), nil)
		return
	}
	s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"Accord could not finish this request. It has been logged; please try again in a moment.")
}

// errorPage renders a 4xx/5xx page, or for htmx a message in #flash.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	e := view.ErrorView{Status: status, Title: title, Message: message, RequestID: requestIDFrom(r.Context())}
	if isHTMX(r) {
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
		s.renderRaw(w, r, status, view.ErrorFlash(e))
		return
	}
	s.renderRaw(w, r, status, view.ErrorPage(s.page(r, title, ""), e))
}

// renderRaw is render for error pages themselves: if even the error page
// fails, a plain line with the request id is all that is left to send.
func (s *Server) renderRaw(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		s.logger.ErrorContext(r.Context(), "render error page", "request_id", requestIDFrom(r.Context()), "error", err.Error())
		http.Error(w, "Internal error. Request id: "+requestIDFrom(r.Context()), http.StatusInternalServerError)
		return
	}
	writeHTML(w, status, buf.Bytes())
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "Not found", "There is no page at this address.")
}

func (s *Server) handleMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusMethodNotAllowed, "Not allowed", "This address does not accept "+r.Method+" requests.")
}

// asValidation returns the field errors inside err, if that is what it is.
func asValidation(err error) (validator.Errors, bool) {
	var verrs validator.Errors
	if err != nil && errors.As(err, &verrs) {
		return verrs, true
	}
	return nil, false
}
