package view

import (
	"fmt"
	"math"
	"strings"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/sla"
)

// DigestInput is what a digest e-mail is made from: the figures of the
// period (with the previous one) as the store computed them, and for the
// monthly report the scorecard.
type DigestInput struct {
	Monthly    bool
	TenantName string
	Currency   string
	Period     metric.Period
	Figures    metric.Figures
	// Scorecard and Clauses (each clause in plain words, by id): monthly.
	Scorecard *metric.Scorecard
	Clauses   map[uuid.UUID]string
	// Running and AtRisk are the open SLA timers now: weekly.
	Running, AtRisk int64
	DashboardURL    string
	BaseURL         string
}

// DigestEmail is a digest e-mail ready to render, as HTML (DigestEmailHTML)
// or as text (DigestEmailText): both show the same strings.
type DigestEmail struct {
	Subject     string
	Title       string // "Weekly pipeline review"
	PeriodLabel string // "week of 23 Nov 2026"
	Dates       string // "23 Nov – 29 Nov 2026"
	Previous    string // "16 Nov – 22 Nov 2026", what deltas compare with
	TenantName  string
	// Weekly is true for the pipeline review: funnel, sources and timers.
	Weekly      bool
	Cards       []DigestCard
	Funnel      []DigestFunnelStep
	Sources     []DigestSourceRow
	MoreSources int
	ShowTimers  bool
	Running     string
	AtRisk      string
	Scorecard   []DigestClause
	// HasScorecard is true for the monthly report, even with no clauses.
	HasScorecard bool
	DashboardURL string
	BreachesURL  string
	AgreementURL string
	SettingsURL  string
}

// DigestCard is one KPI card: the figure, its change and the previous
// value. Tone is "good", "bad" or "" (no change, or no data).
type DigestCard struct {
	Label    string
	Value    string
	Delta    string
	Previous string
	Note     string
	Tone     string
}

// DigestFunnelStep is one step of the funnel: how many of the period's
// handoffs got that far, and their share of the handoffs.
type DigestFunnelStep struct {
	Stage string
	Count string
	Share string
	// Bar is the share in whole percent (0–100) for the bar's width.
	Bar int
}

// DigestSourceRow is one source of the period's pipeline.
type DigestSourceRow struct {
	Source         string
	Handoffs       string
	Accepted       string
	AcceptanceRate string
	Opportunities  string
	Pipeline       string
	Revenue        string
}

// DigestClause is one clause of the scorecard.
type DigestClause struct {
	Side   string
	Clause string
	Target string
	Actual string
	Status string // "Met", "Missed", "On track", "At risk"
	Tone   string // good, bad, ""
	Pace   string
}

// digestMaxSources bounds the sources listed; the dashboard has the rest.
const digestMaxSources = 10

// NewDigestEmail builds the e-mail of a digest. Every number is formatted
// from the figures as given: nothing is computed here but percentages of
// the funnel steps, which are [metric.Rate] of the store's counts.
func NewDigestEmail(in DigestInput) DigestEmail {
	f := in.Figures
	prev := f.Previous
	if prev == nil {
		prev = &metric.Figures{Period: in.Period.Previous()}
	}
	base := strings.TrimRight(in.BaseURL, "/")
	e := DigestEmail{
		Title:        "Weekly pipeline review",
		PeriodLabel:  in.Period.Label(),
		Dates:        digestDates(in.Period),
		Previous:     digestDates(prev.Period),
		TenantName:   in.TenantName,
		DashboardURL: in.DashboardURL,
		BreachesURL:  base + "/breaches",
		AgreementURL: base + "/agreement",
		SettingsURL:  base + "/settings/digests",
	}
	if in.Monthly {
		e.Title = "Monthly performance report"
	}
	e.Weekly = !in.Monthly
	e.Subject = e.Title + " — " + e.PeriodLabel
	cur := in.Currency

	count := func(label string, c, p int64, note string) DigestCard {
		return digestCard(label, metric.Float(c), metric.Float(p), metric.DeltaCount, true, Count(c), Count(p), note)
	}
	money := func(label string, c, p metric.Amount, note string) DigestCard {
		cf, pf := float64(c), float64(p)
		return digestCard(label, &cf, &pf, metric.DeltaCount, true, Money(c, cur), Money(p, cur), note)
	}
	rate := func(label string, c, p *float64, note string) DigestCard {
		return digestCard(label, c, p, metric.DeltaRate, true, Percent(c), Percent(p), note)
	}
	s := f.SpeedToLead
	e.Cards = []DigestCard{
		count("Handoffs", f.Handoffs, prev.Handoffs, "leads marketing handed to sales"),
		rate("Lead acceptance rate", f.LeadAcceptanceRate, prev.LeadAcceptanceRate,
			fmt.Sprintf("%s accepted, %s rejected, %s undecided", Count(f.Accepted), Count(f.Rejected), Count(f.Undecided))),
		rate("Lead → opportunity", f.LeadToOpportunityRate, prev.LeadToOpportunityRate,
			fmt.Sprintf("%s of %s handoffs became opportunities", Count(f.Funnel.Opportunity), Count(f.Handoffs))),
		rate("Win rate", f.WinRate, prev.WinRate, fmt.Sprintf("%s won, %s lost", Count(f.Wins), Count(f.Losses))),
		// Faster is better: a shorter median is the good direction.
		digestCard("Speed to lead (median)", s.MedianMinutes, prev.SpeedToLead.MedianMinutes, metric.DeltaCount, false,
			Minutes(s.MedianMinutes), Minutes(prev.SpeedToLead.MedianMinutes),
			fmt.Sprintf("within 1 hour: %s of touched handoffs; %s untouched", Percent(s.Within1hShare), Count(s.Untouched))),
		rate("SLA compliance — sales", f.SLACompliance.Sales, prev.SLACompliance.Sales, "timers met ÷ met + breached"),
		rate("SLA compliance — marketing", f.SLACompliance.Marketing, prev.SLACompliance.Marketing, "timers met ÷ met + breached"),
		money("Pipeline created", f.PipelineCreated, prev.PipelineCreated, "new opportunities' amounts"),
		money("Revenue won", f.RevenueWon, prev.RevenueWon, fmt.Sprintf("%s deals won", Count(f.Wins))),
	}

	if !in.Monthly {
		for _, st := range f.Funnel.Steps() {
			share := metric.Rate(st.Count, f.Handoffs)
			bar := 0
			if share != nil {
				bar = int(math.Round(100 * *share))
			}
			e.Funnel = append(e.Funnel, DigestFunnelStep{Stage: digestStage(st.Stage), Count: Count(st.Count), Share: Percent(share), Bar: bar})
		}
		for i, r := range f.BySource {
			if i == digestMaxSources {
				e.MoreSources = len(f.BySource) - i
				break
			}
			e.Sources = append(e.Sources, DigestSourceRow{Source: r.Source, Handoffs: Count(r.Handoffs), Accepted: Count(r.Accepted),
				AcceptanceRate: Percent(r.LeadAcceptanceRate), Opportunities: Count(r.Opportunities),
				Pipeline: Money(r.PipelineCreated, cur), Revenue: Money(r.RevenueWon, cur)})
		}
		e.ShowTimers, e.Running, e.AtRisk = true, Count(in.Running), Count(in.AtRisk)
	}

	if in.Scorecard != nil {
		e.HasScorecard = true
		for _, c := range in.Scorecard.Clauses {
			name := in.Clauses[c.ClauseID]
			if name == "" {
				name = c.Kind
			}
			row := DigestClause{Side: digestSide(c.Side), Clause: name, Target: ScoreValue(c.Target, c.Unit, cur),
				Actual: "no data", Pace: c.Pace}
			if c.Actual != nil {
				row.Actual = ScoreValue(*c.Actual, c.Unit, cur)
			}
			row.Status, row.Tone = digestStatus(c.Status)
			e.Scorecard = append(e.Scorecard, row)
		}
	}
	return e
}

// digestCard formats one KPI card; up says whether a rise is good.
func digestCard(label string, cur, prev *float64, kind metric.DeltaKind, up bool, value, prevValue, note string) DigestCard {
	d := metric.Delta(cur, prev, kind)
	c := DigestCard{Label: label, Value: value, Delta: metric.FormatDelta(d, kind), Previous: prevValue, Note: note}
	if d != nil {
		switch r := math.Round(*d * 10); {
		case r > 0 && up, r < 0 && !up:
			c.Tone = "good"
		case r < 0 && up, r > 0 && !up:
			c.Tone = "bad"
		}
	}
	return c
}

// digestDates writes a period's days, the last included: "23 Nov – 29 Nov 2026".
func digestDates(p metric.Period) string {
	last := p.To.AddDate(0, 0, -1)
	if p.From.Year() == last.Year() {
		return p.From.Format("2 Jan") + " – " + last.Format("2 Jan 2006")
	}
	return p.From.Format("2 Jan 2006") + " – " + last.Format("2 Jan 2006")
}

func digestStage(stage string) string {
	switch stage {
	case "mql":
		return "Handed off (MQL)"
	case "accepted":
		return "Accepted"
	case "sql":
		return "Sales qualified (SQL)"
	case "opportunity":
		return "Opportunity"
	case "won":
		return "Won"
	}
	return stage
}

func digestSide(side string) string {
	if side == "marketing" {
		return "Marketing"
	}
	return "Sales"
}

func digestStatus(s sla.PeriodStatus) (label, tone string) {
	switch s {
	case sla.PeriodMet:
		return "Met", "good"
	case sla.PeriodMissed:
		return "Missed", "bad"
	case sla.PeriodAtRisk:
		return "At risk", "bad"
	}
	return "On track", "good"
}

// digestToneColor is the text colour of a tone.
func digestToneColor(tone string) string {
	switch tone {
	case "good":
		return "#047857"
	case "bad":
		return "#b91c1c"
	}
	return "#5b6178"
}

// DigestEmailText is the plain-text alternative of the digest e-mail: the
// same figures, laid out for a fixed-width reader.
func DigestEmailText(e DigestEmail) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("%s — %s", e.Title, e.TenantName)
	line("%s (%s), compared with %s", e.PeriodLabel, e.Dates, e.Previous)
	line("")
	line("KEY FIGURES")
	for _, c := range e.Cards {
		line("- %s: %s (%s; previous %s)", c.Label, c.Value, c.Delta, c.Previous)
		if c.Note != "" {
			line("  %s", c.Note)
		}
	}
	if e.Weekly {
		line("")
		line("FUNNEL (of the period's handoffs)")
		for _, s := range e.Funnel {
			line("- %s: %s (%s)", s.Stage, s.Count, s.Share)
		}
	}
	if e.Weekly {
		line("")
		line("PIPELINE BY SOURCE")
		if len(e.Sources) == 0 {
			line("No handoffs or opportunities in this period.")
		}
		for _, s := range e.Sources {
			line("- %s: %s handoffs, %s accepted (%s), %s opportunities, pipeline %s, won %s",
				s.Source, s.Handoffs, s.Accepted, s.AcceptanceRate, s.Opportunities, s.Pipeline, s.Revenue)
		}
		if e.MoreSources > 0 {
			line("  and %d more sources on the dashboard", e.MoreSources)
		}
	}
	if e.ShowTimers {
		line("")
		line("OPEN SLA TIMERS NOW: %s running, %s at risk — %s", e.Running, e.AtRisk, e.BreachesURL)
	}
	if e.HasScorecard {
		line("")
		line("SCORECARD")
		if len(e.Scorecard) == 0 {
			line("The agreement has no clauses yet: %s", e.AgreementURL)
		}
		for _, c := range e.Scorecard {
			line("- [%s] %s: %s — %s", c.Status, c.Side, c.Clause, digestTarget(c))
		}
	}
	line("")
	line("Open the dashboard for this period: %s", e.DashboardURL)
	line("")
	line("You get this e-mail as a member of %s on Accord. Admins choose who gets it: %s", e.TenantName, e.SettingsURL)
	return b.String()
}

// digestTarget writes a clause's actual against its target, with its pace.
func digestTarget(c DigestClause) string {
	s := "actual " + c.Actual + " of target " + c.Target
	if c.Pace != "" {
		s += " (" + c.Pace + ")"
	}
	return s
}
