package view

import (
	"strconv"
	"strings"

	"github.com/accordhq/accord/internal/lead"
)

// leadSubtitle is "Title · Company · email" with the parts that exist.
func leadSubtitle(l lead.Lead) string {
	var parts []string
	for _, s := range []string{l.Title, l.Company} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if l.Email != nil && l.Name() != *l.Email {
		parts = append(parts, *l.Email)
	}
	return strings.Join(parts, " · ")
}

func derefOr(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}

func scoreText(l lead.Lead) string {
	s := "—"
	if l.Score != nil {
		s = strconv.Itoa(*l.Score)
	}
	if l.ICPFit {
		s += " · ICP fit"
	}
	return s
}

func ownerText(l lead.Lead) string {
	switch {
	case l.OwnerName != "" && l.TeamName != "":
		return l.OwnerName + " (" + l.TeamName + ")"
	case l.OwnerName != "":
		return l.OwnerName
	case l.TeamName != "":
		return l.TeamName + " queue"
	}
	return "—"
}

// moveLabel is the button text of a move.
func moveLabel(to lead.Stage) string {
	switch to {
	case lead.StageMQL:
		return "Hand off to sales"
	case lead.StageAccepted:
		return "Accept"
	case lead.StageRejected:
		return "Reject"
	case lead.StageSQL:
		return "Qualify (SQL)"
	case lead.StageOpportunity:
		return "Open opportunity"
	case lead.StageWon:
		return "Mark won"
	case lead.StageLost:
		return "Mark lost"
	case lead.StageRecycled:
		return "Recycle"
	}
	return to.Label()
}
