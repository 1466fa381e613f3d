package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/content"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/web/view"
)

// trackedURL is the public address of a tracked link.
func (s *Server) trackedURL(token string) string {
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/c/" + token
}

// handleTrackedLink counts a prospect's open and sends them to the asset.
// The target is always the asset's stored URL, never anything from the
// request, so the link cannot be turned into an open redirect.
func (s *Server) handleTrackedLink(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	tid, ok := content.ParseLinkToken(token)
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "Link not found", "This link is not valid. Ask the person who sent it for a new one.")
		return
	}
	target, err := s.store.OpenLink(r.Context(), tid, token, s.now())
	if err != nil {
		if errors.Is(err, postgres.ErrNotFound) {
			s.errorPage(w, r, http.StatusNotFound, "Link not found", "This link is not valid. Ask the person who sent it for a new one.")
			return
		}
		s.serverError(w, r, err)
		return
	}
	if content.CheckURL(target) != "" {
		// Stored URLs are checked on write and by the table; this is the
		// last guard of the redirect.
		s.errorPage(w, r, http.StatusNotFound, "Link not found", "This link has no valid destination.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, target, http.StatusFound)
}

func kindOptions() []view.Option {
	out := make([]view.Option, len(content.Kinds))
	for i, k := range content.Kinds {
		out[i] = view.Option{Value: string(k), Label: k.Label()}
	}
	return out
}

func stageOptions() []view.Option {
	out := make([]view.Option, len(content.Stages))
	for i, st := range content.Stages {
		out[i] = view.Option{Value: string(st), Label: st.Label()}
	}
	return out
}

func (s *Server) segmentOptions(r *http.Request, p auth.Principal) ([]view.Option, error) {
	segs, err := s.store.FindSegments(r.Context(), p.TenantID())
	if err != nil {
		return nil, err
	}
	out := make([]view.Option, len(segs))
	for i, sg := range segs {
		out[i] = view.Option{Value: sg, Label: sg}
	}
	return out, nil
}

func periodOptions() []view.Option {
	labels := map[string]string{metric.PresetThisWeek: "This week", metric.PresetLastWeek: "Last week", metric.PresetThisMonth: "This month",
		metric.PresetLastMonth: "Last month", metric.PresetThisQuarter: "This quarter", metric.PresetLastQuarter: "Last quarter"}
	var out []view.Option
	for _, pr := range metric.Presets {
		if pr == metric.PresetThisMonth {
			continue // the select's "any" entry
		}
		out = append(out, view.Option{Value: pr, Label: labels[pr]})
	}
	return out
}

func assetRowView(a content.Asset) view.AssetRowView {
	return view.AssetRowView{ID: a.ID.String(), Title: a.Title, Kind: a.Kind.Label(), Stage: a.Stage.Label(), Segment: derefStr(a.Segment),
		Owner: a.OwnerName, URL: a.URL, Tags: a.Tags, Archived: a.Archived}
}

func derefStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (s *Server) handleContentLibrary(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	q := r.URL.Query()
	fv := view.ContentFilterView{Q: strings.TrimSpace(q.Get("q")), Kind: q.Get("kind"), Stage: q.Get("stage"), Segment: q.Get("segment"),
		Period: q.Get("period"), Archived: q.Get("archived") == "true"}
	f := content.Filter{Q: fv.Q, Kind: content.Kind(fv.Kind), Stage: lead.Stage(fv.Stage), Segment: fv.Segment}
	if fv.Archived {
		t := true
		f.Archived = &t
	}
	period, perrs := metric.ParsePeriod(fv.Period, "", "", p.Tenant.Location(), s.now())
	if perrs != nil {
		s.renderError(w, r, perrs)
		return
	}
	page, err := s.store.FindAssets(r.Context(), p.TenantID(), f, period.From, period.To, q.Get("cursor"), 50)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	usage, reqs, err := s.store.ContentUsage(r.Context(), p.TenantID(), period, s.now())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	segs, err := s.segmentOptions(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := view.ContentLibraryView{Filter: fv, Periods: periodOptions(), PeriodLabel: strings.ToLower(period.Label()), Kinds: kindOptions(),
		Stages: stageOptions(), Segments: segs, CanManage: p.Can(auth.PermManageContent),
		Active: usage.ActiveAssets, Used: usage.UsedAssets, OpenReqs: reqs.Open, UnusedShare: "no data", MedianFulfil: "no data"}
	if usage.UsageShare != nil {
		v.UnusedShare = view.Percent(ptr(1 - *usage.UsageShare))
	}
	if reqs.MedianFulfilHours != nil {
		v.MedianFulfil = hoursText(*reqs.MedianFulfilHours)
	}
	for _, a := range page.Assets {
		row := assetRowView(a.Asset)
		row.Uses, row.Leads = a.Uses, a.Leads
		v.Assets = append(v.Assets, row)
	}
	if page.NextCursor != "" {
		next := cloneQuery(q)
		next.Set("cursor", page.NextCursor)
		v.NextURL = "/content?" + next.Encode()
	}
	s.render(w, r, http.StatusOK, view.ContentLibraryPage(s.page(r, "Content", "content"), v))
}

func ptr[T any](v T) *T { return &v }

// hoursText phrases a duration given in hours: minutes, hours or days.
func hoursText(h float64) string {
	switch {
	case h < 1:
		return fmt.Sprintf("%.0f min", h*60)
	case h < 48:
		return fmt.Sprintf("%.1f h", h)
	}
	return fmt.Sprintf("%.1f days", h/24)
}

// ageText phrases how long something has waited.
func ageText(d time.Duration) string { return hoursText(d.Hours()) }

// assetFormInput reads the asset form; every field is set, as the form
// always sends them all.
func assetFormInput(r *http.Request) content.AssetInput {
	title, url := r.PostFormValue("title"), r.PostFormValue("url")
	kind, stage := content.Kind(r.PostFormValue("kind")), lead.Stage(r.PostFormValue("stage"))
	seg := r.PostFormValue("segment")
	var segment *string
	if strings.TrimSpace(seg) != "" {
		segment = &seg
	}
	var tags []string
	for _, t := range strings.Split(r.PostFormValue("tags"), ",") {
		tags = append(tags, t)
	}
	return content.AssetInput{Title: &title, URL: &url, Kind: &kind, Stage: &stage, Segment: &segment, Tags: tags}
}

func (s *Server) assetForm(r *http.Request, p auth.Principal, action string) (view.AssetFormView, error) {
	segs, err := s.segmentOptions(r, p)
	if err != nil {
		return view.AssetFormView{}, err
	}
	return view.AssetFormView{Action: action, Kinds: kindOptions(), Stages: stageOptions(), Segments: segs,
		Kind: string(content.KindCaseStudy), Stage: string(lead.StageMQL)}, nil
}

func fillAssetForm(f *view.AssetFormView, r *http.Request) {
	f.Title, f.URL, f.Kind, f.Stage = r.PostFormValue("title"), r.PostFormValue("url"), r.PostFormValue("kind"), r.PostFormValue("stage")
	f.Segment, f.Tags = r.PostFormValue("segment"), r.PostFormValue("tags")
}

func (s *Server) handleAssetNew(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	f, err := s.assetForm(r, p, "/content")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.AssetFormPage(s.page(r, "New asset", "content"), f))
}

func (s *Server) handleAssetCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	a, err := s.store.CreateAsset(r.Context(), p.TenantID(), p.Actor(), assetFormInput(r), s.now())
	var verrs validator.Errors
	if errors.As(err, &verrs) {
		f, ferr := s.assetForm(r, p, "/content")
		if ferr != nil {
			s.renderError(w, r, ferr)
			return
		}
		fillAssetForm(&f, r)
		f.Errors = verrs
		s.render(w, r, http.StatusUnprocessableEntity, view.AssetFormPage(s.page(r, "New asset", "content"), f))
		return
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, "success", "Added "+a.Title+" to the library.")
	s.redirect(w, r, "/content/"+a.ID.String())
}

func (s *Server) assetView(r *http.Request, p auth.Principal, id uuid.UUID) (view.AssetView, error) {
	d, err := s.store.FindAsset(r.Context(), p.TenantID(), id)
	if err != nil {
		return view.AssetView{}, err
	}
	loc := p.Location()
	v := view.AssetView{Asset: assetRowView(d.Asset), Created: d.Asset.CreatedAt.In(loc).Format("2 Jan 2006"), Opens: d.Figures.Opens,
		CanManage: p.Can(auth.PermManageContent)}
	if d.Asset.ArchivedAt != nil {
		v.Created = d.Asset.ArchivedAt.In(loc).Format("2 Jan 2006")
	}
	f := d.Figures
	share := func(n, of int64) string {
		if of == 0 {
			return fmt.Sprintf("%d of 0 (no data)", n)
		}
		return fmt.Sprintf("%s of %s (%s)", view.Count(n), view.Count(of), view.Percent(metric.Rate(n, of)))
	}
	v.Figures = []view.AssetFigureRow{
		{Label: "Uses", With: view.Count(f.Uses), Without: "—"},
		{Label: "Leads", With: view.Count(f.Leads), Without: view.Count(f.BaseLeads)},
		{Label: "Accepted", With: share(f.Accepted, f.Leads), Without: share(f.BaseAccepted, f.BaseLeads)},
		{Label: "Reached opportunity", With: share(f.Opportunities, f.Leads), Without: share(f.BaseOpportunities, f.BaseLeads)},
		{Label: "Won", With: share(f.Won, f.Leads), Without: share(f.BaseWon, f.BaseLeads)},
	}
	for _, u := range d.Uses {
		v.Uses = append(v.Uses, view.AssetUseView{LeadID: u.LeadID.String(), LeadName: u.LeadName, Stage: u.Stage.Label(),
			At: u.At.In(loc).Format("Mon 2 Jan 2006, 15:04"), Actor: u.ActorName, Opens: u.Opens})
	}
	if v.CanManage {
		if v.Form, err = s.assetForm(r, p, "/content/"+id.String()); err != nil {
			return v, err
		}
		v.Form.Edit = true
		a := d.Asset
		v.Form.Title, v.Form.URL, v.Form.Kind, v.Form.Stage = a.Title, a.URL, string(a.Kind), string(a.Stage)
		v.Form.Segment, v.Form.Tags = derefStr(a.Segment), strings.Join(a.Tags, ", ")
	}
	return v, nil
}

func (s *Server) handleAssetShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	v, err := s.assetView(r, p, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.AssetPage(s.page(r, v.Asset.Title, "content"), v))
}

func (s *Server) handleAssetUpdate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	a, err := s.store.UpdateAsset(r.Context(), p.TenantID(), p.Actor(), id, assetFormInput(r), s.now())
	var verrs validator.Errors
	if errors.As(err, &verrs) {
		v, verr := s.assetView(r, p, id)
		if verr != nil {
			s.renderError(w, r, verr)
			return
		}
		fillAssetForm(&v.Form, r)
		v.Form.Errors = verrs
		s.render(w, r, http.StatusUnprocessableEntity, view.AssetPage(s.page(r, v.Asset.Title, "content"), v))
		return
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, "success", "Saved "+a.Title+".")
	s.redirect(w, r, "/content/"+id.String())
}

func (s *Server) handleAssetArchive(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	archived := r.PostFormValue("archived") != "false"
	a, err := s.store.UpdateAsset(r.Context(), p.TenantID(), p.Actor(), id, content.AssetInput{Archived: &archived}, s.now())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if a.Archived {
		s.flash(r, "success", "Archived "+a.Title+": it is out of the library; its history stays.")
	} else {
		s.flash(r, "success", "Restored "+a.Title+" to the library.")
	}
	s.redirect(w, r, "/content/"+id.String())
}

func requestStatusOptions() []view.Option {
	out := make([]view.Option, len(content.RequestStatuses))
	for i, st := range content.RequestStatuses {
		out[i] = view.Option{Value: string(st), Label: st.Label()}
	}
	return out
}

func requestRowView(q content.Request, now time.Time) view.RequestRowView {
	v := view.RequestRowView{ID: q.ID.String(), Title: q.Title, Objection: q.Objection, Requester: q.RequesterName, Segment: derefStr(q.Segment),
		Status: string(q.Status), StatusLabel: q.Status.Label(), Age: "waiting " + ageText(q.Age(now)), Asset: q.AssetTitle, Lead: q.LeadName}
	if q.ClosedAt != nil {
		v.Age = strings.ToLower(q.Status.Label()) + " after " + ageText(q.Age(now))
	}
	if q.AssetID != nil {
		v.AssetID = q.AssetID.String()
	}
	if q.LeadID != nil {
		v.LeadID = q.LeadID.String()
	}
	return v
}

// canRequestContent: sales asks (reps, managers, admins); marketing answers.
func canRequestContent(p auth.Principal) bool { return p.Can(auth.PermWorkLeads) }

func (s *Server) requestsView(r *http.Request, p auth.Principal, status string) (view.ContentRequestsView, error) {
	page, err := s.store.FindRequests(r.Context(), p.TenantID(), postgres.RequestFilter{Status: content.RequestStatus(status)}, r.URL.Query().Get("cursor"), 50)
	if err != nil {
		return view.ContentRequestsView{}, err
	}
	segs, err := s.segmentOptions(r, p)
	if err != nil {
		return view.ContentRequestsView{}, err
	}
	v := view.ContentRequestsView{Status: status, Statuses: requestStatusOptions(), CanCreate: canRequestContent(p),
		Form: view.RequestFormView{Segments: segs}}
	for _, q := range page.Requests {
		v.Requests = append(v.Requests, requestRowView(q, s.now()))
	}
	if page.NextCursor != "" {
		next := url.Values{"cursor": {page.NextCursor}}
		if status != "" {
			next.Set("status", status)
		}
		v.NextURL = "/content/requests?" + next.Encode()
	}
	return v, nil
}

func (s *Server) handleRequestList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.requestsView(r, p, r.URL.Query().Get("status"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if id, err := uuid.Parse(r.URL.Query().Get("lead_id")); err == nil {
		v.Form.LeadID = id.String()
	}
	s.render(w, r, http.StatusOK, view.ContentRequestsPage(s.page(r, "Content requests", "content"), v))
}

func (s *Server) handleRequestCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if !canRequestContent(p) {
		s.renderError(w, r, auth.ErrForbidden)
		return
	}
	in := content.RequestInput{Title: r.PostFormValue("title"), Objection: r.PostFormValue("objection")}
	if seg := r.PostFormValue("segment"); seg != "" {
		in.Segment = &seg
	}
	var errs validator.Errors
	if v := r.PostFormValue("lead_id"); v != "" {
		in.LeadID = parseIDField(&errs, "lead_id", &v)
	}
	var q content.Request
	var err error
	if errs != nil {
		err = errs
	} else {
		q, err = s.store.CreateRequest(r.Context(), p.TenantID(), p, in, s.now())
	}
	var verrs validator.Errors
	if errors.As(err, &verrs) {
		v, verr := s.requestsView(r, p, "")
		if verr != nil {
			s.renderError(w, r, verr)
			return
		}
		v.Form.Title, v.Form.Objection, v.Form.Segment, v.Form.LeadID = in.Title, in.Objection, r.PostFormValue("segment"), r.PostFormValue("lead_id")
		v.Form.Errors = verrs
		s.render(w, r, http.StatusUnprocessableEntity, view.ContentRequestsPage(s.page(r, "Content requests", "content"), v))
		return
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, "success", "Request sent. Marketing sees it in their queue; you hear back here.")
	s.redirect(w, r, "/content/requests/"+q.ID.String())
}

func (s *Server) requestView(r *http.Request, p auth.Principal, q content.Request) (view.ContentRequestView, error) {
	loc := p.Location()
	v := view.ContentRequestView{Request: requestRowView(q, s.now()), Created: q.CreatedAt.In(loc).Format("Mon 2 Jan 2006, 15:04"),
		CanManage: p.Can(auth.PermManageContent), Statuses: requestStatusOptions()}
	for _, c := range q.Comments {
		v.Comments = append(v.Comments, view.CommentView{Author: c.AuthorName, At: c.CreatedAt.In(loc).Format("Mon 2 Jan, 15:04"), Body: c.Body})
	}
	if v.CanManage {
		opts, err := s.store.FindAssetOptions(r.Context(), p.TenantID())
		if err != nil {
			return v, err
		}
		for _, o := range opts {
			v.Assets = append(v.Assets, view.Option{Value: o.ID.String(), Label: o.Title})
		}
	}
	return v, nil
}

func (s *Server) handleRequestShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	q, err := s.store.FindRequest(r.Context(), p.TenantID(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v, err := s.requestView(r, p, q)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.ContentRequestPage(s.page(r, q.Title, "content"), v))
}

func (s *Server) handleRequestUpdate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	u := content.RequestUpdate{Comment: r.PostFormValue("comment")}
	var errs validator.Errors
	if p.Can(auth.PermManageContent) {
		if st := r.PostFormValue("status"); st != "" {
			status := content.RequestStatus(st)
			u.Status = &status
		}
		if a := r.PostFormValue("asset_id"); a != "" {
			u.AssetID = parseIDField(&errs, "asset_id", &a)
		}
	}
	var q content.Request
	var err error
	if errs != nil {
		err = errs
	} else {
		q, err = s.store.UpdateRequest(r.Context(), p.TenantID(), p, id, u, s.now())
	}
	var verrs validator.Errors
	if errors.As(err, &verrs) {
		cur, ferr := s.store.FindRequest(r.Context(), p.TenantID(), id)
		if ferr != nil {
			s.renderError(w, r, ferr)
			return
		}
		v, verr := s.requestView(r, p, cur)
		if verr != nil {
			s.renderError(w, r, verr)
			return
		}
		v.Errors = verrs
		s.render(w, r, http.StatusUnprocessableEntity, view.ContentRequestPage(s.page(r, cur.Title, "content"), v))
		return
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, "success", "Saved. "+q.RequesterName+" is told in the app.")
	s.redirect(w, r, "/content/requests/"+id.String())
}

// handleInboxShare records that the rep shared or presented an asset on a
// lead and answers with the row, showing the tracked link to send.
func (s *Server) handleInboxShare(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := s.inboxLeadID(w, r)
	if !ok {
		return
	}
	in, errs := shareInput(r)
	if errs != nil {
		s.inboxAnswer(w, r, id, lead.Lead{}, errs, "", "share")
		return
	}
	act, _, err := s.store.AddActivity(r.Context(), p.TenantID(), p, id, in, s.now())
	var l lead.Lead
	if err == nil {
		l, err = s.store.FindLead(r.Context(), p.TenantID(), id)
	}
	s.inboxAnswerShared(w, r, id, l, err, act.LinkToken)
}

func shareInput(r *http.Request) (lead.ActivityInput, validator.Errors) {
	var errs validator.Errors
	raw := r.PostFormValue("asset_id")
	errs.Check(raw != "", "asset_id", "pick the asset you shared")
	in := lead.ActivityInput{Kind: lead.ActContentShared, Note: r.PostFormValue("note"), AssetID: parseIDField(&errs, "asset_id", &raw)}
	in.Normalize()
	return in, errs.OrNil()
}

// handleLeadShare is the lead page's share form.
func (s *Server) handleLeadShare(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := s.activityLead(w, r, p)
	if !ok {
		return
	}
	in, errs := shareInput(r)
	if errs != nil {
		s.leadPageAnswer(w, r, id, errs, "", "")
		return
	}
	_, _, err := s.store.AddActivity(r.Context(), p.TenantID(), p, id, in, s.now())
	s.leadPageAnswer(w, r, id, err, "Use recorded. Send the prospect the tracked link under Content.", "")
}
