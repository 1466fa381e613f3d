package server

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/webhook"
	"github.com/accordhq/accord/web/view"
)

// webhookTypeLabels explains each event type on the settings page.
var webhookTypeLabels = map[string]string{
	webhook.BreachCreated:   "a timer breached (the first step of its ladder)",
	webhook.BreachEscalated: "a later step of a breach's escalation ladder",
	webhook.TimerAtRisk:     "a timer reached its warning point",
	webhook.LeadAccepted:    "sales accepted a handed-off lead",
	webhook.LeadRejected:    "sales rejected a handed-off lead, with the reason",
	webhook.PeriodMissed:    "a period clause (volume, quality, acceptance, pipeline) ended missed",
}

func (s *Server) webhooksView(r *http.Request, p auth.Principal) (view.WebhooksView, error) {
	eps, err := s.store.FindWebhookEndpoints(r.Context(), p.TenantID())
	if err != nil {
		return view.WebhooksView{}, err
	}
	v := view.WebhooksView{Form: view.WebhookFormView{Events: map[string]bool{webhook.BreachCreated: true}}}
	for _, t := range webhook.Types {
		v.Types = append(v.Types, view.Option{Value: t, Label: webhookTypeLabels[t]})
	}
	for _, e := range eps {
		v.Endpoints = append(v.Endpoints, view.WebhookRow{ID: e.ID.String(), URL: e.URL, Events: e.Events, Format: e.Format,
			Active: e.Active, Created: e.CreatedAt.In(p.Location()).Format("2 Jan 2006")})
	}
	return v, nil
}

func (s *Server) handleWebhookList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.webhooksView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.WebhooksPage(s.page(r, "Webhooks", "settings"), v))
}

// handleWebhookCreate registers an endpoint and shows its secret once, on
// the page it answers with.
func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	url := strings.TrimSpace(r.PostFormValue("url"))
	format := r.PostFormValue("format")
	if format == "" {
		format = "accord"
	}
	events := dedupe(r.PostForm["events"])
	errs := s.validateWebhook(webhookBody{URL: &url, Events: events, Format: &format}, true)
	var created *view.CreatedWebhook
	if errs == nil {
		e, err := s.store.CreateWebhookEndpoint(r.Context(), p.TenantID(), p.Actor(), url, events, format, s.now())
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		created = &view.CreatedWebhook{URL: e.URL, Secret: e.Secret}
	}
	v, err := s.webhooksView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v.Created = created
	status := http.StatusCreated
	if errs != nil {
		v.Form = view.WebhookFormView{URL: url, Format: format, Events: map[string]bool{}, Errors: errs}
		for _, e := range events {
			v.Form.Events[e] = true
		}
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, view.WebhooksPage(s.page(r, "Webhooks", "settings"), v))
}

// handleWebhookToggle switches an endpoint off or back on.
func (s *Server) handleWebhookToggle(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	e, err := s.store.UpdateWebhookEndpoint(r.Context(), p.TenantID(), p.Actor(), id, postgres.WebhookUpdate{ToggleActive: true}, s.now())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if e.Active {
		s.flash(r, "success", "Endpoint switched on: new events are delivered to it.")
	} else {
		s.flash(r, "success", "Endpoint switched off: it gets nothing until switched on.")
	}
	s.redirect(w, r, "/settings/webhooks")
}

func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	if err := s.store.DeleteWebhookEndpoint(r.Context(), p.TenantID(), p.Actor(), id, s.now()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, "success", "Endpoint removed.")
	s.redirect(w, r, "/settings/webhooks")
}
