package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/web/view"
)

// handleDashboardShow renders the shared dashboard for the period and
// filter of the URL (default: this month, everything). Bad input shows this
// month's figures with the problems beside the fields, as a 422.
func (s *Server) handleDashboardShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	now := s.now()
	loc := tenant.LoadLocation(p.Tenant.TimeZone)
	// The form sends the dates it shows along with the period picked: a
	// preset wins, "Custom dates" (an empty period) reads the dates.
	if q := r.URL.Query(); q.Get("period") != "" && (q.Has("from") || q.Has("to")) {
		q.Del("from")
		q.Del("to")
		r = r.Clone(r.Context())
		r.URL.RawQuery = q.Encode()
	}
	period, filter, errs := metricQuery(r, p.Tenant, now)
	status := http.StatusOK
	if errs != nil {
		status = http.StatusUnprocessableEntity
		period, _ = metric.ParsePeriod("", "", "", loc, now)
		filter = metric.Filter{}
	}
	d, err := s.store.FindDashboard(r.Context(), p.TenantID(), period, filter, now)
	var verrs validator.Errors
	if errors.As(err, &verrs) {
		status, errs = http.StatusUnprocessableEntity, metric.Merge(errs, verrs)
		d = postgres.Dashboard{Figures: metric.Figures{Period: period, Previous: &metric.Figures{Period: period.Previous()}}}
		d.Figures.Derive()
		err = nil
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := dashboardView(r, p, period, filter, d, errs)
	s.render(w, r, status, view.DashboardPage(s.page(r, "Dashboard", "dashboard"), v))
}

// handleDashboardCSV downloads the dashboard's figures as CSV (the same
// rows as GET /api/v1/metrics.csv); section keeps the rows of one chart.
func (s *Server) handleDashboardCSV(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	period, filter, errs := metricQuery(r, p.Tenant, s.now(), "section")
	if errs != nil {
		s.renderError(w, r, errs)
		return
	}
	fig, err := s.store.FindMetrics(r.Context(), p.TenantID(), period, filter, s.now())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.writeFiguresCSV(w, fig, r.URL.Query().Get("section"))
}

// dashboardView turns the store's dashboard into the page's view model.
func dashboardView(r *http.Request, p auth.Principal, period metric.Period, f metric.Filter, d postgres.Dashboard, errs validator.Errors) view.DashboardView {
	q := r.URL.Query()
	fig := d.Figures
	prev := fig.Previous
	if prev == nil {
		prev = &metric.Figures{Period: period.Previous()}
		prev.Derive()
	}
	cur := p.Tenant.Currency
	query := period.Query()
	for k, vs := range f.Query() {
		query[k] = vs
	}
	v := view.DashboardView{
		PeriodLabel:   period.Label(),
		PreviousLabel: prev.Period.Label(),
		Query:         query.Encode(),
		Errors:        errs,
		Segments:      d.Segments,
		Running:       d.Running,
		AtRisk:        d.AtRisk,
	}
	from, to := period.Dates()
	v.Filter = view.DashboardFilter{Period: q.Get("period"), From: from, To: to, Segment: f.Segment, Source: f.Source, Campaign: f.Campaign}
	if f.TeamID != nil {
		v.Filter.TeamID = f.TeamID.String()
	}
	v.Presets = append(v.Presets, view.Choice{Value: "", Label: "Custom dates", Selected: v.Filter.Period == ""})
	for _, pr := range metric.Presets {
		v.Presets = append(v.Presets, view.Choice{Value: pr, Label: presetLabel(pr), Selected: pr == v.Filter.Period})
	}
	for _, t := range d.Teams {
		v.Teams = append(v.Teams, view.Choice{Value: t.ID.String(), Label: t.Name, Selected: t.ID.String() == v.Filter.TeamID})
	}
	for _, row := range fig.BySource {
		v.Sources = append(v.Sources, row.Source)
	}
	for _, row := range fig.ByCampaign {
		v.Campaign = append(v.Campaign, row.Campaign)
	}

	// Drill-downs: the leads behind a figure, with the same filters.
	leads := func(extra url.Values) string {
		lq := url.Values{"handoff_from": {from}, "handoff_to": {to}}
		for k, vs := range f.Query() {
			lq[k] = vs
		}
		for k, vs := range extra {
			lq[k] = vs
		}
		return "/leads?" + lq.Encode()
	}
	rate := func(id, label, hint string, c, pr *float64, href string, lowerBetter bool) view.KPI {
		k := view.KPI{ID: id, Label: label, Value: view.Percent(c), Previous: view.Percent(pr), Href: href, Hint: hint}
		d := metric.Delta(c, pr, metric.DeltaRate)
		k.Delta = metric.FormatDelta(d, metric.DeltaRate)
		k.Trend = trend(d, lowerBetter)
		return k
	}
	handoffs, prevHandoffs := float64(fig.Handoffs), float64(prev.Handoffs)
	hd := metric.Delta(&handoffs, &prevHandoffs, metric.DeltaCount)
	v.KPIs = append(v.KPIs,
		view.KPI{ID: "handoffs", Label: "Handoffs", Value: view.Count(fig.Handoffs), Previous: view.Count(prev.Handoffs),
			Delta: metric.FormatDelta(hd, metric.DeltaCount), Trend: trend(hd, false), Href: leads(nil), Hint: "Transitions to MQL in the period; a re-handoff counts again"},
		rate("acceptance", "Lead acceptance", "Accepted ÷ (accepted + rejected), by the first decision after each handoff", fig.LeadAcceptanceRate, prev.LeadAcceptanceRate, leads(url.Values{"decision": {"accepted"}}), false),
		rate("lead-to-opportunity", "Lead → opportunity", "Handoffs whose lead later reached opportunity ÷ handoffs", fig.LeadToOpportunityRate, prev.LeadToOpportunityRate, leads(url.Values{"reached": {"opportunity"}}), false),
		rate("win-rate", "Win rate", "Won ÷ (won + lost), transitions in the period", fig.WinRate, prev.WinRate, "/leads?"+stageQuery("won", f), false),
	)
	ttc := view.KPI{ID: "time-to-close", Label: "Time to close", Value: view.DaysText(fig.MedianDaysToClose), Previous: view.DaysText(prev.MedianDaysToClose),
		Href: "/leads?" + stageQuery("won", f), Hint: "Median days from a won lead's first handoff to its win"}
	ttcD := relDelta(fig.MedianDaysToClose, prev.MedianDaysToClose)
	ttc.Delta, ttc.Trend = metric.FormatDelta(ttcD, metric.DeltaCount), trend(ttcD, true)
	stl := view.KPI{ID: "speed-to-lead", Label: "Speed to lead", Value: view.Minutes(fig.SpeedToLead.MedianMinutes), Previous: view.Minutes(prev.SpeedToLead.MedianMinutes),
		Href: leads(url.Values{"touched": {"true"}}), Hint: fmt.Sprintf("Median minutes from handoff to first touch; %s within an hour, %d untouched",
			view.Percent(fig.SpeedToLead.Within1hShare), fig.SpeedToLead.Untouched)}
	stlD := relDelta(fig.SpeedToLead.MedianMinutes, prev.SpeedToLead.MedianMinutes)
	stl.Delta, stl.Trend = metric.FormatDelta(stlD, metric.DeltaCount), trend(stlD, true)
	cov := view.KPI{ID: "coverage", Label: "Pipeline coverage", Value: coverage(fig), Previous: coverage(*prev), Href: "/leads?" + stageQuery("opportunity", f),
		Hint: "Open pipeline ÷ (revenue target − revenue won)"}
	covD := relDelta(fig.PipelineCoverage, prev.PipelineCoverage)
	cov.Delta, cov.Trend = metric.FormatDelta(covD, metric.DeltaCount), trend(covD, false)
	vel := view.KPI{ID: "velocity", Label: "Pipeline velocity", Value: amountPtr(fig.PipelineVelocity, cur, "/day"), Previous: amountPtr(prev.PipelineVelocity, cur, "/day"),
		Href: "/leads?" + stageQuery("opportunity", f), Hint: "Open opportunities × win rate × average won amount ÷ median days to close"}
	velD := relAmountDelta(fig.PipelineVelocity, prev.PipelineVelocity)
	vel.Delta, vel.Trend = metric.FormatDelta(velD, metric.DeltaCount), trend(velD, false)
	v.KPIs = append(v.KPIs, ttc, stl, cov, vel,
		rate("sla-sales", "SLA compliance · sales", "Met ÷ (met + breached) of sales timers resolved in the period", fig.SLACompliance.Sales, prev.SLACompliance.Sales,
			"/breaches?"+resolvedQuery(period, f, url.Values{"side": {"sales"}}).Encode(), false),
		rate("sla-marketing", "SLA compliance · marketing", "Met ÷ (met + breached) of marketing timers resolved in the period", fig.SLACompliance.Marketing, prev.SLACompliance.Marketing,
			"/breaches?"+resolvedQuery(period, f, url.Values{"side": {"marketing"}}).Encode(), false),
		view.KPI{ID: "pipeline-created", Label: "Pipeline created", Value: view.Money(fig.PipelineCreated, cur), Previous: view.Money(prev.PipelineCreated, cur),
			Delta: metric.FormatDelta(relAmountDelta(&fig.PipelineCreated, &prev.PipelineCreated), metric.DeltaCount),
			Trend: trend(relAmountDelta(&fig.PipelineCreated, &prev.PipelineCreated), false), Href: "/leads?" + stageQuery("opportunity", f), Hint: "Σ amount of transitions to opportunity in the period"},
		view.KPI{ID: "revenue-won", Label: "Revenue won", Value: view.Money(fig.RevenueWon, cur), Previous: view.Money(prev.RevenueWon, cur),
			Delta: metric.FormatDelta(relAmountDelta(&fig.RevenueWon, &prev.RevenueWon), metric.DeltaCount),
			Trend: trend(relAmountDelta(&fig.RevenueWon, &prev.RevenueWon), false), Href: "/leads?" + stageQuery("won", f), Hint: "Σ amount of transitions to won in the period"},
	)
	contentHref := "/content"
	if fig.Period.Preset != "" {
		contentHref += "?period=" + url.QueryEscape(fig.Period.Preset)
	}
	usage := rate("content-usage", "Content usage", fmt.Sprintf("Active assets used at least once in the period ÷ active assets (%d of %d); %d wins had content used before winning",
		fig.Content.UsedAssets, fig.Content.ActiveAssets, fig.Content.WonWithContent), fig.Content.UsageShare, prev.Content.UsageShare, contentHref, false)
	v.KPIs = append(v.KPIs, usage)

	// The funnel, as bars of the handoffs.
	steps := fig.Funnel.Steps()
	for _, st := range steps {
		b := view.Bar{Label: stageLabel(st.Stage), Value: view.Count(st.Count), Share: share(st.Count, fig.Handoffs)}
		if st.Stage == "mql" {
			b.Href = leads(nil)
		} else {
			b.Href = leads(url.Values{"reached": {st.Stage}})
		}
		v.Funnel = append(v.Funnel, b)
	}

	// Speed to lead: bars by minutes to first touch, then the untouched.
	var most int64
	for _, n := range d.Speed {
		most = max(most, n)
	}
	low := 0
	for i, n := range d.Speed {
		label := "untouched"
		switch {
		case i < len(postgres.SpeedBuckets):
			label = "≤ " + view.Minutes(ptrF(float64(postgres.SpeedBuckets[i])))
			if i > 0 {
				label = view.Minutes(ptrF(float64(low))) + " – " + view.Minutes(ptrF(float64(postgres.SpeedBuckets[i])))
			}
			low = postgres.SpeedBuckets[i]
		case i == len(postgres.SpeedBuckets):
			label = "> " + view.Minutes(ptrF(float64(low)))
		}
		v.Speed = append(v.Speed, view.Bar{Label: label, Value: view.Count(n), Share: share(n, most)})
	}
	for i, b := range postgres.SpeedBuckets {
		if b == 60 {
			v.SpeedMark = i + 1
		}
	}

	// SLA compliance by side, kind, team and rep.
	addCompliance := func(dst *[]view.ComplianceView, name, side string, met, breached int64, bq url.Values) {
		r := metric.Rate(met, met+breached)
		bq = resolvedQuery(period, f, bq)
		c := view.ComplianceView{Name: name, Side: side, Met: met, Breached: breached, Rate: view.Percent(r), Href: "/breaches?" + bq.Encode()}
		if r != nil {
			c.Share = *r
		}
		*dst = append(*dst, c)
	}
	var sideTotals [2][2]int64 // sales, marketing × met, breached
	kinds := make([]string, 0, len(fig.SLACompliance.ByKind))
	for k := range fig.SLACompliance.ByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		c := fig.SLACompliance.ByKind[k]
		side := sla.Kind(k).Side()
		i := 0
		if side == tenant.SideMarketing {
			i = 1
		}
		sideTotals[i][0] += c.Met
		sideTotals[i][1] += c.Breached
		addCompliance(&v.ByKind, kindName(k), string(side), c.Met, c.Breached, url.Values{"kind": {k}})
	}
	for i, side := range []string{"Sales", "Marketing"} {
		if sideTotals[i][0]+sideTotals[i][1] > 0 {
			addCompliance(&v.Sides, side, strings.ToLower(side), sideTotals[i][0], sideTotals[i][1], url.Values{"side": {strings.ToLower(side)}})
		}
	}
	for _, row := range d.ByTeam {
		bq := url.Values{"side": {row.Side}}
		if row.ID != nil {
			bq.Set("team_id", row.ID.String())
		}
		addCompliance(&v.ByTeam, orNone(row.Name, "No team")+" · "+row.Side, row.Side, row.Met, row.Breached, bq)
	}
	for _, row := range d.ByRep {
		bq := url.Values{"side": {row.Side}}
		if row.ID != nil {
			bq.Set("holder_id", row.ID.String())
		}
		addCompliance(&v.ByRep, orNone(row.Name, "No holder")+" · "+row.Side, row.Side, row.Met, row.Breached, bq)
	}

	// Pipeline and revenue by source and campaign.
	flows := func(rows []metric.Slice, names []string, key string) []view.FlowView {
		var topP, topR metric.Amount
		for _, r := range rows {
			topP, topR = max(topP, r.PipelineCreated), max(topR, r.RevenueWon)
		}
		out := make([]view.FlowView, 0, len(rows))
		for i, r := range rows {
			fv := view.FlowView{Name: names[i], Handoffs: r.Handoffs, Accepted: r.Accepted, Rejected: r.Rejected, Opps: r.Opportunities,
				Acceptance: view.Percent(r.LeadAcceptanceRate), PipelineCreated: view.Money(r.PipelineCreated, cur), Revenue: view.Money(r.RevenueWon, cur),
				PipelineShare: share(int64(r.PipelineCreated), int64(topP)), RevenueShare: share(int64(r.RevenueWon), int64(topR))}
			// "(none)" is a value the lead list reads as "without one".
			fv.HandoffsHref = leads(url.Values{key: {names[i]}})
			out = append(out, fv)
		}
		return out
	}
	var srcRows, cmpRows []metric.Slice
	var srcNames, cmpNames []string
	for _, r := range fig.BySource {
		srcRows, srcNames = append(srcRows, r.Slice), append(srcNames, r.Source)
	}
	for _, r := range fig.ByCampaign {
		cmpRows, cmpNames = append(cmpRows, r.Slice), append(cmpNames, r.Campaign)
	}
	v.BySource = flows(srcRows, srcNames, "source")
	v.ByCampaign = flows(cmpRows, cmpNames, "campaign")

	for _, rr := range fig.RejectionReasons {
		names := make([]string, 0, len(rr.BySource))
		for src := range rr.BySource {
			names = append(names, src)
		}
		sort.Slice(names, func(i, j int) bool {
			if rr.BySource[names[i]] != rr.BySource[names[j]] {
				return rr.BySource[names[i]] > rr.BySource[names[j]]
			}
			return names[i] < names[j]
		})
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = fmt.Sprintf("%s %d", n, rr.BySource[n])
		}
		v.Rejections = append(v.Rejections, view.ReasonView{Reason: rr.Reason, Count: rr.Count, BySource: strings.Join(parts, " · ")})
	}

	// The scorecard: every clause, both sides, marketing first.
	clauses := map[string]sla.Clause{}
	for _, c := range d.Agreement.Clauses {
		clauses[c.ID.String()] = c
	}
	entries := append([]metric.ScorecardEntry(nil), d.Scorecard.Clauses...)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Side < entries[j].Side })
	for _, e := range entries {
		sv := view.ScoreView{Side: e.Side, Kind: kindName(e.Kind), Period: e.From + " – " + e.To, Status: string(e.Status),
			StatusLabel: periodStatusName(e.Status), Pace: e.Pace, Target: view.ScoreValue(e.Target, e.Unit, cur), Actual: "no data"}
		if c, ok := clauses[e.ClauseID.String()]; ok {
			sv.Kind = c.Describe()
			sv.Href = scoreHref(c, e)
		}
		if e.Actual != nil {
			sv.Actual = view.ScoreValue(*e.Actual, e.Unit, cur)
		}
		if e.Scope != nil {
			var parts []string
			if e.Scope.Segment != nil {
				parts = append(parts, "segment "+*e.Scope.Segment)
			}
			if e.Scope.Source != nil {
				parts = append(parts, "source "+*e.Scope.Source)
			}
			sv.Scope = strings.Join(parts, ", ")
		}
		v.Scorecard = append(v.Scorecard, sv)
	}
	return v
}

// trend reads a delta: "up" when it is an improvement.
func trend(d *float64, lowerBetter bool) string {
	if d == nil || math.Abs(*d) < 1e-9 {
		return ""
	}
	if (*d > 0) != lowerBetter {
		return "up"
	}
	return "down"
}

// relDelta is the percent change of a figure that is not a rate.
func relDelta(cur, prev *float64) *float64 { return metric.Delta(cur, prev, metric.DeltaCount) }

func relAmountDelta(cur, prev *metric.Amount) *float64 {
	if cur == nil || prev == nil {
		return nil
	}
	c, p := float64(*cur), float64(*prev)
	return metric.Delta(&c, &p, metric.DeltaCount)
}

func amountPtr(a *metric.Amount, currency, suffix string) string {
	if a == nil {
		return "no data"
	}
	return view.Money(*a, currency) + suffix
}

func coverage(f metric.Figures) string {
	switch {
	case f.RevenueTarget == nil:
		return "no target"
	case f.PipelineCoverage == nil:
		return "target reached"
	}
	return fmt.Sprintf("%.1f×", *f.PipelineCoverage)
}

func share(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func ptrF(f float64) *float64 { return &f }

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func stageQuery(stage string, f metric.Filter) string {
	q := f.Query()
	q.Set("stage", stage)
	return q.Encode()
}

func stageLabel(s string) string {
	switch s {
	case "mql":
		return "Handed off"
	case "accepted":
		return "Accepted"
	case "sql":
		return "SQL"
	case "opportunity":
		return "Opportunity"
	case "won":
		return "Won"
	}
	return s
}

func presetLabel(p string) string {
	return strings.ToUpper(p[:1]) + strings.ReplaceAll(p[1:], "_", " ")
}

func periodStatusName(s sla.PeriodStatus) string {
	switch s {
	case sla.PeriodMet:
		return "Met"
	case sla.PeriodMissed:
		return "Missed"
	case sla.PeriodAtRisk:
		return "At risk"
	}
	return "On track"
}

// resolvedQuery is the breaches page's query for the timers an SLA
// compliance figure counts: those met or breached in period, with the
// dashboard's filters and the row's own (extra).
func resolvedQuery(period metric.Period, f metric.Filter, extra url.Values) url.Values {
	q := f.Query()
	from, to := period.Dates()
	q.Set("tab", "resolved")
	q.Set(metric.KeyFrom, from)
	q.Set(metric.KeyTo, to)
	for k, vs := range extra {
		q[k] = vs
	}
	return q
}

// scoreHref is what a scorecard row's actual counts: the breaches of a
// lead clause, the handoffs (accepted, reaching opportunity) of a period
// clause in its scope and period.
func scoreHref(c sla.Clause, e metric.ScorecardEntry) string {
	if c.Kind.Lead() {
		// The clause's timers met or breached in the scorecard's period.
		return "/breaches?" + url.Values{"tab": {"resolved"}, "clause_id": {c.ID.String()}, "from": {e.From}, "to": {e.To}}.Encode()
	}
	q := url.Values{"handoff_from": {e.From}, "handoff_to": {e.To}}
	if c.Scope.Segment != nil {
		q.Set("segment", *c.Scope.Segment)
	}
	if c.Scope.Source != nil {
		q.Set("source", *c.Scope.Source)
	}
	switch c.Kind {
	case sla.KindAcceptance:
		q.Set("decision", "accepted")
	case sla.KindPipeline:
		q.Set("reached", "opportunity")
	}
	return "/leads?" + q.Encode()
}
