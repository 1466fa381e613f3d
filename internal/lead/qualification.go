package lead

import (
	"fmt"
	"strings"
	"time"

	"github.com/accordhq/accord/internal/validator"
)

// Qualification is the tenant's rule that hands a new lead off by itself
// (DESIGN.md §3). It has two parts, each optional: a profile part (score at
// least MinScore and, if required, an ICP fit) and an intent part (Count page
// views of URLs containing URLContains within WithinHours). A lead qualifies
// when either part that is set holds.
type Qualification struct {
	MinScore      *int
	RequireICPFit bool
	PageViews     *PageViewRule
}

// PageViewRule is the intent part of the qualification rule.
type PageViewRule struct {
	URLContains string
	Count       int
	WithinHours int
}

// Active reports whether the rule can ever hand off a lead.
func (q Qualification) Active() bool {
	return q.MinScore != nil || q.RequireICPFit || q.PageViews != nil
}

// Validate reports bad parts.
func (q Qualification) Validate() validator.Errors {
	var errs validator.Errors
	if q.MinScore != nil {
		errs.Check(*q.MinScore >= 0 && *q.MinScore <= 100, "min_score", "must be from 0 to 100")
	}
	if pv := q.PageViews; pv != nil {
		errs.Check(strings.TrimSpace(pv.URLContains) != "", "page_views.url_contains", "say which URLs count, e.g. /pricing")
		errs.Check(len(pv.URLContains) <= 500, "page_views.url_contains", "must be at most 500 characters")
		errs.Check(pv.Count >= 1 && pv.Count <= 1000, "page_views.count", "must be from 1 to 1000")
		errs.Check(pv.WithinHours >= 1 && pv.WithinHours <= 24*90, "page_views.within_hours", "must be from 1 to 2160 (90 days)")
	}
	return errs.OrNil()
}

// Qualifies decides whether l qualifies, given the times of its page views
// whose URL matches the rule (any order). It says why, for the timeline.
func (q Qualification) Qualifies(l Lead, matchingViews []time.Time) (bool, string) {
	if q.MinScore != nil || q.RequireICPFit {
		ok := true
		var why []string
		if q.MinScore != nil {
			ok = ok && l.Score != nil && *l.Score >= *q.MinScore
			why = append(why, fmt.Sprintf("score ≥ %d", *q.MinScore))
		}
		if q.RequireICPFit {
			ok = ok && l.ICPFit
			why = append(why, "ICP fit")
		}
		if ok {
			return true, "qualification rule: " + strings.Join(why, " and ")
		}
	}
	if pv := q.PageViews; pv != nil && len(matchingViews) >= pv.Count {
		if windowHolds(matchingViews, pv.Count, time.Duration(pv.WithinHours)*time.Hour) {
			return true, fmt.Sprintf("qualification rule: %d views of %q within %d hours", pv.Count, pv.URLContains, pv.WithinHours)
		}
	}
	return false, ""
}

// MatchesURL reports whether a page view URL counts for the rule.
func (pv PageViewRule) MatchesURL(u string) bool {
	return strings.Contains(strings.ToLower(u), strings.ToLower(pv.URLContains))
}

// windowHolds reports whether n of the times fall within one window.
func windowHolds(times []time.Time, n int, window time.Duration) bool {
	sorted := append([]time.Time(nil), times...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j].Before(sorted[j-1]); j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	for i := 0; i+n-1 < len(sorted); i++ {
		if sorted[i+n-1].Sub(sorted[i]) <= window {
			return true
		}
	}
	return false
}
