package metric

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/validator"
)

// The query keys of the dashboard filter.
const (
	KeySegment  = "segment"
	KeySource   = "source"
	KeyCampaign = "campaign"
	KeyTeamID   = "team_id"
)

// FilterKeys are the query keys [ParseFilter] reads, for [UnknownKeys].
var FilterKeys = []string{KeySegment, KeySource, KeyCampaign, KeyTeamID}

// The longest values a filter takes: the limits lead fields are stored with
// (internal/lead), so any stored value can be filtered on.
const (
	maxSegment  = 100
	maxSource   = 100
	maxCampaign = 200
)

// None is the name figures give to leads without a source, campaign or
// segment, so that their row has a visible name in tables and a non-empty
// part in the CSV's dotted figure names. Filtering on None selects them.
const None = "(none)"

// Filter narrows every figure to the leads of a segment, source, campaign
// and/or team. Zero fields match every lead. The same filter applies to the
// current and the previous period.
type Filter struct {
	Segment  string
	Source   string
	Campaign string
	TeamID   *uuid.UUID
}

// ParseFilter reads the filter from query values (url.Values or any
// map[string][]string), keyed like [FilterKeys]. Values are trimmed; an empty
// value means no filter on that field. Messages are keyed by query key.
func ParseFilter(values url.Values) (Filter, validator.Errors) {
	var f Filter
	var errs validator.Errors
	text := func(key string, max int) string {
		v := one(values, key, &errs)
		errs.Check(validator.MaxChars(v, max), key, fmt.Sprintf("must be at most %d characters", max))
		errs.Check(!strings.ContainsFunc(v, unicode.IsControl), key, "must not contain control characters")
		return v
	}
	f.Segment = text(KeySegment, maxSegment)
	f.Source = text(KeySource, maxSource)
	f.Campaign = text(KeyCampaign, maxCampaign)
	if v := one(values, KeyTeamID, &errs); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			errs.Add(KeyTeamID, "not a team id")
		} else {
			f.TeamID = &id
		}
	}
	if errs != nil {
		return Filter{}, errs
	}
	return f, nil
}

// one returns the single trimmed value of key; repeating a key is refused
// rather than silently using one of them (filters take one value each).
func one(values url.Values, key string, errs *validator.Errors) string {
	vs := values[key]
	if len(vs) > 1 {
		errs.Add(key, "give one value")
	}
	if len(vs) == 0 {
		return ""
	}
	return strings.TrimSpace(vs[0])
}

// Query is the filter as query values, to carry it in a link; zero fields
// are left out so links stay short.
func (f Filter) Query() url.Values {
	q := url.Values{}
	for _, kv := range [][2]string{{KeySegment, f.Segment}, {KeySource, f.Source}, {KeyCampaign, f.Campaign}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	if f.TeamID != nil {
		q.Set(KeyTeamID, f.TeamID.String())
	}
	return q
}

// IsZero reports whether the filter matches every lead.
func (f Filter) IsZero() bool {
	return f.Segment == "" && f.Source == "" && f.Campaign == "" && f.TeamID == nil
}

// UnknownKeys refuses query keys outside allowed, one message per unknown
// key: a misspelt filter (?sorce=ads) would otherwise show unfiltered
// figures that look filtered. Typical use:
//
//	errs := metric.UnknownKeys(r.URL.Query(), append(metric.PeriodKeys, metric.FilterKeys...)...)
func UnknownKeys(values url.Values, allowed ...string) validator.Errors {
	ok := make(map[string]bool, len(allowed))
	for _, k := range allowed {
		ok[k] = true
	}
	list := append([]string(nil), allowed...)
	sort.Strings(list)
	var errs validator.Errors
	for k := range values {
		if !ok[k] {
			errs.Add(k, "unknown parameter; use "+strings.Join(list, ", "))
		}
	}
	return errs.OrNil()
}

// Merge combines two sets of messages (the first message of a field wins),
// so a handler can report period, filter and unknown keys at once.
func Merge(sets ...validator.Errors) validator.Errors {
	var errs validator.Errors
	for _, s := range sets {
		for _, k := range s.Fields() {
			errs.Add(k, s[k])
		}
	}
	return errs.OrNil()
}

// Arg is a filter value as a query parameter: nil for no filter (""), and
// "" for [None], the leads without one.
func Arg(v string) *string {
	switch v {
	case "":
		return nil
	case None:
		v = ""
	}
	return &v
}
