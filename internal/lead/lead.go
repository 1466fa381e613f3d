package lead

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/validator"
)

// Lead is a person or company handed through the funnel (DESIGN.md §2).
type Lead struct {
	ID             uuid.UUID
	ExternalID     *string
	Email          *string
	FirstName      string
	LastName       string
	Company        string
	Title          string
	Phone          string
	Country        string
	Segment        *string
	Source         string
	Campaign       string
	Score          *int
	ICPFit         bool
	Stage          Stage
	StageChangedAt time.Time
	OwnerID        *uuid.UUID
	OwnerName      string
	TeamID         *uuid.UUID
	TeamName       string
	Amount         *Cents
	Currency       string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	SnoozedUntil   *time.Time
	Version        int
}

// Name is the lead's full name, or its email, or its company.
func (l Lead) Name() string {
	n := strings.TrimSpace(l.FirstName + " " + l.LastName)
	switch {
	case n != "":
		return n
	case l.Email != nil:
		return *l.Email
	case l.Company != "":
		return l.Company
	}
	return "Unnamed lead"
}

// Cents is an amount of money in minor units: exact, unlike a float.
type Cents int64

// String renders the amount with two decimals ("1250.50").
func (c Cents) String() string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

var amountRE = regexp.MustCompile(`^-?\d{1,13}(\.\d{1,2})?$`)

// ParseCents reads a decimal amount with at most two decimals.
func ParseCents(s string) (Cents, error) {
	s = strings.TrimSpace(s)
	if !amountRE.MatchString(s) {
		return 0, fmt.Errorf("%q is not an amount with at most two decimals", s)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	var n int64
	for _, r := range whole + frac {
		n = n*10 + int64(r-'0')
	}
	if neg {
		n = -n
	}
	return Cents(n), nil
}

// Input is a lead as given to create or update it. Nil fields are left out:
// an update keeps their stored values (API.md: an update merges).
type Input struct {
	ExternalID *string
	Email      *string
	FirstName  *string
	LastName   *string
	Company    *string
	Title      *string
	Phone      *string
	Country    *string
	Segment    *string
	Source     *string
	Campaign   *string
	Score      *int
	ICPFit     *bool
	CreatedAt  *time.Time
}

// Field limits, generous for real data, small enough to refuse garbage.
const (
	maxName   = 200
	maxText   = 500
	maxIDLen  = 200
	maxCodeLn = 100
)

// Normalize trims every field, lower-cases the email, upper-cases the
// country and turns empty strings into "left out" for the keys.
func (in *Input) Normalize() {
	trim := func(p **string) {
		if *p != nil {
			v := strings.TrimSpace(**p)
			*p = &v
		}
	}
	for _, p := range []**string{&in.ExternalID, &in.Email, &in.FirstName, &in.LastName, &in.Company, &in.Title,
		&in.Phone, &in.Country, &in.Segment, &in.Source, &in.Campaign} {
		trim(p)
	}
	if in.Email != nil {
		v := validator.NormalizeEmail(*in.Email)
		in.Email = &v
	}
	if in.Country != nil {
		v := strings.ToUpper(*in.Country)
		in.Country = &v
	}
	if in.Segment != nil {
		v := strings.ToLower(*in.Segment)
		in.Segment = &v
	}
	// An empty key or segment means none.
	for _, p := range []**string{&in.ExternalID, &in.Email, &in.Segment} {
		if *p != nil && **p == "" {
			*p = nil
		}
	}
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// Validate checks the input against the tenant's segments at now. A new
// lead (create) needs an external id or an email.
func (in Input) Validate(segments []string, create bool, now time.Time) validator.Errors {
	var errs validator.Errors
	if create {
		errs.Check(in.ExternalID != nil || in.Email != nil, "email", "give an email or an external_id")
	}
	if in.Email != nil {
		errs.Check(validator.ValidEmail(*in.Email), "email", "must be a valid address such as ana@example.com")
	}
	if in.ExternalID != nil {
		errs.Check(validator.MaxChars(*in.ExternalID, maxIDLen), "external_id", fmt.Sprintf("must be at most %d characters", maxIDLen))
		errs.Check(printable(*in.ExternalID), "external_id", "must not contain control characters")
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"first_name", in.FirstName, maxName}, {"last_name", in.LastName, maxName}, {"company", in.Company, maxName},
		{"title", in.Title, maxName}, {"phone", in.Phone, 50}, {"source", in.Source, maxCodeLn}, {"campaign", in.Campaign, maxName}} {
		if f.v == nil {
			continue
		}
		errs.Check(validator.MaxChars(*f.v, f.max), f.name, fmt.Sprintf("must be at most %d characters", f.max))
		errs.Check(printable(*f.v), f.name, "must not contain control characters")
	}
	if in.Country != nil && *in.Country != "" {
		errs.Check(countryRE.MatchString(*in.Country), "country", "must be a two-letter ISO 3166 code such as DE")
	}
	if in.Segment != nil {
		known := false
		for _, s := range segments {
			known = known || s == *in.Segment
		}
		if !known {
			if len(segments) == 0 {
				errs.Add("segment", "this tenant has no segments yet: an admin defines them in Settings → Segments")
			} else {
				errs.Add("segment", "must be one of "+strings.Join(segments, ", "))
			}
		}
	}
	if in.Score != nil {
		errs.Check(*in.Score >= 0 && *in.Score <= 100, "score", "must be from 0 to 100")
	}
	if in.CreatedAt != nil {
		errs.Check(!in.CreatedAt.After(now.Add(5*time.Minute)), "created_at", "may not be more than 5 minutes in the future")
		errs.Check(in.CreatedAt.Year() >= 1990, "created_at", "is before 1990: check the date")
	}
	return errs.OrNil()
}

// printable reports whether s has no control characters (tabs excepted).
func printable(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return false
		}
	}
	return true
}

// Apply merges in over l (for updates) and returns the result.
func (in Input) Apply(l Lead) Lead {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	if in.ExternalID != nil {
		l.ExternalID = in.ExternalID
	}
	if in.Email != nil {
		l.Email = in.Email
	}
	set(&l.FirstName, in.FirstName)
	set(&l.LastName, in.LastName)
	set(&l.Company, in.Company)
	set(&l.Title, in.Title)
	set(&l.Phone, in.Phone)
	set(&l.Country, in.Country)
	set(&l.Source, in.Source)
	set(&l.Campaign, in.Campaign)
	if in.Segment != nil {
		l.Segment = in.Segment
	}
	if in.Score != nil {
		l.Score = in.Score
	}
	if in.ICPFit != nil {
		l.ICPFit = *in.ICPFit
	}
	return l
}

// Filter selects leads for lists.
type Filter struct {
	Stages       []Stage
	OwnerID      *uuid.UUID
	TeamID       *uuid.UUID
	Segment      string
	Source       string
	Campaign     string
	Q            string
	UpdatedSince *time.Time
	// Visible limits a rep or manager to the leads they may see.
	VisibleOwner *uuid.UUID // the rep's own leads
	VisibleTeam  *uuid.UUID // and, for a manager, the team's
	// Handoff, when set, keeps the leads handed off in its period whose
	// handoff matches it: the leads behind a dashboard figure. TeamID then
	// filters on the handoff's team, as the figures do.
	Handoff *HandoffFilter
	Cursor  string
	Limit   int
}

// HandoffFilter selects handoffs as the cohort figures of DESIGN.md §5
// judge them: by what followed each before the lead's next handoff.
type HandoffFilter struct {
	From, To time.Time
	// Decision is "accepted", "rejected", "undecided" or "" (any).
	Decision string
	// Reached is a stage the lead reached (or skipped past) later:
	// accepted, sql, opportunity or won; "" for any.
	Reached Stage
	// Touched, when set, keeps handoffs touched (or not) before the next.
	Touched *bool
}

// Validate reports bad filter values.
func (f Filter) Validate() validator.Errors {
	var errs validator.Errors
	for _, s := range f.Stages {
		errs.Check(s.Valid(), "stage", "must be one of new, mql, accepted, rejected, sql, opportunity, won, lost, recycled")
	}
	errs.Check(validator.MaxChars(f.Q, 200), "q", "must be at most 200 characters")
	errs.Check(f.Limit >= 0 && f.Limit <= 500, "limit", "must be 1–500")
	if h := f.Handoff; h != nil {
		errs.Check(h.To.After(h.From), "handoff_to", "must be after handoff_from")
		errs.Check(h.Decision == "" || h.Decision == "accepted" || h.Decision == "rejected" || h.Decision == "undecided",
			"decision", "must be accepted, rejected or undecided")
		errs.Check(h.Reached == "" || h.Reached.Rank() > 0, "reached", "must be accepted, sql, opportunity or won")
	}
	return errs.OrNil()
}
