package metric

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/accordhq/accord/internal/sla"
)

// Row is one figure as the CSV export lists it: a dotted name
// ("by_source.paid_search.handoffs") and its value written as in the JSON
// ("" for null).
type Row struct {
	Name  string
	Value string
}

// Rows lists every figure of f (not of f.Previous) in a fixed order: the
// JSON object's fields, flattened. Breakdown rows are named by their key
// (source, campaign, segment, reason, stage, clause kind); from and to come
// first so a spreadsheet says which period it holds.
func (f Figures) Rows() []Row {
	var rows []Row
	add := func(name, value string) { rows = append(rows, Row{name, value}) }
	num := func(name string, n int64) { add(name, strconv.FormatInt(n, 10)) }
	rate := func(name string, v *float64) { add(name, floatText(v)) }
	money := func(name string, a Amount) { add(name, a.String()) }
	optMoney := func(name string, a *Amount) {
		if a == nil {
			add(name, "")
			return
		}
		money(name, *a)
	}
	slice := func(prefix string, s Slice) {
		num(prefix+"handoffs", s.Handoffs)
		num(prefix+"accepted", s.Accepted)
		num(prefix+"rejected", s.Rejected)
		num(prefix+"undecided", s.Undecided)
		num(prefix+"opportunities", s.Opportunities)
		money(prefix+"pipeline_created", s.PipelineCreated)
		money(prefix+"revenue_won", s.RevenueWon)
		rate(prefix+"lead_acceptance_rate", s.LeadAcceptanceRate)
		rate(prefix+"lead_to_opportunity_rate", s.LeadToOpportunityRate)
	}

	from, to := f.Period.Dates()
	add("from", from)
	add("to", to)
	num("handoffs", f.Handoffs)
	rate("lead_acceptance_rate", f.LeadAcceptanceRate)
	num("accepted", f.Accepted)
	num("rejected", f.Rejected)
	num("undecided", f.Undecided)
	rate("lead_to_opportunity_rate", f.LeadToOpportunityRate)
	num("wins", f.Wins)
	num("losses", f.Losses)
	rate("win_rate", f.WinRate)
	rate("median_days_to_close", f.MedianDaysToClose)

	s := f.SpeedToLead
	rate("speed_to_lead.median_minutes", s.MedianMinutes)
	rate("speed_to_lead.p90_minutes", s.P90Minutes)
	rate("speed_to_lead.within_1h_share", s.Within1hShare)
	num("speed_to_lead.touched", s.Touched)
	num("speed_to_lead.within_1h", s.Within1h)
	num("speed_to_lead.untouched", s.Untouched)

	rate("sla_compliance.sales", f.SLACompliance.Sales)
	rate("sla_compliance.marketing", f.SLACompliance.Marketing)
	for _, k := range kindOrder(f.SLACompliance.ByKind) {
		c := f.SLACompliance.ByKind[k]
		p := "sla_compliance.by_kind." + k + "."
		num(p+"met", c.Met)
		num(p+"breached", c.Breached)
		rate(p+"rate", c.Rate)
	}

	money("pipeline_created", f.PipelineCreated)
	money("revenue_won", f.RevenueWon)
	optMoney("average_won_amount", f.AverageWonAmount)
	money("open_pipeline", f.OpenPipeline)
	num("open_opportunities", f.OpenOpportunities)
	optMoney("revenue_target", f.RevenueTarget)
	rate("pipeline_coverage", f.PipelineCoverage)
	optMoney("pipeline_velocity", f.PipelineVelocity)

	for _, st := range f.Funnel.Steps() {
		num("funnel."+st.Stage, st.Count)
	}
	for _, r := range f.BySource {
		slice("by_source."+r.Source+".", r.Slice)
	}
	for _, r := range f.ByCampaign {
		slice("by_campaign."+r.Campaign+".", r.Slice)
	}
	for _, r := range f.BySegment {
		slice("by_segment."+r.Segment+".", r.Slice)
	}
	for _, r := range f.RejectionReasons {
		p := "rejection_reasons." + r.Reason + "."
		num(p+"count", r.Count)
		for _, k := range sortedKeys(r.BySource) {
			num(p+"by_source."+k, r.BySource[k])
		}
		for _, k := range sortedKeys(r.ByCampaign) {
			num(p+"by_campaign."+k, r.ByCampaign[k])
		}
	}

	c := f.Content
	num("content.active_assets", c.ActiveAssets)
	num("content.used_assets", c.UsedAssets)
	rate("content.usage_share", c.UsageShare)
	num("content.won_with_content", c.WonWithContent)
	return rows
}

// WriteCSV writes cur as GET /api/v1/metrics.csv: header
// figure,value,previous, one row per figure of cur with the same figure of
// cur.Previous beside it, then the figures only the previous period has (a
// source that brought nothing this period) with an empty value. An empty
// cell is null or absent. Every cell that a spreadsheet would run as a
// formula is defused (see [EscapeCell]): names carry tenant data.
func WriteCSV(w io.Writer, cur Figures) error { return WriteSectionCSV(w, cur, "") }

// WriteSectionCSV is WriteCSV keeping only the rows of one section: the
// figure named section ("handoffs") or those under it ("funnel.accepted"
// for "funnel"); "" keeps every row. It is a chart's own download.
func WriteSectionCSV(w io.Writer, cur Figures, section string) error {
	keep := func(name string) bool {
		return section == "" || name == section || strings.HasPrefix(name, section+".")
	}
	cw := csv.NewWriter(w)
	write := func(cells ...string) {
		for i, c := range cells {
			cells[i] = EscapeCell(c)
		}
		_ = cw.Write(cells) // the error sticks; Flush and Error report it
	}
	write("figure", "value", "previous")
	prev := map[string]string{}
	var prevRows []Row
	if cur.Previous != nil {
		prevRows = cur.Previous.Rows()
		for _, r := range prevRows {
			prev[r.Name] = r.Value
		}
	}
	seen := map[string]bool{}
	for _, r := range cur.Rows() {
		seen[r.Name] = true
		if keep(r.Name) {
			write(r.Name, r.Value, prev[r.Name])
		}
	}
	for _, r := range prevRows {
		if !seen[r.Name] && keep(r.Name) {
			write(r.Name, "", r.Value)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write metrics csv: %w", err)
	}
	return nil
}

// EscapeCell defuses CSV formula injection: a cell starting with = + - @
// (or a tab or carriage return, which some spreadsheets skip before one) is
// prefixed with a single quote, so it shows as text instead of running.
// Figures are not negative in practice; one that is (a negative amount) is
// quoted like any other cell, as API.md asks, and reads as text.
func EscapeCell(s string) string {
	if s != "" && slices.Contains([]byte("=+-@\t\r"), s[0]) {
		return "'" + s
	}
	return s
}

// floatText writes v exactly as encoding/json does, so the CSV and the JSON
// agree to the last digit; "" for nil.
func floatText(v *float64) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(*v)
	if err != nil {
		return "" // NaN or ±Inf: no figure is either, and JSON has no such number
	}
	return string(b)
}

// kindOrder lists clause kinds in the agreement's display order, then any
// others by name.
func kindOrder(m map[string]KindCompliance) []string {
	var out []string
	for _, k := range sla.LeadKinds {
		if _, ok := m[string(k)]; ok {
			out = append(out, string(k))
		}
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
