package sla

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// Kind is what a clause promises (DESIGN.md §4.1, §4.2).
type Kind string

// Lead clauses: one timer per lead.
const (
	KindRespond    Kind = "respond"
	KindFirstTouch Kind = "first_touch"
	KindAttempts   Kind = "attempts"
	KindRecycle    Kind = "recycle"
)

// Period clauses: one result per period.
const (
	KindVolume     Kind = "volume"
	KindICPQuality Kind = "icp_quality"
	KindAcceptance Kind = "acceptance"
	KindPipeline   Kind = "pipeline"
)

// LeadKinds and PeriodKinds list the kinds in display order.
var (
	LeadKinds   = []Kind{KindRespond, KindFirstTouch, KindAttempts, KindRecycle}
	PeriodKinds = []Kind{KindVolume, KindICPQuality, KindAcceptance, KindPipeline}
)

// Side owes the clause: the side of its kind (DESIGN.md §4).
func (k Kind) Side() tenant.Side {
	switch k {
	case KindRespond, KindFirstTouch, KindAttempts, KindPipeline:
		return tenant.SideSales
	}
	return tenant.SideMarketing
}

// Lead reports whether k runs a timer per lead (rather than per period).
func (k Kind) Lead() bool {
	return k == KindRespond || k == KindFirstTouch || k == KindAttempts || k == KindRecycle
}

// Valid reports whether k is known.
func (k Kind) Valid() bool {
	return k.Lead() || k == KindVolume || k == KindICPQuality || k == KindAcceptance || k == KindPipeline
}

// Period is the length a period clause is measured over.
type Period string

// The periods of API.md.
const (
	PeriodWeek    Period = "week"
	PeriodMonth   Period = "month"
	PeriodQuarter Period = "quarter"
)

// Scope narrows a clause to leads of a segment and/or a source; nil fields
// match every lead.
type Scope struct {
	Segment *string
	Source  *string
}

// Specificity orders matching clauses: segment+source > segment > source >
// unscoped (DESIGN.md §4.1).
func (s Scope) Specificity() int {
	n := 0
	if s.Segment != nil {
		n += 2
	}
	if s.Source != nil {
		n++
	}
	return n
}

// Matches reports whether a lead of segment and source falls in the scope.
func (s Scope) Matches(segment, source string) bool {
	return (s.Segment == nil || strings.EqualFold(*s.Segment, segment)) && (s.Source == nil || strings.EqualFold(*s.Source, source))
}

// Key identifies a scope for "same side, kind and scope" (a clause keeps its
// id across versions while these stay).
func (s Scope) Key() string {
	key := func(p *string) string {
		if p == nil {
			return "*"
		}
		return strings.ToLower(*p)
	}
	return key(s.Segment) + "|" + key(s.Source)
}

// Step is one rung of an escalation ladder: AfterMinutes business minutes
// after the breach, notify these, and maybe reassign by routing.
type Step struct {
	AfterMinutes int
	Notify       []string // "holder", "manager", "role:admin", "role:marketing", "user:<id>"
	Reassign     bool
}

// Clause is one promise of the agreement.
type Clause struct {
	ID              uuid.UUID
	Side            tenant.Side
	Kind            Kind
	Scope           Scope
	CalendarID      *uuid.UUID // nil: the holder's team calendar
	WarnAtPercent   int        // lead clauses: when the timer is at risk
	PauseCapMinutes int        // lead clauses: most pause a timer may take
	Escalation      []Step
	// Lead clauses.
	TargetMinutes int
	Attempts      int // attempts: the number of touches
	// Period clauses.
	TargetCount   *int
	TargetPercent *float64
	TargetAmount  *int64 // cents
	Period        Period
}

// Defaults of API.md.
const (
	DefaultWarnAtPercent   = 75
	DefaultPauseCapMinutes = 2400
)

// DefaultEscalation is the ladder a clause gets when it names none.
func DefaultEscalation() []Step {
	return []Step{{AfterMinutes: 0, Notify: []string{"holder", "manager"}}}
}

// Agreement is one version of a tenant's agreement.
type Agreement struct {
	Version       int
	EffectiveFrom time.Time
	Author        string
	Clauses       []Clause
}

// Match returns the clause of kind that applies to a lead of segment and
// source: the most specific matching one, or false.
func (a Agreement) Match(kind Kind, segment, source string) (Clause, bool) {
	best, found := Clause{}, false
	for _, c := range a.Clauses {
		if c.Kind != kind || !c.Scope.Matches(segment, source) {
			continue
		}
		if !found || c.Scope.Specificity() > best.Scope.Specificity() {
			best, found = c, true
		}
	}
	return best, found
}

// Clause returns the clause with id.
func (a Agreement) Clause(id uuid.UUID) (Clause, bool) {
	for _, c := range a.Clauses {
		if c.ID == id {
			return c, true
		}
	}
	return Clause{}, false
}

// Limits of clause values: targets of zero or beyond a year are refused.
const (
	maxTargetMinutes = 365 * 24 * 60
	maxSteps         = 10
)

// Normalize fills defaults and trims scopes.
func (c *Clause) Normalize() {
	if c.Side == "" && c.Kind.Valid() {
		c.Side = c.Kind.Side()
	}
	for _, p := range []**string{&c.Scope.Segment, &c.Scope.Source} {
		if *p != nil {
			v := strings.ToLower(strings.TrimSpace(**p))
			if v == "" {
				*p = nil
			} else {
				*p = &v
			}
		}
	}
	if c.Kind.Lead() {
		if c.WarnAtPercent == 0 {
			c.WarnAtPercent = DefaultWarnAtPercent
		}
		if c.PauseCapMinutes == 0 {
			c.PauseCapMinutes = DefaultPauseCapMinutes
		}
		if c.Escalation == nil {
			c.Escalation = DefaultEscalation()
		}
	} else if c.Period == "" {
		c.Period = PeriodMonth
	}
}

// ValidateClauses checks a proposed set of clauses against the tenant's
// segments and calendars; field names are "clauses.N.field".
func ValidateClauses(cs []Clause, segments []string, calendars map[uuid.UUID]bool) validator.Errors {
	var errs validator.Errors
	seen := map[string]int{}
	for i, c := range cs {
		f := func(name string) string { return fmt.Sprintf("clauses.%d.%s", i, name) }
		if !c.Kind.Valid() {
			errs.Add(f("kind"), "must be one of respond, first_touch, attempts, recycle, volume, icp_quality, acceptance, pipeline")
			continue
		}
		errs.Check(c.Side == c.Kind.Side(), f("side"), fmt.Sprintf("a %s clause is owed by %s", c.Kind, c.Kind.Side()))
		if c.Scope.Segment != nil && !containsString(segments, *c.Scope.Segment) {
			errs.Add(f("scope.segment"), "must be one of "+strings.Join(segments, ", "))
		}
		if c.Scope.Source != nil {
			errs.Check(validator.MaxChars(*c.Scope.Source, 100), f("scope.source"), "must be at most 100 characters")
		}
		if c.CalendarID != nil && !calendars[*c.CalendarID] {
			errs.Add(f("calendar_id"), "is not a calendar of this tenant")
		}
		key := string(c.Kind) + "/" + c.Scope.Key()
		if j, dup := seen[key]; dup {
			errs.Add(f("scope"), fmt.Sprintf("clause %d already has this kind and scope", j+1))
		}
		seen[key] = i
		if c.Kind.Lead() {
			errs.Check(c.TargetMinutes > 0, f("target_minutes"), "must be more than 0")
			errs.Check(c.TargetMinutes <= maxTargetMinutes, f("target_minutes"), "must be at most a year (525600 minutes)")
			errs.Check(c.WarnAtPercent >= 1 && c.WarnAtPercent <= 99, f("warn_at_percent"), "must be from 1 to 99")
			errs.Check(c.PauseCapMinutes >= 0 && c.PauseCapMinutes <= maxTargetMinutes, f("pause_cap_minutes"), "must be from 0 to 525600")
			if c.Kind == KindAttempts {
				errs.Check(c.Attempts >= 1 && c.Attempts <= 50, f("attempts"), "is required for an attempts clause: 1 to 50 touches")
			} else {
				errs.Check(c.Attempts == 0, f("attempts"), "is only taken by an attempts clause")
			}
			errs.Check(c.TargetCount == nil && c.TargetPercent == nil && c.TargetAmount == nil, f("target_minutes"),
				"a lead clause takes target_minutes, not a count, percent or amount")
			validateLadder(&errs, f, c.Escalation)
		} else {
			targets := 0
			if c.TargetCount != nil {
				targets++
				errs.Check(*c.TargetCount >= 1 && *c.TargetCount <= 10_000_000, f("target_count"), "must be from 1 to 10,000,000")
			}
			if c.TargetPercent != nil {
				targets++
				errs.Check(*c.TargetPercent > 0 && *c.TargetPercent <= 100, f("target_percent"), "must be more than 0 and at most 100")
			}
			if c.TargetAmount != nil {
				targets++
				errs.Check(*c.TargetAmount > 0, f("target_amount"), "must be more than 0")
			}
			switch c.Kind {
			case KindVolume:
				errs.Check(c.TargetCount != nil && targets == 1, f("target_count"), "a volume clause takes target_count (handoffs)")
			case KindICPQuality, KindAcceptance:
				errs.Check(c.TargetPercent != nil && targets == 1, f("target_percent"), "this clause takes target_percent")
			case KindPipeline:
				errs.Check(targets == 1 && c.TargetPercent == nil, f("target_count"), "a pipeline clause takes target_count (opportunities) or target_amount")
			}
			errs.Check(c.Period == PeriodWeek || c.Period == PeriodMonth || c.Period == PeriodQuarter, f("period"), "must be week, month or quarter")
			errs.Check(c.TargetMinutes == 0, f("target_minutes"), "a period clause takes a count, percent or amount, not target_minutes")
			errs.Check(c.Attempts == 0, f("attempts"), "is only taken by an attempts clause")
		}
	}
	errs.Check(len(cs) <= 200, "clauses", "at most 200 clauses")
	return errs.OrNil()
}

func validateLadder(errs *validator.Errors, f func(string) string, steps []Step) {
	errs.Check(len(steps) <= maxSteps, f("escalation"), "at most 10 steps")
	for j, st := range steps {
		field := fmt.Sprintf("%s.%d", f("escalation"), j)
		errs.Check(st.AfterMinutes >= 0 && st.AfterMinutes <= maxTargetMinutes, field+".after_minutes", "must be from 0 to 525600")
		if j > 0 {
			errs.Check(st.AfterMinutes > steps[j-1].AfterMinutes, field+".after_minutes",
				fmt.Sprintf("steps must be in order: after %d minutes comes after step %d's %d", st.AfterMinutes, j, steps[j-1].AfterMinutes))
		}
		errs.Check(len(st.Notify) > 0 || st.Reassign, field+".notify", "say whom to notify, or reassign")
		for _, n := range st.Notify {
			errs.Check(validRecipient(n), field+".notify", fmt.Sprintf("%q: use holder, manager, role:<role> or user:<id>", n))
		}
	}
}

func validRecipient(n string) bool {
	switch {
	case n == "holder", n == "manager":
		return true
	case strings.HasPrefix(n, "role:"):
		return tenant.Role(strings.TrimPrefix(n, "role:")).Valid()
	case strings.HasPrefix(n, "user:"):
		_, err := uuid.Parse(strings.TrimPrefix(n, "user:"))
		return err == nil
	}
	return false
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// AssignIDs keeps clause ids across versions: a proposed clause without an id
// (or with an unknown one) takes the id of the previous version's clause of
// the same side, kind and scope, else a new one.
func AssignIDs(proposed []Clause, previous []Clause) []Clause {
	byKey := map[string]uuid.UUID{}
	known := map[uuid.UUID]bool{}
	for _, c := range previous {
		byKey[string(c.Side)+"/"+string(c.Kind)+"/"+c.Scope.Key()] = c.ID
		known[c.ID] = true
	}
	out := make([]Clause, len(proposed))
	for i, c := range proposed {
		key := string(c.Side) + "/" + string(c.Kind) + "/" + c.Scope.Key()
		if id, ok := byKey[key]; ok {
			c.ID = id
		} else if c.ID == uuid.Nil || known[c.ID] {
			// An id that belonged to another kind or scope is not kept.
			c.ID = uuid.New()
		}
		out[i] = c
	}
	return out
}

// Describe says the clause in plain language: "Sales accepts or rejects
// enterprise leads within 4 business hours".
func (c Clause) Describe() string {
	who := "leads"
	var parts []string
	if c.Scope.Segment != nil {
		parts = append(parts, *c.Scope.Segment)
	}
	if c.Scope.Source != nil {
		who = "leads from " + *c.Scope.Source
	}
	if len(parts) > 0 {
		who = strings.Join(parts, " ") + " " + who
	}
	within := "within " + DescribeMinutes(c.TargetMinutes)
	switch c.Kind {
	case KindRespond:
		return "Sales accepts or rejects " + who + " " + within + " of the handoff"
	case KindFirstTouch:
		return "Sales first contacts " + who + " " + within + " of the handoff"
	case KindAttempts:
		return fmt.Sprintf("Sales makes %d contact attempts on accepted %s %s of accepting", c.Attempts, who, within)
	case KindRecycle:
		return "Marketing recycles, nurtures or hands off again rejected " + who + " " + within
	case KindVolume:
		return fmt.Sprintf("Marketing hands off at least %d %s a %s", deref(c.TargetCount), who, c.Period)
	case KindICPQuality:
		return fmt.Sprintf("At least %s of the %s marketing hands off each %s fit the ideal customer profile", percent(c.TargetPercent), who, c.Period)
	case KindAcceptance:
		return fmt.Sprintf("Sales accepts at least %s of the %s marketing hands off each %s", percent(c.TargetPercent), who, c.Period)
	case KindPipeline:
		if c.TargetAmount != nil {
			return fmt.Sprintf("Sales opens opportunities worth at least %d.%02d from handed-off %s each %s", *c.TargetAmount/100, *c.TargetAmount%100, who, c.Period)
		}
		return fmt.Sprintf("Sales opens at least %d opportunities from handed-off %s each %s", deref(c.TargetCount), who, c.Period)
	}
	return string(c.Kind)
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func percent(p *float64) string {
	if p == nil {
		return "0%"
	}
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", *p), "0"), ".") + "%"
}

// DescribeMinutes renders business minutes for people: "4 business hours",
// "2 business days" (of 8 hours), "90 business minutes".
func DescribeMinutes(m int) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 business " + unit
		}
		return fmt.Sprintf("%d business %ss", n, unit)
	}
	switch {
	case m >= 8*60 && m%(8*60) == 0 && m >= 16*60:
		return plural(m/(8*60), "day")
	case m%60 == 0:
		return plural(m/60, "hour")
	}
	return plural(m, "minute")
}

// SortClauses orders clauses for display: side, kind order, scope.
func SortClauses(cs []Clause) {
	rank := map[Kind]int{}
	for i, k := range append(append([]Kind{}, LeadKinds...), PeriodKinds...) {
		rank[k] = i
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].Side != cs[j].Side {
			return cs[i].Side == tenant.SideSales
		}
		if rank[cs[i].Kind] != rank[cs[j].Kind] {
			return rank[cs[i].Kind] < rank[cs[j].Kind]
		}
		return cs[i].Scope.Specificity() > cs[j].Scope.Specificity()
	})
}
