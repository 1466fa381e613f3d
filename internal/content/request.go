package content

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// RequestStatus is where a content request stands.
type RequestStatus string

// The statuses of a request: sales opens it, marketing works on it and
// either fulfils it with an asset or declines it.
const (
	RequestOpen       RequestStatus = "open"
	RequestInProgress RequestStatus = "in_progress"
	RequestFulfilled  RequestStatus = "fulfilled"
	RequestDeclined   RequestStatus = "declined"
)

// RequestStatuses lists every status, in queue order.
var RequestStatuses = []RequestStatus{RequestOpen, RequestInProgress, RequestFulfilled, RequestDeclined}

// Valid reports whether s is a known status.
func (s RequestStatus) Valid() bool { return slices.Contains(RequestStatuses, s) }

// Closed reports whether the request is done with (fulfilled or declined).
func (s RequestStatus) Closed() bool { return s == RequestFulfilled || s == RequestDeclined }

// Label is the status in words.
func (s RequestStatus) Label() string {
	switch s {
	case RequestOpen:
		return "Open"
	case RequestInProgress:
		return "In progress"
	case RequestFulfilled:
		return "Fulfilled"
	case RequestDeclined:
		return "Declined"
	}
	return string(s)
}

// Request is sales asking marketing for an asset that does not exist yet.
type Request struct {
	ID            uuid.UUID
	Title         string
	Objection     string
	Segment       *string
	LeadID        *uuid.UUID
	LeadName      string
	RequesterID   uuid.UUID
	RequesterName string
	Status        RequestStatus
	AssetID       *uuid.UUID
	AssetTitle    string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ClosedAt      *time.Time
	Comments      []Comment
}

// Age is how long the request has waited: until now while it is open,
// until it was closed once it is.
func (r Request) Age(now time.Time) time.Duration {
	if r.ClosedAt != nil {
		return r.ClosedAt.Sub(r.CreatedAt)
	}
	return now.Sub(r.CreatedAt)
}

// Comment is one message on a request's thread.
type Comment struct {
	ID         int64
	AuthorID   *uuid.UUID
	AuthorName string
	Body       string
	CreatedAt  time.Time
}

// RequestInput is a new request.
type RequestInput struct {
	Title     string
	Objection string
	Segment   *string
	LeadID    *uuid.UUID
}

// Normalize trims the text fields.
func (in *RequestInput) Normalize() {
	in.Title = strings.TrimSpace(in.Title)
	in.Objection = strings.TrimSpace(in.Objection)
	if in.Segment != nil {
		s := strings.TrimSpace(*in.Segment)
		if s == "" {
			in.Segment = nil
		} else {
			in.Segment = &s
		}
	}
}

// Validate checks a new request: it must say what is missing and which
// objection the asset must answer, or marketing cannot act on it.
func (in RequestInput) Validate() validator.Errors {
	var errs validator.Errors
	errs.Check(in.Title != "", "title", "is required: what asset is missing, e.g. \"Case study for logistics\"")
	errs.Check(validator.MaxChars(in.Title, MaxTitle), "title", "must be at most 200 characters")
	errs.Check(in.Objection != "", "objection", "is required: the objection or question the asset must answer")
	errs.Check(validator.MaxChars(in.Objection, MaxObjection), "objection", "must be at most 2000 characters")
	return errs.OrNil()
}

// RequestUpdate changes a request; nil fields stay.
type RequestUpdate struct {
	Status  *RequestStatus
	AssetID *uuid.UUID
	Comment string
}

// Validate checks the update against the request as it stands: a
// fulfilled request names the asset that fulfils it.
func (u RequestUpdate) Validate(cur Request) validator.Errors {
	var errs validator.Errors
	if u.Status != nil {
		errs.Check(u.Status.Valid(), "status", "must be one of open, in_progress, fulfilled, declined")
		if *u.Status == RequestFulfilled {
			errs.Check(u.AssetID != nil || cur.AssetID != nil, "asset_id", "is required to fulfil a request: the asset that answers it")
		}
	}
	u.Comment = strings.TrimSpace(u.Comment)
	errs.Check(validator.MaxChars(u.Comment, MaxComment), "comment", "must be at most 4000 characters")
	errs.Check(u.Status != nil || u.AssetID != nil || u.Comment != "", "status", "nothing to change: give a status, an asset or a comment")
	return errs.OrNil()
}

// Figures are an asset's use and what became of the leads it touched,
// beside leads of the same segment that went without it.
type Figures struct {
	Uses          int64 // content_shared activities naming the asset
	Leads         int64 // distinct leads it was used on
	Opens         int64 // counted opens of its tracked links
	Accepted      int64 // of those leads, accepted at some point
	Opportunities int64 // reached opportunity (or skipped past it to won)
	Won           int64
	// The comparison: handed-off leads of the asset's segment (of every
	// segment when the asset serves all) on which it was never used.
	BaseLeads         int64
	BaseAccepted      int64
	BaseOpportunities int64
	BaseWon           int64
}

// AcceptedRate is Accepted ÷ Leads, nil without leads.
func (f Figures) AcceptedRate() *float64 { return metric.Rate(f.Accepted, f.Leads) }

// OpportunityRate is Opportunities ÷ Leads.
func (f Figures) OpportunityRate() *float64 { return metric.Rate(f.Opportunities, f.Leads) }

// WonRate is Won ÷ Leads.
func (f Figures) WonRate() *float64 { return metric.Rate(f.Won, f.Leads) }

// BaseAcceptedRate is the comparison's accepted share.
func (f Figures) BaseAcceptedRate() *float64 { return metric.Rate(f.BaseAccepted, f.BaseLeads) }

// BaseOpportunityRate is the comparison's opportunity share.
func (f Figures) BaseOpportunityRate() *float64 {
	return metric.Rate(f.BaseOpportunities, f.BaseLeads)
}

// BaseWonRate is the comparison's won share.
func (f Figures) BaseWonRate() *float64 { return metric.Rate(f.BaseWon, f.BaseLeads) }

// OpenWindow is how long one prospect's repeated opens of a tracked link
// count once: reloading a PDF ten times is one open.
const OpenWindow = time.Hour

// CountsOpen reports whether an open at now counts, given the time of the
// link's last counted open.
func CountsOpen(lastCounted *time.Time, now time.Time) bool {
	return lastCounted == nil || now.Sub(*lastCounted) >= OpenWindow
}

// linkSecretLen is the random part of a tracked link: 128 bits, so links
// cannot be guessed or enumerated.
const linkSecretLen = 16

// NewLinkToken returns a tracked-link token for tenant tid. It carries the
// tenant so the public redirect can find the link under row-level security.
func NewLinkToken(tid tenant.ID) string {
	b := make([]byte, linkSecretLen)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+ panics itself).
		panic(err)
	}
	return hex.EncodeToString(tid[:]) + "." + base64.RawURLEncoding.EncodeToString(b)
}

// ParseLinkToken returns the tenant a token claims, or false for anything
// that is not a token's shape.
func ParseLinkToken(token string) (tenant.ID, bool) {
	hexID, secret, ok := strings.Cut(token, ".")
	if !ok || len(hexID) != 32 || len(token) > 80 {
		return tenant.ID{}, false
	}
	raw, err := hex.DecodeString(hexID)
	if err != nil {
		return tenant.ID{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(b) != linkSecretLen {
		return tenant.ID{}, false
	}
	u, err := uuid.FromBytes(raw)
	if err != nil {
		return tenant.ID{}, false
	}
	return tenant.ID(u), true
}
