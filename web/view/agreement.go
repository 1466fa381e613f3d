package view

import (
	"fmt"
	"sort"
	"strings"

	"github.com/accordhq/accord/internal/validator"
)

var clauseKinds = []Option{
	{Value: "respond", Label: "Sales: accept or reject within"},
	{Value: "first_touch", Label: "Sales: first contact within"},
	{Value: "attempts", Label: "Sales: contact attempts after accepting"},
	{Value: "recycle", Label: "Marketing: recycle rejected leads within"},
	{Value: "volume", Label: "Marketing: handoffs per period"},
	{Value: "icp_quality", Label: "Marketing: share of handoffs fitting the ICP"},
	{Value: "acceptance", Label: "Marketing: share of handoffs sales accepts"},
	{Value: "pipeline", Label: "Sales: opportunities from handoffs per period"},
}

var leadClauseKinds = []Option{
	{Value: "respond", Label: "Respond"}, {Value: "first_touch", Label: "First touch"},
	{Value: "attempts", Label: "Attempts"}, {Value: "recycle", Label: "Recycle"},
}

var notifyChoices = []Option{
	{Value: "holder", Label: "holder"}, {Value: "manager", Label: "their manager"},
	{Value: "role:admin", Label: "admins"}, {Value: "role:marketing", Label: "marketing"},
}

var breachTabs = []Option{{Value: "open", Label: "Running"}, {Value: "at_risk", Label: "At risk"}, {Value: "breached", Label: "Breached"},
	{Value: "resolved", Label: "Met or breached"}}

func tabLabel(tab string) string {
	switch tab {
	case "at_risk":
		return "at risk"
	case "open":
		return "running"
	}
	return tab
}

func breachFilterQuery(f BreachFilterView) string {
	var b strings.Builder
	for _, kv := range [][2]string{{"side", f.Side}, {"kind", f.Kind}, {"team_id", f.TeamID}, {"holder_id", f.HolderID}} {
		if kv[1] != "" {
			b.WriteString("&" + kv[0] + "=" + kv[1])
		}
	}
	return b.String()
}

func agreementSubtitle(v AgreementView) string {
	if v.Version == 0 {
		return "The promises marketing and sales make to each other"
	}
	return fmt.Sprintf("Version %d, saved by %s on %s", v.Version, v.Author, v.Effective)
}

func joinOr(xs []string, def string) string {
	if len(xs) == 0 {
		return def
	}
	return strings.Join(xs, ", ")
}

// fname and sname name the editor's fields: c3.kind, c3.s1.after.
func fname(i int, field string) string { return fmt.Sprintf("c%d.%s", i, field) }

func sname(i, j int, field string) string { return fmt.Sprintf("c%d.s%d.%s", i, j, field) }

// clauseMessages collects the messages of clause i ("clauses.3.…").
func clauseMessages(errs validator.Errors, i int) []string {
	prefix := fmt.Sprintf("clauses.%d.", i)
	var keys []string
	for k := range errs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for n, k := range keys {
		field := strings.ReplaceAll(strings.TrimPrefix(k, prefix), "_", " ")
		out[n] = field + ": " + errs[k]
	}
	return out
}

func calendarAction(id string) string {
	if id == "" {
		return "/agreement/calendars"
	}
	return "/agreement/calendars/" + id
}
