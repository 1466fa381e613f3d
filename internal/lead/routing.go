package lead

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/validator"
)

// RoutingRule sends leads that match it to a team. Nil fields match any
// value; set fields must all match (case-insensitive).
type RoutingRule struct {
	Segment *string
	Source  *string
	Country *string
	TeamID  uuid.UUID
}

// Routing is a tenant's ordered rules and the team for leads no rule matches.
type Routing struct {
	Rules         []RoutingRule
	DefaultTeamID *uuid.UUID
}

// Matches reports whether rule r applies to l.
func (r RoutingRule) Matches(l Lead) bool {
	eq := func(want *string, got string) bool { return want == nil || strings.EqualFold(*want, got) }
	seg := ""
	if l.Segment != nil {
		seg = *l.Segment
	}
	return eq(r.Segment, seg) && eq(r.Source, l.Source) && eq(r.Country, l.Country)
}

// Describe renders the rule's condition for people and timelines.
func (r RoutingRule) Describe() string {
	var parts []string
	if r.Segment != nil {
		parts = append(parts, "segment = "+*r.Segment)
	}
	if r.Source != nil {
		parts = append(parts, "source = "+*r.Source)
	}
	if r.Country != nil {
		parts = append(parts, "country = "+*r.Country)
	}
	if len(parts) == 0 {
		return "every lead"
	}
	return strings.Join(parts, " and ")
}

// Route picks the team for l: the first matching rule, else the default.
// It says why, for the assignment record; nil means no team at all.
func (rt Routing) Route(l Lead) (*uuid.UUID, string) {
	for i, r := range rt.Rules {
		if r.Matches(l) {
			team := r.TeamID
			return &team, fmt.Sprintf("routing rule %d (%s)", i+1, r.Describe())
		}
	}
	if rt.DefaultTeamID != nil {
		team := *rt.DefaultTeamID
		return &team, "no routing rule matched: default team"
	}
	return nil, "no routing rule matched and there is no default team"
}

// NextRep is round-robin: the first eligible rep after last in id order,
// wrapping around. eligible must be sorted; it returns false when empty.
func NextRep(eligible []uuid.UUID, last *uuid.UUID) (uuid.UUID, bool) {
	if len(eligible) == 0 {
		return uuid.Nil, false
	}
	if last != nil {
		for _, id := range eligible {
			if strings.Compare(id.String(), last.String()) > 0 {
				return id, true
			}
		}
	}
	return eligible[0], true
}

// ValidateRouting checks rules: every rule names a team, and a rule that
// can never match (after one that matches everything it does) is refused.
func ValidateRouting(rt Routing) validator.Errors {
	var errs validator.Errors
	for i, r := range rt.Rules {
		field := fmt.Sprintf("rules.%d", i)
		errs.Check(r.TeamID != uuid.Nil, field+".team_id", "every rule needs a team")
		for j := 0; j < i; j++ {
			if covers(rt.Rules[j], r) {
				errs.Add(field, fmt.Sprintf("can never match: rule %d (%s) catches these leads first", j+1, rt.Rules[j].Describe()))
				break
			}
		}
		for _, v := range []*string{r.Segment, r.Source, r.Country} {
			if v != nil {
				errs.Check(validator.MaxChars(*v, maxCodeLn), field, "values must be at most 100 characters")
			}
		}
	}
	errs.Check(len(rt.Rules) <= 200, "rules", "at most 200 rules")
	return errs.OrNil()
}

// covers reports whether every lead b matches also matches a.
func covers(a, b RoutingRule) bool {
	c := func(x, y *string) bool { return x == nil || (y != nil && strings.EqualFold(*x, *y)) }
	return c(a.Segment, b.Segment) && c(a.Source, b.Source) && c(a.Country, b.Country)
}
