// Package content is the content library sales actually uses: assets
// marketing makes, their use on leads (shares and tracked opens), and the
// requests sales sends for what is missing. It holds types, validation and
// rules only; the store keeps them.
package content

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/validator"
)

// Kind is what an asset is.
type Kind string

// The kinds of asset (DESIGN.md §2).
const (
	KindCaseStudy  Kind = "case_study"
	KindOnePager   Kind = "one_pager"
	KindDeck       Kind = "deck"
	KindComparison Kind = "comparison"
	KindROITool    Kind = "roi_tool"
	KindVideo      Kind = "video"
	KindWhitepaper Kind = "whitepaper"
	KindDemo       Kind = "demo"
	KindEmail      Kind = "email_template"
	KindOther      Kind = "other"
)

// Kinds lists every kind, in the order forms offer them.
var Kinds = []Kind{KindCaseStudy, KindOnePager, KindDeck, KindComparison, KindROITool, KindVideo, KindWhitepaper, KindDemo, KindEmail, KindOther}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Label is the kind in words.
func (k Kind) Label() string {
	switch k {
	case KindCaseStudy:
		return "Case study"
	case KindOnePager:
		return "One-pager"
	case KindDeck:
		return "Deck"
	case KindComparison:
		return "Comparison"
	case KindROITool:
		return "ROI tool"
	case KindVideo:
		return "Video"
	case KindWhitepaper:
		return "Whitepaper"
	case KindDemo:
		return "Demo"
	case KindEmail:
		return "E-mail template"
	case KindOther:
		return "Other"
	}
	return string(k)
}

// Stages lists the funnel stages an asset may serve: the stages where a
// rep is still working the lead. Closed and rejected stages need no content.
var Stages = []lead.Stage{lead.StageNew, lead.StageMQL, lead.StageAccepted, lead.StageSQL, lead.StageOpportunity, lead.StageWon}

// Limits on the fields, so that a form and the API give the same answers.
const (
	MaxTitle     = 200
	MaxURL       = 2000
	MaxTags      = 20
	MaxTag       = 40
	MaxObjection = 2000
	MaxComment   = 4000
)

// Asset is one piece of content in the library.
type Asset struct {
	ID         uuid.UUID
	Title      string
	Kind       Kind
	Stage      lead.Stage
	Segment    *string
	URL        string
	OwnerID    *uuid.UUID
	OwnerName  string
	Tags       []string
	Archived   bool
	ArchivedAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// AssetInput is an asset as a form or the API gives it. On an update, nil
// fields stay as they are.
type AssetInput struct {
	Title    *string
	Kind     *Kind
	Stage    *lead.Stage
	Segment  **string // nil: unchanged; pointer to nil: every segment
	URL      *string
	OwnerID  **uuid.UUID
	Tags     []string // nil: unchanged
	Archived *bool
}

// Normalize trims the text fields and lower-cases and dedupes the tags.
func (in *AssetInput) Normalize() {
	if in.Title != nil {
		t := strings.TrimSpace(*in.Title)
		in.Title = &t
	}
	if in.URL != nil {
		u := strings.TrimSpace(*in.URL)
		in.URL = &u
	}
	if in.Segment != nil && *in.Segment != nil {
		s := strings.TrimSpace(**in.Segment)
		if s == "" {
			var none *string
			in.Segment = &none
		} else {
			p := &s
			in.Segment = &p
		}
	}
	if in.Tags != nil {
		tags := make([]string, 0, len(in.Tags))
		for _, t := range in.Tags {
			t = strings.ToLower(strings.TrimSpace(t))
			if t != "" && !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		in.Tags = tags
	}
}

// Validate checks the input; creating needs title, kind, stage and URL.
// Segments are checked against the tenant's list by the store.
func (in AssetInput) Validate(create bool) validator.Errors {
	var errs validator.Errors
	if create {
		errs.Check(in.Title != nil, "title", "is required")
		errs.Check(in.Kind != nil, "kind", "is required: "+kindList())
		errs.Check(in.Stage != nil, "stage", "is required: "+stageList())
		errs.Check(in.URL != nil, "url", "is required: the http(s) address of the asset")
	}
	if in.Title != nil {
		errs.Check(validator.NotBlank(*in.Title), "title", "must not be blank")
		errs.Check(validator.MaxChars(*in.Title, MaxTitle), "title", "must be at most 200 characters")
	}
	if in.Kind != nil {
		errs.Check(in.Kind.Valid(), "kind", "must be one of "+kindList())
	}
	if in.Stage != nil {
		errs.Check(slices.Contains(Stages, *in.Stage), "stage", "must be one of "+stageList())
	}
	if in.URL != nil {
		if msg := CheckURL(*in.URL); msg != "" {
			errs.Add("url", msg)
		}
	}
	if in.Tags != nil {
		errs.Check(len(in.Tags) <= MaxTags, "tags", "must be at most 20 tags")
		for _, t := range in.Tags {
			if !validator.MaxChars(t, MaxTag) {
				errs.Add("tags", "must each be at most 40 characters")
				break
			}
			if strings.ContainsAny(t, ",\n\r\t") {
				errs.Add("tags", "must not contain commas or line breaks")
				break
			}
		}
	}
	return errs.OrNil()
}

// CheckURL returns what is wrong with u as an asset's address, or "". Only
// absolute http and https addresses with a host are taken: anything else
// (javascript:, data:, relative paths) could run in or leave through the
// tracked-link redirect.
func CheckURL(u string) string {
	if u == "" {
		return "is required: the http(s) address of the asset"
	}
	if !validator.MaxChars(u, MaxURL) {
		return "must be at most 2000 characters"
	}
	if strings.ContainsAny(u, " \t\r\n") {
		return "must not contain spaces or line breaks"
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return "must be an http:// or https:// address"
	}
	if p.Host == "" || p.Hostname() == "" {
		return "must name a host, e.g. https://example.com/case-study.pdf"
	}
	if p.User != nil {
		return "must not carry a user name or password"
	}
	return ""
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func stageList() string {
	s := make([]string, len(Stages))
	for i, st := range Stages {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

// Filter selects assets for the library and the API.
type Filter struct {
	Q        string // title or tag contains, case-insensitive
	Kind     Kind
	Stage    lead.Stage
	Segment  string
	Archived *bool // nil: active ones only (the library's default)
	All      bool  // active and archived alike
}

// Validate checks the filter's enumerations.
func (f Filter) Validate() validator.Errors {
	var errs validator.Errors
	if f.Kind != "" {
		errs.Check(f.Kind.Valid(), "kind", "must be one of "+kindList())
	}
	if f.Stage != "" {
		errs.Check(slices.Contains(Stages, f.Stage), "stage", "must be one of "+stageList())
	}
	errs.Check(validator.MaxChars(f.Q, 200), "q", "must be at most 200 characters")
	return errs.OrNil()
}
