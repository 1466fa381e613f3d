package view

import (
	"math"
	"net/url"
	"sort"
	"strconv"

	"github.com/accordhq/accord/internal/validator"
)

// DashboardView is the shared dashboard of one period and filter.
type DashboardView struct {
	PeriodLabel   string
	PreviousLabel string
	// Query is the period and filter as a query string ("from=…&to=…"),
	// for links that keep the view and for the CSV downloads.
	Query    string
	Filter   DashboardFilter
	Presets  []Choice
	Teams    []Choice
	Sources  []string // suggestions for the source filter
	Campaign []string // suggestions for the campaign filter
	Segments []string
	Errors   validator.Errors

	KPIs       []KPI
	Funnel     []Bar
	Speed      []Bar // the last bar is the untouched handoffs
	SpeedMark  int   // bars before the one-hour mark
	Sides      []ComplianceView
	ByKind     []ComplianceView
	ByTeam     []ComplianceView
	ByRep      []ComplianceView
	Running    int64
	AtRisk     int64
	BySource   []FlowView
	ByCampaign []FlowView
	Rejections []ReasonView
	Scorecard  []ScoreView
}

// DashboardFilter is the filter form's values as typed.
type DashboardFilter struct {
	Period, From, To, Segment, Source, Campaign, TeamID string
}

// Choice is one option of a select, with whether it is selected.
type Choice struct {
	Value, Label string
	Selected     bool
}

// KPI is one card: the figure, its previous period and the change.
type KPI struct {
	ID, Label, Value, Previous, Delta string
	// Trend is "up" (better), "down" (worse) or "" (no change or no data),
	// already turned for figures where less is better.
	Trend string
	Href  string // the leads or timers behind the figure
	Hint  string // what the figure counts
}

// Bar is one bar of a chart, with the share of the longest bar it takes.
type Bar struct {
	Label, Value string
	Share        float64 // 0–1
	Href         string
}

// ComplianceView is SLA compliance of a side, kind, team or rep.
type ComplianceView struct {
	Name, Side string
	Met        int64
	Breached   int64
	Rate       string
	Share      float64 // the rate, 0–1, for its bar
	Href       string  // the breaches behind the figure
}

// FlowView is one source or campaign row.
type FlowView struct {
	Name                                 string
	Handoffs, Accepted, Rejected, Opps   int64
	Acceptance, PipelineCreated, Revenue string
	PipelineShare, RevenueShare          float64
	HandoffsHref                         string
}

// ReasonView is one rejection reason with its split by source.
type ReasonView struct {
	Reason   string
	Count    int64
	BySource string // "paid_search 12 · webinar 3"
}

// ScoreView is one clause of the scorecard.
type ScoreView struct {
	Side, Kind, Scope, Period, Target, Actual, Status, StatusLabel, Pace string
	Href                                                                 string // the leads or breaches behind the actual
}

// DashboardLink is a dashboard URL with the view's query and more.
func (v DashboardView) Link(path string, extra url.Values) string {
	q, _ := url.ParseQuery(v.Query)
	for k, vs := range extra {
		q[k] = vs
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// barWidth is the pixel width of a bar of share s in a chart whose bars
// may be w wide.
func barWidth(s float64, w int) string {
	px := s * float64(w)
	if s > 0 && px < 2 {
		px = 2 // a non-zero value stays visible
	}
	return strconv.FormatFloat(math.Round(px*10)/10, 'f', 1, 64)
}

func ftoa(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', 1, 64) }

func i64(n int64) string { return Count(n) }

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
