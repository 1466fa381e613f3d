// Package lead holds leads and the funnel: stages, the moves between them
// and who may make each (DESIGN.md §3), lead input validation, activities,
// routing rules and the qualification rule. It is pure: no database, no HTTP.
package lead

import (
	"fmt"
	"sort"
	"strings"

	"github.com/accordhq/accord/internal/tenant"
)

// Stage is where a lead is in the funnel.
type Stage string

// The stages of DESIGN.md §3.
const (
	StageNew         Stage = "new"
	StageMQL         Stage = "mql"
	StageAccepted    Stage = "accepted"
	StageRejected    Stage = "rejected"
	StageSQL         Stage = "sql"
	StageOpportunity Stage = "opportunity"
	StageWon         Stage = "won"
	StageLost        Stage = "lost"
	StageRecycled    Stage = "recycled"
)

// Stages lists every stage in funnel order.
var Stages = []Stage{StageNew, StageMQL, StageAccepted, StageRejected, StageSQL, StageOpportunity, StageWon, StageLost, StageRecycled}

// Valid reports whether s is a known stage.
func (s Stage) Valid() bool {
	for _, x := range Stages {
		if s == x {
			return true
		}
	}
	return false
}

// Label is the stage as people say it.
func (s Stage) Label() string {
	switch s {
	case StageMQL:
		return "MQL"
	case StageSQL:
		return "SQL"
	case StageNew:
		return "New"
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

// Open reports whether a lead in this stage is still being worked by sales.
func (s Stage) Open() bool {
	return s == StageMQL || s == StageAccepted || s == StageSQL || s == StageOpportunity
}

// Mover says who asks for a move: the role of the acting user, or an API
// token, or Accord itself (the qualification rule), plus whether the user
// owns the lead or manages its owner.
type Mover struct {
	Role    tenant.Role // for users
	API     bool        // an API token (ingest or admin scope)
	System  bool        // the qualification rule
	Owner   bool        // the user owns the lead
	Manager bool        // the user manages the lead's owner or team
}

// who names the parties allowed to make a move.
type who int

const (
	byMarketing who = 1 << iota // marketing and admin users, API, (handoffs) the rule
	bySales                     // owner rep, their manager, admin, API
)

// move is one allowed edge of the funnel.
type move struct {
	by     who
	reason bool // needs a reason code
	amount bool // needs an amount
}

// moves is the table of DESIGN.md §3.
var moves = map[Stage]map[Stage]move{
	StageNew:         {StageMQL: {by: byMarketing}, StageRecycled: {by: byMarketing, reason: true}},
	StageRecycled:    {StageMQL: {by: byMarketing}},
	StageRejected:    {StageMQL: {by: byMarketing}, StageRecycled: {by: byMarketing}},
	StageMQL:         {StageAccepted: {by: bySales}, StageRejected: {by: bySales, reason: true}},
	StageAccepted:    {StageSQL: {by: bySales}, StageOpportunity: {by: bySales, amount: true}, StageRecycled: {by: bySales, reason: true}},
	StageSQL:         {StageOpportunity: {by: bySales, amount: true}, StageRecycled: {by: bySales, reason: true}},
	StageOpportunity: {StageWon: {by: bySales}, StageLost: {by: bySales, reason: true}},
	StageLost:        {StageRecycled: {by: byMarketing}},
}

// Targets lists the stages a lead in from may move to, in funnel order.
func Targets(from Stage) []Stage {
	var out []Stage
	for _, s := range Stages {
		if _, ok := moves[from][s]; ok {
			out = append(out, s)
		}
	}
	return out
}

// MoveError explains a refused move; the message says what is allowed.
type MoveError struct {
	From, To Stage
	Reason   string
}

func (e *MoveError) Error() string { return e.Reason }

// CheckMove decides whether m may move a lead from one stage to another,
// and what the move needs. It returns nil or a *MoveError.
func CheckMove(from, to Stage, m Mover) (needsReason, needsAmount bool, err error) {
	mv, ok := moves[from][to]
	if !ok {
		allowed := Targets(from)
		names := make([]string, len(allowed))
		for i, s := range allowed {
			names[i] = string(s)
		}
		msg := fmt.Sprintf("a lead in stage %s cannot move to %s", from, to)
		if len(names) > 0 {
			msg += "; allowed: " + strings.Join(names, ", ")
		} else {
			msg += "; no move is allowed from " + string(from)
		}
		return false, false, &MoveError{From: from, To: to, Reason: msg}
	}
	if !m.allowed(mv.by, to) {
		return false, false, &MoveError{From: from, To: to, Reason: fmt.Sprintf("moving a lead from %s to %s is for %s", from, to, mv.by.describe())}
	}
	return mv.reason, mv.amount, nil
}

func (m Mover) allowed(by who, to Stage) bool {
	if m.API {
		return true
	}
	if m.System {
		// The qualification rule makes handoffs, nothing else.
		return by == byMarketing && to == StageMQL
	}
	switch by {
	case byMarketing:
		return m.Role == tenant.RoleMarketing || m.Role == tenant.RoleAdmin
	case bySales:
		switch m.Role {
		case tenant.RoleAdmin:
			return true
		case tenant.RoleRep:
			return m.Owner
		case tenant.RoleManager:
			return m.Owner || m.Manager
		}
	}
	return false
}

func (b who) describe() string {
	if b == byMarketing {
		return "marketing, admins and the API"
	}
	return "the lead's owner, their manager, admins and the API"
}

// AllowedTargets lists the stages m may move a lead in from to: for offering
// only the buttons that will work.
func AllowedTargets(from Stage, m Mover) []Stage {
	var out []Stage
	for _, to := range Targets(from) {
		if _, _, err := CheckMove(from, to, m); err == nil {
			out = append(out, to)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return stageIndex(out[i]) < stageIndex(out[j]) })
	return out
}

func stageIndex(s Stage) int {
	for i, x := range Stages {
		if x == s {
			return i
		}
	}
	return len(Stages)
}

// Rank orders the funnel stages a handoff may reach later (1 accepted, 2
// sql, 3 opportunity, 4 won); reaching one includes skipping past it. Every
// other stage ranks 0.
func (s Stage) Rank() int {
	switch s {
	case StageAccepted:
		return 1
	case StageSQL:
		return 2
	case StageOpportunity:
		return 3
	case StageWon:
		return 4
	}
	return 0
}
