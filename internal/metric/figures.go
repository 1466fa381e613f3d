package metric

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/accordhq/accord/internal/sla"
)

// Figures are the §5 figures of one period under one filter: the object of
// GET /api/v1/metrics, the dashboard's KPI cards and tables, the CSV export
// and the digest.
//
// The store fills the counts, amounts and quantiles (the fields marked
// "store" below); [Figures.Derive] then computes every rate, share, coverage
// and velocity from them. Nothing else computes a rate, so every rendering
// shows the same digits. Fields API.md does not name (wins, losses,
// open_pipeline …) are the raw counts behind its rates, published so a
// reader can check any rate against its parts.
type Figures struct {
	// Period is what the figures cover; JSON writes it as "from" and "to".
	Period Period `json:"-"`

	// Handoffs are the transitions to mql in the period (store).
	Handoffs int64 `json:"handoffs"`
	// LeadAcceptanceRate is Accepted ÷ (Accepted + Rejected) (derived).
	LeadAcceptanceRate *float64 `json:"lead_acceptance_rate"`
	// Accepted, Rejected and Undecided split the period's handoffs by the
	// first decision after each, before the lead's next handoff (store).
	Accepted  int64 `json:"accepted"`
	Rejected  int64 `json:"rejected"`
	Undecided int64 `json:"undecided"`
	// LeadToOpportunityRate is Funnel.Opportunity ÷ Handoffs (derived).
	LeadToOpportunityRate *float64 `json:"lead_to_opportunity_rate"`
	// Wins and Losses are the transitions to won and to lost in the period
	// (store); flow counts, unlike the cohort Funnel.Won.
	Wins   int64 `json:"wins"`
	Losses int64 `json:"losses"`
	// WinRate is Wins ÷ (Wins + Losses) (derived).
	WinRate *float64 `json:"win_rate"`
	// MedianDaysToClose is the median of [Days](won at − first handoff) over
	// the period's wins (store: Median or percentile_cont(0.5)).
	MedianDaysToClose *float64 `json:"median_days_to_close"`

	SpeedToLead   SpeedToLead   `json:"speed_to_lead"`
	SLACompliance SLACompliance `json:"sla_compliance"`

	// PipelineCreated is Σ amount of the period's transitions to
	// opportunity; RevenueWon Σ amount of its transitions to won, after the
	// won transition's own amount (store).
	PipelineCreated Amount `json:"pipeline_created"`
	RevenueWon      Amount `json:"revenue_won"`
	// AverageWonAmount is RevenueWon ÷ Wins, rounded to the cent (derived).
	AverageWonAmount *Amount `json:"average_won_amount"`
	// OpenPipeline is Σ amount of the leads in opportunity and
	// OpenOpportunities their number (store). DESIGN.md says "now"; for a
	// previous or past period the store may take them as of the period's
	// end, which is "now" for a period that has not ended.
	OpenPipeline      Amount `json:"open_pipeline"`
	OpenOpportunities int64  `json:"open_opportunities"`
	// RevenueTarget is the period's prorated revenue target, nil without
	// targets (store: [RevenueTarget]).
	RevenueTarget *Amount `json:"revenue_target"`
	// PipelineCoverage is [PipelineCoverage] of the above (derived).
	PipelineCoverage *float64 `json:"pipeline_coverage"`
	// PipelineVelocity is [PipelineVelocity] of the above, in money per day
	// rounded to the cent (derived).
	PipelineVelocity *Amount `json:"pipeline_velocity"`

	// Funnel counts the period's handoffs by the furthest stage reached
	// later (store; Derive sets MQL to Handoffs).
	Funnel Funnel `json:"funnel"`

	// BySource, ByCampaign and BySegment break the figures down (store:
	// counts; Derive: rates, order, None for empty keys).
	BySource   []SourceRow   `json:"by_source"`
	ByCampaign []CampaignRow `json:"by_campaign"`
	BySegment  []SegmentRow  `json:"by_segment"`
	// RejectionReasons are the period's rejections by reason (store).
	RejectionReasons []ReasonRow `json:"rejection_reasons"`

	Content Content `json:"content"`

	// Previous are the same figures for [Period.Previous] under the same
	// filter; nil in the previous figures themselves.
	Previous *Figures `json:"previous,omitempty"`
}

// SpeedToLead is the time from handoff to first touch (DESIGN.md §5).
type SpeedToLead struct {
	// MedianMinutes and P90Minutes are quantiles of [Minutes](first touch −
	// handoff) over touched handoffs (store, or [NewSpeedToLead]).
	MedianMinutes *float64 `json:"median_minutes"`
	P90Minutes    *float64 `json:"p90_minutes"`
	// Within1hShare is Within1h ÷ Touched (derived).
	Within1hShare *float64 `json:"within_1h_share"`
	// Touched handoffs, those touched [Within60], and those not touched
	// (before the lead's next handoff) at all (store).
	Touched   int64 `json:"touched"`
	Within1h  int64 `json:"within_1h"`
	Untouched int64 `json:"untouched"`
}

// NewSpeedToLead computes speed to lead from the minutes to first touch of
// each touched handoff, for callers that fetch the durations rather than
// aggregate in SQL.
func NewSpeedToLead(minutes []float64, untouched int64) SpeedToLead {
	s := SpeedToLead{MedianMinutes: Median(minutes), P90Minutes: P90(minutes), Touched: int64(len(minutes)), Untouched: untouched}
	for _, m := range minutes {
		// Compared as a duration so 60.0 minutes is in, as Within60 says.
		if m <= Minutes(OneHour) {
			s.Within1h++
		}
	}
	s.Within1hShare = Rate(s.Within1h, s.Touched)
	return s
}

// SLACompliance is met ÷ (met + breached) per side and per kind, over
// timers met in the period (stop time) or breached in it (due time);
// cancelled timers and excused breaches are left out (DESIGN.md §5).
type SLACompliance struct {
	Sales     *float64                  `json:"sales"`     // derived
	Marketing *float64                  `json:"marketing"` // derived
	ByKind    map[string]KindCompliance `json:"by_kind"`   // store: counts by clause kind
}

// KindCompliance is one clause kind's timers: counts from the store, the
// rate derived.
type KindCompliance struct {
	Met      int64    `json:"met"`
	Breached int64    `json:"breached"`
	Rate     *float64 `json:"rate"`
}

// Funnel counts the period's handoffs by how far they got later (DESIGN.md
// §5): reaching a stage includes skipping past it, so each step is at most
// the one before. JSON writes it as [{"stage", "count"}] in stage order.
type Funnel struct {
	MQL, Accepted, SQL, Opportunity, Won int64
}

// FunnelStep is one bar of the funnel.
type FunnelStep struct {
	Stage string `json:"stage"`
	Count int64  `json:"count"`
}

// Steps lists the funnel in order: mql, accepted, sql, opportunity, won.
func (f Funnel) Steps() []FunnelStep {
	return []FunnelStep{{"mql", f.MQL}, {"accepted", f.Accepted}, {"sql", f.SQL}, {"opportunity", f.Opportunity}, {"won", f.Won}}
}

// MarshalJSON writes the funnel as API.md's array of steps.
func (f Funnel) MarshalJSON() ([]byte, error) { return json.Marshal(f.Steps()) }

// UnmarshalJSON reads the array of steps back.
func (f *Funnel) UnmarshalJSON(b []byte) error {
	var steps []FunnelStep
	if err := json.Unmarshal(b, &steps); err != nil {
		return err
	}
	for _, s := range steps {
		switch s.Stage {
		case "mql":
			f.MQL = s.Count
		case "accepted":
			f.Accepted = s.Count
		case "sql":
			f.SQL = s.Count
		case "opportunity":
			f.Opportunity = s.Count
		case "won":
			f.Won = s.Count
		default:
			return fmt.Errorf("funnel: unknown stage %q", s.Stage)
		}
	}
	return nil
}

// Slice is the figures of one breakdown row (DESIGN.md §5): cohort counts
// of the period's handoffs in the row, flow amounts of the period's
// transitions in the row.
type Slice struct {
	Handoffs              int64    `json:"handoffs"`
	Accepted              int64    `json:"accepted"`
	Rejected              int64    `json:"rejected"`
	Undecided             int64    `json:"undecided"`
	Opportunities         int64    `json:"opportunities"` // handoffs that reached opportunity later
	PipelineCreated       Amount   `json:"pipeline_created"`
	RevenueWon            Amount   `json:"revenue_won"`
	LeadAcceptanceRate    *float64 `json:"lead_acceptance_rate"`     // derived
	LeadToOpportunityRate *float64 `json:"lead_to_opportunity_rate"` // derived
}

// SourceRow is the figures of one source.
type SourceRow struct {
	Source string `json:"source"`
	Slice
}

// CampaignRow is the figures of one campaign.
type CampaignRow struct {
	Campaign string `json:"campaign"`
	Slice
}

// SegmentRow is the figures of one segment.
type SegmentRow struct {
	Segment string `json:"segment"`
	Slice
}

// ReasonRow is one rejection reason: the period's rejections with it, by
// the lead's source and campaign.
type ReasonRow struct {
	Reason     string           `json:"reason"`
	Count      int64            `json:"count"`
	BySource   map[string]int64 `json:"by_source"`
	ByCampaign map[string]int64 `json:"by_campaign"`
}

// Content is content usage (DESIGN.md §5).
type Content struct {
	ActiveAssets   int64    `json:"active_assets"`    // store: assets not archived
	UsedAssets     int64    `json:"used_assets"`      // store: of those, used at least once in the period
	UsageShare     *float64 `json:"usage_share"`      // derived: UsedAssets ÷ ActiveAssets
	WonWithContent int64    `json:"won_with_content"` // store: the period's wins with a usage before winning
}

// Derive computes every derived field of f (and of f.Previous) from the
// counts and amounts the store filled, names empty breakdown keys [None],
// and orders the breakdowns (most handoffs first, then by name; reasons by
// count) so that every rendering lists them alike. It is idempotent.
func (f *Figures) Derive() {
	f.LeadAcceptanceRate = Rate(f.Accepted, f.Accepted+f.Rejected)
	f.Funnel.MQL = f.Handoffs // "mql is the number of handoffs"
	f.LeadToOpportunityRate = Rate(f.Funnel.Opportunity, f.Handoffs)
	f.WinRate = Rate(f.Wins, f.Wins+f.Losses)
	f.SpeedToLead.Within1hShare = Rate(f.SpeedToLead.Within1h, f.SpeedToLead.Touched)

	var sales, marketing KindCompliance
	for k, c := range f.SLACompliance.ByKind {
		c.Rate = Rate(c.Met, c.Met+c.Breached)
		f.SLACompliance.ByKind[k] = c
		// A kind's side is sla's rule (respond, first_touch, attempts:
		// sales; recycle: marketing), asked of sla rather than restated.
		side := &marketing
		if sla.Kind(k).Side() == sla.KindRespond.Side() {
			side = &sales
		}
		side.Met += c.Met
		side.Breached += c.Breached
	}
	f.SLACompliance.Sales = Rate(sales.Met, sales.Met+sales.Breached)
	f.SLACompliance.Marketing = Rate(marketing.Met, marketing.Met+marketing.Breached)

	f.AverageWonAmount = nil
	var avgWon *float64
	if f.Wins > 0 {
		a := float64(f.RevenueWon) / float64(f.Wins)
		avgWon = &a
		r := roundCents(a)
		f.AverageWonAmount = &r
	}
	f.PipelineCoverage = nil
	if f.RevenueTarget != nil {
		f.PipelineCoverage = PipelineCoverage(f.OpenPipeline, *f.RevenueTarget, f.RevenueWon)
	}
	f.PipelineVelocity = nil
	if v := PipelineVelocity(int(f.OpenOpportunities), f.WinRate, avgWon, f.MedianDaysToClose); v != nil {
		r := roundCents(*v)
		f.PipelineVelocity = &r
	}

	deriveRows(f.BySource, func(r *SourceRow) (*string, *Slice) { return &r.Source, &r.Slice })
	deriveRows(f.ByCampaign, func(r *CampaignRow) (*string, *Slice) { return &r.Campaign, &r.Slice })
	deriveRows(f.BySegment, func(r *SegmentRow) (*string, *Slice) { return &r.Segment, &r.Slice })
	for i := range f.RejectionReasons {
		r := &f.RejectionReasons[i]
		r.BySource = noneKeys(r.BySource)
		r.ByCampaign = noneKeys(r.ByCampaign)
	}
	slices.SortStableFunc(f.RejectionReasons, func(a, b ReasonRow) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Reason, b.Reason))
	})

	f.Content.UsageShare = Rate(f.Content.UsedAssets, f.Content.ActiveAssets)

	if f.Previous != nil {
		f.Previous.Previous = nil // one level: "previous" of the previous is never shown
		if f.Previous.Period.From.IsZero() {
			// The previous period is a definition, not a choice.
			f.Previous.Period = f.Period.Previous()
		}
		f.Previous.Derive()
	}
}

// deriveRows fills the rates of breakdown rows, names empty keys None and
// sorts them.
func deriveRows[R any](rows []R, parts func(*R) (*string, *Slice)) {
	for i := range rows {
		key, s := parts(&rows[i])
		if *key == "" {
			*key = None
		}
		s.LeadAcceptanceRate = Rate(s.Accepted, s.Accepted+s.Rejected)
		s.LeadToOpportunityRate = Rate(s.Opportunities, s.Handoffs)
	}
	slices.SortStableFunc(rows, func(a, b R) int {
		ka, sa := parts(&a)
		kb, sb := parts(&b)
		return cmp.Or(cmp.Compare(sb.Handoffs, sa.Handoffs), cmp.Compare(*ka, *kb))
	})
}

// noneKeys renames the empty key to None, adding to a None already there.
func noneKeys(m map[string]int64) map[string]int64 {
	if n, ok := m[""]; ok {
		delete(m, "")
		m[None] += n
	}
	return m
}

// Check reports counts that contradict each other — a store bug, since
// the definitions make them impossible. Store tests call it on every result.
func (f Figures) Check() error {
	var errs []error
	bad := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	bad(f.Accepted+f.Rejected+f.Undecided == f.Handoffs, "accepted %d + rejected %d + undecided %d != handoffs %d", f.Accepted, f.Rejected, f.Undecided, f.Handoffs)
	steps := f.Funnel.Steps()
	bad(steps[0].Count == f.Handoffs, "funnel mql %d != handoffs %d", steps[0].Count, f.Handoffs)
	for i := 1; i < len(steps); i++ {
		bad(steps[i].Count <= steps[i-1].Count, "funnel %s %d > %s %d", steps[i].Stage, steps[i].Count, steps[i-1].Stage, steps[i-1].Count)
	}
	s := f.SpeedToLead
	bad(s.Within1h <= s.Touched, "within 1h %d > touched %d", s.Within1h, s.Touched)
	bad(s.Touched+s.Untouched <= f.Handoffs, "touched %d + untouched %d > handoffs %d", s.Touched, s.Untouched, f.Handoffs)
	bad(f.Content.UsedAssets <= f.Content.ActiveAssets, "used assets %d > active assets %d", f.Content.UsedAssets, f.Content.ActiveAssets)
	bad(f.Content.WonWithContent <= f.Wins, "won with content %d > wins %d", f.Content.WonWithContent, f.Wins)
	var bySource int64
	for _, r := range f.BySource {
		bySource += r.Handoffs
	}
	bad(len(f.BySource) == 0 || bySource == f.Handoffs, "by_source handoffs %d != handoffs %d", bySource, f.Handoffs)
	if f.Previous != nil {
		if err := f.Previous.Check(); err != nil {
			errs = append(errs, fmt.Errorf("previous: %w", err))
		}
	}
	return errors.Join(errs...)
}

// MarshalJSON writes API.md's metrics object: from and to first, as
// YYYY-MM-DD in the tenant's zone; empty lists and maps as [] and {}, never
// null, so clients can iterate without a check.
func (f Figures) MarshalJSON() ([]byte, error) {
	type plain Figures // no methods: stops the recursion
	if f.BySource == nil {
		f.BySource = []SourceRow{}
	}
	if f.ByCampaign == nil {
		f.ByCampaign = []CampaignRow{}
	}
	if f.BySegment == nil {
		f.BySegment = []SegmentRow{}
	}
	if f.RejectionReasons == nil {
		f.RejectionReasons = []ReasonRow{}
	}
	if f.SLACompliance.ByKind == nil {
		f.SLACompliance.ByKind = map[string]KindCompliance{}
	}
	reasons := slices.Clone(f.RejectionReasons)
	for i := range reasons {
		if reasons[i].BySource == nil {
			reasons[i].BySource = map[string]int64{}
		}
		if reasons[i].ByCampaign == nil {
			reasons[i].ByCampaign = map[string]int64{}
		}
	}
	f.RejectionReasons = reasons
	from, to := f.Period.Dates()
	return json.Marshal(struct {
		From string `json:"from"`
		To   string `json:"to"`
		plain
	}{from, to, plain(f)})
}

// PipelineCoverage is open pipeline ÷ (revenue target − revenue won), the
// multiple of the revenue still to win that the open pipeline covers. Nil
// when nothing is left to win (target − won ≤ 0): the target is reached, and
// a coverage of infinity or a negative one would mislead; the page says
// "target reached" instead. (Without a target at all there is no call:
// Figures leaves coverage nil.)
func PipelineCoverage(openAmount, target, won Amount) *float64 {
	left := target - won
	if left <= 0 {
		return nil
	}
	c := float64(openAmount) / float64(left)
	return &c
}

// RevenueTarget is the revenue target of p: the sum of the monthly targets
// (cents, keyed "YYYY-MM") of the months p covers, each prorated by the
// share of its days inside p (DESIGN.md §5), rounded to the cent once at
// the end, computed exactly. ok is false unless every month p touches has
// a target: a partial sum would understate the target and overstate the
// coverage (an explicit 0 counts as a target).
func RevenueTarget(monthly map[string]int64, p Period) (int64, bool) {
	if p.Days() <= 0 {
		return 0, false
	}
	loc := p.From.Location()
	sum := new(big.Rat)
	y, m, _ := p.From.Date()
	for start := time.Date(y, m, 1, 0, 0, 0, 0, loc); start.Before(p.To); start = start.AddDate(0, 1, 0) {
		target, ok := monthly[start.Format("2006-01")]
		if !ok {
			return 0, false
		}
		end := start.AddDate(0, 1, 0)
		month := Period{From: start, To: end}
		in := Period{From: latest(start, p.From), To: earliest(end, p.To)}
		sum.Add(sum, new(big.Rat).SetFrac64(target*int64(in.Days()), int64(month.Days())))
	}
	return roundRat(sum), true
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// PipelineVelocity is open opportunities × win rate × average won amount ÷
// median days to close (DESIGN.md §5): the revenue the open pipeline is
// expected to bring per day, in the unit of avgWon per day. Nil when any
// part is unknown, or when the median days to close is 0 (every win closed
// the instant it was handed off: the quotient has no meaning).
func PipelineVelocity(openOpps int, winRate *float64, avgWon *float64, medianDaysToClose *float64) *float64 {
	if winRate == nil || avgWon == nil || medianDaysToClose == nil || *medianDaysToClose <= 0 {
		return nil
	}
	v := float64(openOpps) * *winRate * *avgWon / *medianDaysToClose
	return &v
}
