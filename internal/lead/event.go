package lead

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/validator"
)

// ClockSkew is how far in the future an event time may be, for clocks of
// other systems that run a little ahead.
const ClockSkew = time.Minute

// TransitionInput asks for a stage change.
type TransitionInput struct {
	To              Stage
	Reason          string
	Note            string
	At              *time.Time
	Amount          *Cents
	OwnerID         *uuid.UUID
	ExpectedVersion *int
}

// Normalize trims text fields.
func (in *TransitionInput) Normalize() {
	in.Reason = strings.TrimSpace(in.Reason)
	in.Note = strings.TrimSpace(in.Note)
}

// ValidateTransition decides whether in may move l now: the move itself
// (a *MoveError for a refused move) and its fields (validator.Errors).
func ValidateTransition(l Lead, in TransitionInput, m Mover, reasons []string, now time.Time) error {
	if !in.To.Valid() {
		return validator.Errors{"to": "must be one of new, mql, accepted, rejected, sql, opportunity, won, lost, recycled"}
	}
	needsReason, needsAmount, err := CheckMove(l.Stage, in.To, m)
	if err != nil {
		return err
	}
	var errs validator.Errors
	if needsReason && in.Reason == "" {
		errs.Add("reason", "is required for this move: one of "+strings.Join(reasons, ", "))
	}
	if in.Reason != "" {
		known := false
		for _, r := range reasons {
			known = known || r == in.Reason
		}
		errs.Check(known, "reason", "must be one of the tenant's reasons: "+strings.Join(reasons, ", "))
	}
	if needsAmount {
		errs.Check(in.Amount != nil, "amount", "is required to open an opportunity")
	}
	if in.Amount != nil {
		errs.Check(*in.Amount > 0, "amount", "must be more than 0")
		errs.Check(in.To == StageOpportunity || in.To == StageWon, "amount", "is only taken by moves to opportunity or won")
	}
	if in.OwnerID != nil {
		errs.Check(in.To == StageMQL, "owner_id", "is only taken by a handoff (a move to mql)")
	}
	errs.Check(validator.MaxChars(in.Note, 2000), "note", "must be at most 2000 characters")
	if in.At != nil {
		errs.Check(!in.At.After(now.Add(ClockSkew)), "at", "may not be in the future")
		errs.Check(!in.At.Before(l.StageChangedAt), "at", fmt.Sprintf("may not be before the lead's latest transition (%s)", l.StageChangedAt.UTC().Format(time.RFC3339)))
	}
	// A nil map in an error interface is not a nil error.
	if errs == nil {
		return nil
	}
	return errs
}

// ActivityKind is a touch or signal on a lead.
type ActivityKind string

// The activity kinds of DESIGN.md §2.
const (
	ActCall          ActivityKind = "call"
	ActEmail         ActivityKind = "email"
	ActMeeting       ActivityKind = "meeting"
	ActLinkedIn      ActivityKind = "linkedin"
	ActNote          ActivityKind = "note"
	ActNurture       ActivityKind = "nurture"
	ActPageView      ActivityKind = "page_view"
	ActContentShared ActivityKind = "content_shared"
)

// ActivityKinds lists every kind.
var ActivityKinds = []ActivityKind{ActCall, ActEmail, ActMeeting, ActLinkedIn, ActNote, ActNurture, ActPageView, ActContentShared}

// TouchKinds are the activities that count as touches (first touch, attempts).
var TouchKinds = []ActivityKind{ActCall, ActEmail, ActMeeting, ActLinkedIn}

// Valid reports whether k is a known kind.
func (k ActivityKind) Valid() bool {
	for _, x := range ActivityKinds {
		if k == x {
			return true
		}
	}
	return false
}

// Touch reports whether k counts as a touch.
func (k ActivityKind) Touch() bool {
	for _, x := range TouchKinds {
		if k == x {
			return true
		}
	}
	return false
}

// Label is the kind as people say it.
func (k ActivityKind) Label() string {
	switch k {
	case ActLinkedIn:
		return "LinkedIn"
	case ActPageView:
		return "Page view"
	case ActContentShared:
		return "Content shared"
	}
	return strings.ToUpper(string(k[:1])) + string(k[1:])
}

// ActivityInput logs an activity.
type ActivityInput struct {
	Kind    ActivityKind
	At      *time.Time
	Note    string
	URL     string
	AssetID *uuid.UUID
}

// Normalize trims text fields.
func (in *ActivityInput) Normalize() {
	in.Note = strings.TrimSpace(in.Note)
	in.URL = strings.TrimSpace(in.URL)
}

// Validate checks an activity on l at now: late logging is fine, from the
// lead's creation on (DESIGN.md §4.1, History).
func (in ActivityInput) Validate(l Lead, now time.Time) validator.Errors {
	var errs validator.Errors
	if !in.Kind.Valid() {
		errs.Add("kind", "must be one of call, email, meeting, linkedin, note, nurture, page_view, content_shared")
		return errs
	}
	errs.Check(validator.MaxChars(in.Note, 2000), "note", "must be at most 2000 characters")
	if in.URL != "" || in.Kind == ActPageView {
		errs.Check(ValidHTTPURL(in.URL), "url", "must be an http(s) URL")
		errs.Check(len(in.URL) <= 2000, "url", "must be at most 2000 characters")
	}
	if in.Kind == ActContentShared {
		errs.Check(in.AssetID != nil, "asset_id", "is required for content_shared: the asset that was shared")
	} else {
		errs.Check(in.AssetID == nil, "asset_id", "is only taken by content_shared")
	}
	if in.At != nil {
		errs.Check(!in.At.After(now.Add(ClockSkew)), "at", "may not be in the future")
		errs.Check(!in.At.Before(l.CreatedAt), "at", fmt.Sprintf("may not be before the lead was created (%s)", l.CreatedAt.UTC().Format(time.RFC3339)))
	}
	return errs.OrNil()
}

// ValidHTTPURL reports whether s is an absolute http or https URL with a host.
func ValidHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// SnoozeInput pauses a lead in the inbox until a time, with a reason.
type SnoozeInput struct {
	Until  time.Time
	Reason string
}

// Validate checks a snooze at now: in the future, at most 90 days ahead.
func (in SnoozeInput) Validate(now time.Time) validator.Errors {
	var errs validator.Errors
	errs.Check(in.Until.After(now), "until", "must be in the future")
	errs.Check(!in.Until.After(now.AddDate(0, 0, 90)), "until", "must be within 90 days")
	errs.Check(validator.NotBlank(in.Reason), "reason", "say why, e.g. \"prospect asked for a call back next week\"")
	errs.Check(validator.MaxChars(in.Reason, 500), "reason", "must be at most 500 characters")
	return errs.OrNil()
}

// Event is one entry of a lead's timeline.
type Event struct {
	Type  string // transition, activity, timer, assignment, pause, content_open
	At    time.Time
	Actor EventActor
	// transition
	From, To Stage
	Reason   string
	Note     string
	Amount   *Cents
	// activity; content_open (a prospect opened a tracked link) has the
	// asset too
	Kind       ActivityKind
	URL        string
	AssetID    *uuid.UUID
	AssetTitle string
	// assignment
	OwnerID   *uuid.UUID
	OwnerName string
	TeamID    *uuid.UUID
	TeamName  string
	Why       string
	// pause
	Until *time.Time
	// timer
	TimerKind   string
	TimerStatus string
	DueAt       *time.Time
}

// EventActor is who caused a timeline event.
type EventActor struct {
	Type string // user, token, system
	ID   *uuid.UUID
	Name string
}
