package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/web/view"
)

// waitingText renders how long a lead has waited: "12 min", "3 h 5 min",
// "2 d 4 h".
func waitingText(since, now time.Time) string {
	d := now.Sub(since)
	if d < time.Minute {
		return "just now"
	}
	mins := int(d.Minutes())
	switch {
	case mins < 60:
		return fmt.Sprintf("%d min", mins)
	case mins < 24*60:
		return fmt.Sprintf("%d h %d min", mins/60, mins%60)
	}
	return fmt.Sprintf("%d d %d h", mins/(24*60), (mins/60)%24)
}

// inboxRefs is what every inbox row offers: reasons, touch kinds, reps.
type inboxRefs struct {
	reasons []view.Option
	touches []view.Option
	reps    []view.Option
	assets  []view.Option
}

func (s *Server) loadInboxRefs(r *http.Request, p auth.Principal) (inboxRefs, error) {
	f := inboxFilter(p, 0)
	f.RefsOnly = true
	pg, err := s.store.FindInboxPage(r.Context(), p.TenantID(), f, inboxNeedsMembers(p), s.now())
	if err != nil {
		return inboxRefs{}, err
	}
	return makeInboxRefs(p, pg), nil
}

// inboxFilter is whose leads the inbox shows: a manager's team too.
func inboxFilter(p auth.Principal, limit int) postgres.InboxFilter {
	f := postgres.InboxFilter{OwnerID: p.ID, Limit: limit}
	if p.Role == tenant.RoleManager && p.TeamID != nil {
		f.TeamID = p.TeamID
	}
	return f
}

func inboxNeedsMembers(p auth.Principal) bool {
	return p.Role == tenant.RoleManager || p.Role == tenant.RoleAdmin
}

func makeInboxRefs(p auth.Principal, pg postgres.InboxPage) inboxRefs {
	var ref inboxRefs
	for _, x := range pg.Reasons {
		ref.reasons = append(ref.reasons, view.Option{Value: x.Code, Label: x.Label})
	}
	for _, k := range lead.TouchKinds {
		ref.touches = append(ref.touches, view.Option{Value: string(k), Label: k.Label()})
	}
	for _, a := range pg.Assets {
		ref.assets = append(ref.assets, view.Option{Value: a.ID.String(), Label: a.Title + " (" + a.Kind.Label() + ")"})
	}
	if p.Role == tenant.RoleManager && p.TeamID == nil {
		return ref // a manager without a team reassigns nobody
	}
	for _, m := range pg.Members {
		label := m.Name
		if m.Away {
			label += " (away)"
		}
		ref.reps = append(ref.reps, view.Option{Value: m.ID.String(), Label: label})
	}
	return ref
}

// viewerMover approximates the store's rule for showing buttons; the store
// decides for real when the button is pressed.
func viewerMover(p auth.Principal, l lead.Lead) lead.Mover {
	m := lead.Mover{Role: p.Role, Owner: l.OwnerID != nil && *l.OwnerID == p.ID}
	m.Manager = p.Role == tenant.RoleManager && p.TeamID != nil && l.TeamID != nil && *p.TeamID == *l.TeamID
	return m
}

// countdowns shows the running timers of a lead with their time left.
func countdowns(ts []postgres.Timer, now time.Time, loc *time.Location) []view.CountdownView {
	var out []view.CountdownView
	for _, t := range ts {
		out = append(out, view.CountdownView{Kind: kindName(t.Kind), Left: timeLeft(t.DueAt, now), DueISO: t.DueAt.UTC().Format(time.RFC3339),
			DueAt: t.DueAt.In(loc).Format("Mon 2 Jan, 15:04"), AtRisk: t.Status == "at_risk" || !t.DueAt.After(now)})
	}
	return out
}

func (s *Server) inboxRow(p auth.Principal, l lead.Lead, ref inboxRefs) view.LeadRowView {
	now := s.now()
	loc := p.Location()
	row := view.LeadRowView{Lead: l, Waiting: waitingText(l.StageChangedAt, now), Reasons: ref.reasons, Touches: ref.touches, Reps: ref.reps, Assets: ref.assets,
		TomorrowISO: now.In(loc).AddDate(0, 0, 1).Format(time.DateOnly)}
	m := viewerMover(p, l)
	_, _, accErr := lead.CheckMove(l.Stage, lead.StageAccepted, m)
	row.CanDecide = l.Stage == lead.StageMQL && accErr == nil
	row.CanWork = l.Stage.Open() && (m.Owner || m.Manager || p.Role == tenant.RoleAdmin)
	row.Done = !l.Stage.Open()
	if l.SnoozedUntil != nil && l.SnoozedUntil.After(now) {
		row.Snoozed = "until " + l.SnoozedUntil.In(loc).Format("Mon 2 Jan")
	}
	return row
}

func (s *Server) handleInboxShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	f := inboxFilter(p, 0)
	pg, err := s.store.FindInboxPage(r.Context(), p.TenantID(), f, inboxNeedsMembers(p), s.now())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	ref := makeInboxRefs(p, pg)
	manager := f.TeamID != nil
	v := view.InboxView{Manager: manager, Count: len(pg.Leads)}
	if len(pg.Leads) >= postgres.InboxLimit {
		// A full page: the rest are in the lead list, filtered the same way.
		v.MoreURL = "/leads?owner_id=" + p.ID.String()
		if manager {
			v.MoreURL = "/leads?team_id=" + p.TeamID.String()
		}
	}
	for _, l := range pg.Leads {
		row := s.inboxRow(p, l, ref)
		row.Timers = countdowns(pg.Timers[l.ID], s.now(), p.Location())
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, http.StatusOK, view.InboxPage(s.page(r, "Inbox", "inbox"), v))
}

// formVersion reads the version the form was rendered with, so a change
// made meanwhile by someone else is a conflict rather than overwritten.
func formVersion(r *http.Request) *int {
	v, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		return nil
	}
	return &v
}

// inboxAnswer renders the row after an inbox action: the new state with a
// message, or the current state with what went wrong, in place.
func (s *Server) inboxAnswer(w http.ResponseWriter, r *http.Request, id uuid.UUID, l lead.Lead, err error, done, open string) {
	s.inboxAnswerWith(w, r, id, l, err, done, open, "")
}

// inboxAnswerShared answers a share with the row and the tracked link of
// token to send the prospect.
func (s *Server) inboxAnswerShared(w http.ResponseWriter, r *http.Request, id uuid.UUID, l lead.Lead, err error, token string) {
	s.inboxAnswerWith(w, r, id, l, err, "Use recorded. Send the prospect the tracked link below, so opens are counted.", "share", token)
}

func (s *Server) inboxAnswerWith(w http.ResponseWriter, r *http.Request, id uuid.UUID, l lead.Lead, err error, done, open, token string) {
	p, _ := auth.FromContext(r.Context())
	ref, rerr := s.loadInboxRefs(r, p)
	if rerr != nil {
		s.renderError(w, r, rerr)
		return
	}
	manager := p.Role == tenant.RoleManager && p.TeamID != nil
	var conflict *postgres.ConflictError
	var moveErr *lead.MoveError
	var verrs validator.Errors
	switch {
	case err == nil:
		row := s.inboxRow(p, l, ref)
		row.Message, row.MessageKind = done, "success"
		if token != "" {
			row.SharedURL = s.trackedURL(token)
		}
		ts, terr := s.store.FindTimers(r.Context(), p.TenantID(), postgres.SLAFilter{LeadID: &l.ID, Statuses: []string{"running", "at_risk"}})
		if terr != nil {
			s.renderError(w, r, terr)
			return
		}
		row.Timers = countdowns(ts.Items, s.now(), p.Location())
		s.render(w, r, http.StatusOK, view.InboxRow(row, manager))
		return
	case errors.As(err, &conflict):
		cur := conflict.Lead
		if cur.ID == uuid.Nil {
			if cur, err = s.store.FindLead(r.Context(), p.TenantID(), id); err != nil {
				s.renderError(w, r, err)
				return
			}
		}
		row := s.inboxRow(p, cur, ref)
		row.Message, row.MessageKind = "Someone else changed this lead meanwhile: it is now "+cur.Stage.Label()+ownedBy(cur)+". Nothing of yours was saved.", "error"
		s.render(w, r, http.StatusConflict, view.InboxRow(row, manager))
		return
	case errors.As(err, &moveErr), errors.As(err, &verrs), errors.Is(err, auth.ErrForbidden):
		cur, ferr := s.store.FindLead(r.Context(), p.TenantID(), id)
		if ferr != nil {
			s.renderError(w, r, ferr)
			return
		}
		row := s.inboxRow(p, cur, ref)
		row.Errors, row.Open, row.MessageKind = verrs, open, "error"
		switch {
		case moveErr != nil:
			row.Message = capitalize(moveErr.Reason) + "."
		case verrs == nil:
			row.Message = "You may not do this to this lead."
		}
		status := http.StatusUnprocessableEntity
		if errors.Is(err, auth.ErrForbidden) {
			status = http.StatusForbidden
		}
		s.render(w, r, status, view.InboxRow(row, manager))
		return
	}
	s.renderError(w, r, err)
}

func ownedBy(l lead.Lead) string {
	if l.OwnerName != "" {
		return ", owned by " + l.OwnerName
	}
	return ""
}

func (s *Server) inboxLeadID(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, ok := leadIDParam(r)
	if !ok {
		s.renderError(w, r, postgres.ErrNotFound)
	}
	return id, ok
}

func (s *Server) handleInboxAccept(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := s.inboxLeadID(w, r)
	if !ok {
		return
	}
	l, err := s.store.Transition(r.Context(), p.TenantID(), p, id,
		lead.TransitionInput{To: lead.StageAccepted, ExpectedVersion: formVersion(r)}, s.now())
	s.inboxAnswer(w, r, id, l, err, "Accepted. It is yours to work now.", "")
}

func (s *Server) handleInboxReject(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := s.inboxLeadID(w, r)
	if !ok {
		return
	}
	in := lead.TransitionInput{To: lead.StageRejected, Reason: r.PostFormValue("reason"), Note: r.PostFormValue("note"), ExpectedVersion: formVersion(r)}
	in.Normalize()
	if in.Reason == "" {
		// Say it in the form rather than as a store round trip.
		s.inboxAnswer(w, r, id, lead.Lead{}, validator.Errors{"reason": "pick the reason for rejecting this lead"}, "", "reject")
		return
	}
	l, err := s.store.Transition(r.Context(), p.TenantID(), p, id, in, s.now())
	s.inboxAnswer(w, r, id, l, err, "Rejected. Marketing sees why.", "reject")
}

func (s *Server) handleInboxTouch(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := s.inboxLeadID(w, r)
	if !ok {
		return
	}
	in := lead.ActivityInput{Kind: lead.ActivityKind(r.PostFormValue("kind")), Note: r.PostFormValue("note")}
	in.Normalize()
	if !in.Kind.Touch() {
		s.inboxAnswer(w, r, id, lead.Lead{}, validator.Errors{"kind": "pick call, email, meeting or LinkedIn"}, "", "touch")
		return
	}
	_, l, err := s.store.AddActivity(r.Context(), p.TenantID(), p, id, in, s.now())
	if err == nil {
		l, err = s.store.FindLead(r.Context(), p.TenantID(), id)
	}
	s.inboxAnswer(w, r, id, l, err, in.Kind.Label()+" logged.", "touch")
}

func (s *Server) handleInboxSnooze(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := s.inboxLeadID(w, r)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	day, err := time.ParseInLocation(time.DateOnly, r.PostFormValue("until"), p.Location())
	if err != nil {
		s.inboxAnswer(w, r, id, lead.Lead{}, validator.Errors{"until": "pick the date to be reminded"}, "", "snooze")
		return
	}
	// A snoozed lead comes back at the start of that day's business hours.
	in := lead.SnoozeInput{Until: day.Add(9 * time.Hour), Reason: reason}
	if errs := in.Validate(s.now()); errs != nil {
		if msg, ok := errs["reason"]; ok {
			errs["reason_snooze"] = msg
		}
		s.inboxAnswer(w, r, id, lead.Lead{}, errs, "", "snooze")
		return
	}
	l, err := s.store.Snooze(r.Context(), p.TenantID(), p, id, in, s.now())
	s.inboxAnswer(w, r, id, l, err, "Snoozed until "+in.Until.Format("Mon 2 Jan")+".", "snooze")
}

func (s *Server) handleInboxReassign(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := s.inboxLeadID(w, r)
	if !ok {
		return
	}
	owner, err := uuid.Parse(r.PostFormValue("owner_id"))
	if err != nil {
		s.inboxAnswer(w, r, id, lead.Lead{}, validator.Errors{"owner_id": "pick a rep"}, "", "")
		return
	}
	l, err := s.store.Assign(r.Context(), p.TenantID(), p, id, owner, s.now())
	s.inboxAnswer(w, r, id, l, err, "Reassigned to "+l.OwnerName+".", "")
}

// visibility limits what a rep or manager sees to their own or their
// team's leads; everyone else sees every lead of the tenant.
func visibility(p auth.Principal, f *lead.Filter) {
	switch p.Role {
	case tenant.RoleRep:
		f.VisibleOwner = &p.ID
	case tenant.RoleManager:
		f.VisibleOwner = &p.ID
		f.VisibleTeam = p.TeamID
	}
}

// canSee reports whether p may open lead l (the same rule as visibility).
func canSee(p auth.Principal, l lead.Lead) bool {
	owner := l.OwnerID != nil && *l.OwnerID == p.ID
	switch p.Role {
	case tenant.RoleRep:
		return owner
	case tenant.RoleManager:
		return owner || (p.TeamID != nil && l.TeamID != nil && *p.TeamID == *l.TeamID)
	}
	return true
}

func (s *Server) handleLeadList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	f, errs := leadFilter(r, s.now())
	visibility(p, &f)
	q := r.URL.Query()
	v := view.LeadListView{Filter: view.LeadFilterView{Q: q.Get("q"), Stage: q.Get("stage"), OwnerID: q.Get("owner_id"),
		TeamID: q.Get("team_id"), Segment: q.Get("segment"), Source: q.Get("source"), Campaign: q.Get("campaign")}, Errors: errs}
	if h := f.Handoff; h != nil {
		v.Cohort, v.DashboardURL = cohortText(*h, p), cohortDashboard(q)
		v.Filter.Cohort = map[string]string{}
		for _, k := range []string{"handoff_from", "handoff_to", "decision", "reached", "touched"} {
			if q.Get(k) != "" {
				v.Filter.Cohort[k] = q.Get(k)
			}
		}
	}
	status := http.StatusOK
	if errs == nil {
		page, err := s.store.FindLeads(r.Context(), p.TenantID(), f)
		var verrs validator.Errors
		switch {
		case errors.As(err, &verrs):
			v.Errors, status = verrs, http.StatusUnprocessableEntity
		case err != nil:
			s.renderError(w, r, err)
			return
		default:
			v.Leads = page.Leads
			if page.NextCursor != "" {
				next := cloneQuery(q)
				next.Set("cursor", page.NextCursor)
				v.NextURL = "/leads?" + next.Encode()
			}
			if q.Get("cursor") != "" {
				first := cloneQuery(q)
				first.Del("cursor")
				v.FirstURL = "/leads?" + first.Encode()
			}
		}
	} else {
		status = http.StatusUnprocessableEntity
	}
	if err := s.fillLeadFilterOptions(r, p, &v); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, view.LeadListPage(s.page(r, "Leads", "leads"), v))
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func (s *Server) fillLeadFilterOptions(r *http.Request, p auth.Principal, v *view.LeadListView) error {
	for _, st := range lead.Stages {
		v.Stages = append(v.Stages, view.Option{Value: string(st), Label: st.Label()})
	}
	members, err := s.store.FindMembers(r.Context(), p.TenantID())
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.Role == tenant.RoleRep || m.Role == tenant.RoleManager || m.Role == tenant.RoleAdmin {
			v.Owners = append(v.Owners, view.Option{Value: m.ID.String(), Label: m.Name})
		}
	}
	teams, err := s.store.FindTeams(r.Context(), p.TenantID())
	if err != nil {
		return err
	}
	for _, t := range teams {
		v.Teams = append(v.Teams, view.Option{Value: t.ID.String(), Label: t.Name})
	}
	segments, err := s.store.FindSegments(r.Context(), p.TenantID())
	if err != nil {
		return err
	}
	for _, sg := range segments {
		v.Segments = append(v.Segments, view.Option{Value: sg, Label: sg})
	}
	return nil
}

// leadView loads everything the lead page shows.
func (s *Server) leadView(r *http.Request, p auth.Principal, id uuid.UUID) (view.LeadView, error) {
	d, err := s.store.FindLeadDetail(r.Context(), p.TenantID(), id, s.now())
	if err != nil {
		return view.LeadView{}, err
	}
	l := d.Lead
	if !canSee(p, l) {
		return view.LeadView{}, fmt.Errorf("lead of another rep: %w", postgres.ErrNotFound)
	}
	labels := map[string]string{}
	v := view.LeadView{Lead: l}
	for _, x := range d.Reasons {
		labels[x.Code] = x.Label
		v.Reasons = append(v.Reasons, view.Option{Value: x.Code, Label: x.Label})
	}
	for _, e := range d.Events {
		v.Events = append(v.Events, eventView(e, labels, p.Location()))
	}
	v.Timers = leadTimerViews(d.Timers, s.now(), p.Location())
	m := viewerMover(p, l)
	for _, to := range lead.AllowedTargets(l.Stage, m) {
		needsReason, needsAmount, _ := lead.CheckMove(l.Stage, to, m)
		v.Moves = append(v.Moves, view.MoveOption{To: to, NeedsReason: needsReason, NeedsAmount: needsAmount})
	}
	v.CanLog = p.Can(auth.PermWorkLeads) || p.Can(auth.PermHandoff)
	for _, c := range d.Content {
		cv := view.LeadContentView{AssetID: c.AssetID.String(), Title: c.Title, Kind: c.Kind.Label(), TrackedURL: s.trackedURL(c.Token),
			Opens: c.Opens, Archived: c.Archived}
		if c.LastOpened != nil {
			cv.LastOpened = ", last " + c.LastOpened.In(p.Location()).Format("Mon 2 Jan, 15:04")
		}
		v.Content = append(v.Content, cv)
	}
	for _, a := range d.Assets {
		v.Assets = append(v.Assets, view.Option{Value: a.ID.String(), Label: a.Title + " (" + a.Kind.Label() + ")"})
	}
	for _, k := range lead.ActivityKinds {
		if k == lead.ActContentShared {
			continue // shared from the content library
		}
		v.Kinds = append(v.Kinds, view.Option{Value: string(k), Label: k.Label()})
	}
	return v, nil
}

// leadTimerViews phrases a lead's clocks, with the business time each
// holder held them.
func leadTimerViews(ts []postgres.LeadTimer, now time.Time, loc *time.Location) []view.LeadTimerView {
	const layout = "Mon 2 Jan, 15:04"
	var out []view.LeadTimerView
	for _, t := range ts {
		v := view.LeadTimerView{Kind: kindName(t.Kind), Side: t.Side, Status: t.Status, Started: t.StartedAt.In(loc).Format(layout),
			Due: t.DueAt.In(loc).Format(layout), DueISO: t.DueAt.UTC().Format(time.RFC3339), Version: t.AgreementVersion}
		if t.Status == "running" || t.Status == "at_risk" {
			v.Left = timeLeft(t.DueAt, now)
		}
		if t.StoppedAt != nil {
			v.Stopped = t.StoppedAt.In(loc).Format(layout)
		}
		if t.PausedMinutes > 0 {
			v.Paused = sla.DescribeMinutes(t.PausedMinutes)
		}
		for _, h := range t.Holders {
			name := h.HolderName
			if h.HolderID == nil {
				name = "Team queue"
			} else if name == "" {
				name = "(no longer a member)"
			}
			v.Holders = append(v.Holders, view.HolderTimeView{Name: name, Business: businessText(h.Business),
				Span: h.From.In(loc).Format(layout) + " – " + h.To.In(loc).Format(layout)})
		}
		out = append(out, v)
	}
	return out
}

// businessText renders a business duration: "2 h 05 min", "40 min".
func businessText(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m < 60 {
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d h %02d min", m/60, m%60)
}

// eventView phrases one timeline event for people.
func eventView(e lead.Event, reasons map[string]string, loc *time.Location) view.EventView {
	v := view.EventView{Type: e.Type, At: e.At.In(loc).Format("Mon 2 Jan 2006, 15:04"), Actor: e.Actor.Name}
	reason := func() string {
		if l, ok := reasons[e.Reason]; ok {
			return l
		}
		return e.Reason
	}
	switch e.Type {
	case "transition":
		switch {
		case e.From == "":
			v.Title = "Lead created"
		case e.To == lead.StageMQL:
			v.Title = "Handed off to sales"
		case e.To == lead.StageRejected:
			v.Title = "Rejected: " + reason()
		case e.To == lead.StageLost:
			v.Title = "Lost: " + reason()
		case e.To == lead.StageRecycled && e.Reason != "":
			v.Title = "Recycled: " + reason()
		default:
			v.Title = "Moved from " + e.From.Label() + " to " + e.To.Label()
		}
		var detail []string
		if e.Amount != nil {
			detail = append(detail, "Amount "+e.Amount.String())
		}
		if e.Note != "" {
			detail = append(detail, e.Note)
		}
		v.Detail = strings.Join(detail, " · ")
	case "activity":
		v.Title = e.Kind.Label()
		if e.Kind.Touch() {
			v.Title += " logged"
		}
		if e.Kind == lead.ActContentShared {
			v.Title = "Shared " + e.AssetTitle
		}
		v.Detail = strings.TrimSpace(strings.Join([]string{e.URL, e.Note}, " "))
	case "content_open":
		v.Title = "Prospect opened " + e.AssetTitle
	case "assignment":
		switch {
		case e.OwnerName != "" && e.TeamName != "":
			v.Title = "Assigned to " + e.OwnerName + " (" + e.TeamName + ")"
		case e.OwnerName != "":
			v.Title = "Assigned to " + e.OwnerName
		case e.TeamName != "":
			v.Title = "Waiting in the " + e.TeamName + " queue"
		default:
			v.Title = "Not assigned"
		}
		v.Detail = e.Why
	case "pause":
		v.Title = "Snoozed until " + e.Until.In(loc).Format("Mon 2 Jan 2006, 15:04")
		v.Detail = e.Note
	case "timer":
		v.Title = "Timer " + e.TimerKind + ": " + e.TimerStatus
	}
	return v
}

func (s *Server) handleLeadShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	v, err := s.leadView(r, p, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.LeadPage(s.page(r, v.Lead.Name(), "leads"), v))
}

// leadPageAnswer re-renders the lead page with what went wrong, or
// redirects to it after a change.
func (s *Server) leadPageAnswer(w http.ResponseWriter, r *http.Request, id uuid.UUID, err error, done, moveTo string) {
	p, _ := auth.FromContext(r.Context())
	if err == nil {
		s.flash(r, "success", done)
		s.redirect(w, r, "/leads/"+id.String())
		return
	}
	var conflict *postgres.ConflictError
	var moveErr *lead.MoveError
	var verrs validator.Errors
	status := http.StatusUnprocessableEntity
	msg := ""
	switch {
	case errors.As(err, &conflict):
		status, msg = http.StatusConflict, "Someone else changed this lead meanwhile; here is its current state. Nothing of yours was saved."
	case errors.As(err, &moveErr):
		msg = capitalize(moveErr.Reason) + "."
	case errors.As(err, &verrs):
	case errors.Is(err, auth.ErrForbidden):
		status, msg = http.StatusForbidden, "You may not do this to this lead."
	default:
		s.renderError(w, r, err)
		return
	}
	v, verr := s.leadView(r, p, id)
	if verr != nil {
		s.renderError(w, r, verr)
		return
	}
	v.Errors, v.Message, v.MoveTo = verrs, msg, moveTo
	s.render(w, r, status, view.LeadPage(s.page(r, v.Lead.Name(), "leads"), v))
}

func (s *Server) handleLeadTransition(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.renderError(w, r, postgres.ErrNotFound)
		return
	}
	l, err := s.store.FindLead(r.Context(), p.TenantID(), id)
	if err == nil && !canSee(p, l) {
		err = postgres.ErrNotFound
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	in := lead.TransitionInput{To: lead.Stage(r.PostFormValue("to")), Reason: r.PostFormValue("reason"), Note: r.PostFormValue("note"),
		ExpectedVersion: formVersion(r)}
	in.Normalize()
	if a := strings.TrimSpace(r.PostFormValue("amount")); a != "" {
		c, err := lead.ParseCents(strings.ReplaceAll(a, ",", ""))
		if err != nil {
			s.leadPageAnswer(w, r, id, validator.Errors{"amount": "must be an amount such as 25000 or 1250.50"}, "", string(in.To))
			return
		}
		in.Amount = &c
	}
	_, err = s.store.Transition(r.Context(), p.TenantID(), p, id, in, s.now())
	s.leadPageAnswer(w, r, id, err, "Moved to "+in.To.Label()+".", string(in.To))
}

// activityLead is the lead of a lead-page activity form (a logged touch, a
// shared asset), if the viewer may log on it; otherwise it answers itself.
func (s *Server) activityLead(w http.ResponseWriter, r *http.Request, p auth.Principal) (uuid.UUID, bool) {
	id, ok := leadIDParam(r)
	if !ok {
		s.renderError(w, r, postgres.ErrNotFound)
		return id, false
	}
	if !p.Can(auth.PermWorkLeads) && !p.Can(auth.PermHandoff) {
		s.renderError(w, r, auth.ErrForbidden)
		return id, false
	}
	l, err := s.store.FindLead(r.Context(), p.TenantID(), id)
	if err == nil && !canSee(p, l) {
		err = postgres.ErrNotFound
	}
	if err != nil {
		s.renderError(w, r, err)
		return id, false
	}
	return id, true
}

func (s *Server) handleLeadActivity(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := s.activityLead(w, r, p)
	if !ok {
		return
	}
	in := lead.ActivityInput{Kind: lead.ActivityKind(r.PostFormValue("kind")), Note: r.PostFormValue("note"), URL: r.PostFormValue("url")}
	in.Normalize()
	_, _, err := s.store.AddActivity(r.Context(), p.TenantID(), p, id, in, s.now())
	s.leadPageAnswer(w, r, id, err, in.Kind.Label()+" logged.", "")
}

func (s *Server) handleNotificationList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	items, _, err := s.store.FindNotifications(r.Context(), p.TenantID(), p.ID, 100)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	out := make([]view.NotificationView, len(items))
	for i, n := range items {
		out[i] = view.NotificationView{Title: n.Title, Body: n.Body, Link: n.Link, At: n.CreatedAt.In(p.Location()).Format("Mon 2 Jan, 15:04"), Unread: n.ReadAt == nil}
	}
	s.render(w, r, http.StatusOK, view.NotificationsPage(s.page(r, "Notifications", ""), out))
}

func (s *Server) handleNotificationsRead(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if err := s.store.MarkNotificationsRead(r.Context(), p.TenantID(), p.ID, s.now()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.redirect(w, r, "/notifications")
}

// cohortText says which handoffs a dashboard drill-down lists.
func cohortText(h lead.HandoffFilter, p auth.Principal) string {
	loc := tenant.LoadLocation(p.Tenant.TimeZone)
	last := h.To.In(loc).AddDate(0, 0, -1)
	out := "Leads handed off from " + h.From.In(loc).Format("2 Jan 2006") + " to " + last.Format("2 Jan 2006")
	switch h.Decision {
	case "accepted", "rejected":
		out += ", " + h.Decision + " after the handoff"
	case "undecided":
		out += ", not yet accepted or rejected"
	}
	if h.Reached != "" {
		out += ", that reached " + stageLabel(string(h.Reached)) + " later"
	}
	if h.Touched != nil {
		if *h.Touched {
			out += ", touched before any next handoff"
		} else {
			out += ", never touched"
		}
	}
	return out + " (a lead handed off twice is listed once)"
}

// cohortDashboard is the dashboard the drill-down came from.
func cohortDashboard(q url.Values) string {
	d := url.Values{"from": {q.Get("handoff_from")}, "to": {q.Get("handoff_to")}}
	for _, k := range []string{"segment", "source", "campaign", "team_id"} {
		if q.Get(k) != "" {
			d.Set(k, q.Get(k))
		}
	}
	return "/?" + d.Encode()
}
