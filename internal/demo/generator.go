// Package demo generates believable lead histories, for the demo tenant and
// for synthetic load: leads from several sources and campaigns, handed off
// to sales reps by round-robin, accepted or rejected, worked, won, lost and
// recycled, with the touches, web signals, notes and snoozes around them.
//
// It is pure and deterministic: the same Config gives the same leads, id
// for id, and lead i is built without looking at any other lead, so
// generation streams and parallelises. Every history follows the funnel of
// internal/lead (DESIGN.md §3): seq 1 is the creation, then only allowed
// moves, strictly increasing in time and all before Config.Now.
package demo

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
)

// Campaign is a marketing campaign leads come from, with how its leads
// tend to fare.
type Campaign struct {
	Source string
	Name   string // "" for leads that came without a campaign
	// Weight is the campaign's share of all leads, relative to the others.
	Weight float64
	// From and To bound when the campaign runs, as fractions of the
	// generated period (0 = its first day, 1 = now).
	From, To float64
	// Quality scales the chance that sales accepts a lead (1 = typical).
	Quality float64
	// ICP is the chance that a lead fits the ideal customer profile.
	ICP float64
	// Rejected marks the campaign whose leads sales keeps rejecting.
	Rejected bool
}

// RejectedCampaign is the campaign whose leads sales keeps rejecting
// (about 70 % rejected, as not_icp or bad_data).
const RejectedCampaign = "q4-comparison-guide"

// Campaigns are the sources and campaigns leads come from.
var Campaigns = []Campaign{
	{Source: "paid_search", Name: "brand-search", Weight: 10, From: 0, To: 1, Quality: 1.0, ICP: 0.50},
	{Source: "paid_search", Name: "competitor-keywords", Weight: 8, From: 0, To: 1, Quality: 0.92, ICP: 0.45},
	{Source: "organic", Name: "", Weight: 12, From: 0, To: 1, Quality: 1.05, ICP: 0.50},
	{Source: "organic", Name: "seo-sla-guide", Weight: 5, From: 0, To: 1, Quality: 1.0, ICP: 0.45},
	{Source: "webinar", Name: "webinar-revops-101", Weight: 8, From: 0.10, To: 0.40, Quality: 1.05, ICP: 0.55},
	{Source: "webinar", Name: "webinar-sla-masterclass", Weight: 7, From: 0.55, To: 0.85, Quality: 1.10, ICP: 0.60},
	{Source: "events", Name: "revops-summit-berlin", Weight: 5, From: 0.40, To: 0.47, Quality: 1.10, ICP: 0.60},
	{Source: "events", Name: "saas-connect-london", Weight: 4, From: 0.78, To: 0.84, Quality: 1.05, ICP: 0.55},
	{Source: "partner", Name: "partner-referrals", Weight: 6, From: 0, To: 1, Quality: 1.25, ICP: 0.70},
	{Source: "outbound", Name: "outbound-dach-enterprise", Weight: 7, From: 0, To: 1, Quality: 1.0, ICP: 0.65},
	{Source: "content_syndication", Name: "spring-ebook", Weight: 7, From: 0, To: 0.5, Quality: 0.88, ICP: 0.35},
	{Source: "content_syndication", Name: RejectedCampaign, Weight: 12, From: 0.30, To: 1, Quality: 0.4, ICP: 0.15, Rejected: true},
}

// Rep is a sales rep who can own leads.
type Rep struct {
	ID       uuid.UUID
	Name     string
	TeamID   uuid.UUID
	TeamName string
	// Why is the routing explanation recorded with each assignment; empty
	// means the default team's: "no routing rule matched: default team →
	// <team>; round-robin".
	Why string
	// Slow marks the rep who accepts and touches leads much later than the
	// others.
	Slow bool
}

// Config says what to generate.
type Config struct {
	// Seed makes the generation repeatable; other seeds give other histories.
	Seed uint64
	// Now ends the period: every event is before it.
	Now time.Time
	// Days is the length of the period, ending at Now.
	Days int
	// Leads is how many leads to generate.
	Leads int
	// Offset is the number of leads the tenant already has: names, emails
	// and external ids continue after them, so they stay unique.
	Offset int
	// Location is the tenant's time zone, for working hours (default UTC).
	Location *time.Location
	// Segments are the tenant's segments, smallest customers first; none
	// leaves leads without a segment.
	Segments []string
	// Reasons are the tenant's reason codes (rejections, disqualifications,
	// losses). At least one is needed.
	Reasons []string
	// Reps own the leads handed off, in round-robin. At least one is needed.
	Reps []Rep
	// Marketer hands leads off and recycles them.
	Marketer auth.Actor
	// Qualification is the tenant's qualification rule: a new lead it holds
	// for is handed off by the rule at that moment, and no lead left in new
	// satisfies it.
	Qualification lead.Qualification
	// Website is the tenant's site, the prefix of page-view URLs (default
	// https://www.example.com).
	Website string
}

// Lead is one generated lead with its whole history. Absent ids are
// uuid.Nil, absent amounts 0 and absent times zero.
type Lead struct {
	ID         uuid.UUID
	ExternalID string
	Email      string
	FirstName  string
	LastName   string
	Company    string
	Title      string
	Phone      string
	Country    string
	Segment    string // "" for none
	Source     string
	Campaign   string
	Score      int
	ICPFit     bool
	CreatedAt  time.Time

	// The lead as its history leaves it.
	Stage          lead.Stage
	StageChangedAt time.Time
	OwnerID        uuid.UUID
	TeamID         uuid.UUID
	Amount         int64 // cents
	SnoozedUntil   time.Time
	UpdatedAt      time.Time
	Version        int

	Transitions []Transition
	Activities  []Activity
	Assignments []Assignment
	Pauses      []Pause
}

// Transition is a stage change; From is "" for the creation (seq 1).
type Transition struct {
	Seq     int
	From    lead.Stage
	To      lead.Stage
	At      time.Time
	Actor   auth.Actor
	Reason  string
	Note    string
	Amount  int64     // cents, on moves to opportunity or won; 0 for none
	OwnerID uuid.UUID // the lead's owner after the move
	TeamID  uuid.UUID
}

// Activity is a touch or signal.
type Activity struct {
	Kind  lead.ActivityKind
	At    time.Time
	Actor auth.Actor
	Note  string
	URL   string
}

// Assignment records who got the lead at a handoff, and why.
type Assignment struct {
	At              time.Time
	OwnerID         uuid.UUID
	TeamID          uuid.UUID
	PreviousOwnerID uuid.UUID
	Why             string
	Actor           auth.Actor
}

// Pause is a snooze: the owner paused the lead until a time.
type Pause struct {
	At     time.Time
	Until  time.Time
	Reason string
	Actor  auth.Actor
}

// The system actors of generated histories.
var (
	syncActor    = auth.Actor{Type: auth.ActorSystem, Name: "HubSpot sync"}
	routingActor = auth.Actor{Type: auth.ActorSystem, Name: "Routing"}
	ruleActor    = auth.Actor{Type: auth.ActorSystem, Name: "Qualification rule"}
	webActor     = auth.Actor{Type: auth.ActorSystem, Name: "Website tracking"}
)

// Generator builds the leads of one Config. It is safe for concurrent use.
type Generator struct {
	cfg      Config
	now      int64 // unix seconds
	start    int64
	cal      calendar
	cum      []float64 // cumulative lead weight per hour of the period
	website  string
	whys     []string
	reasons  map[reasonUse][]weighted
	capacity uint64 // distinct (first name, last name, company) triples
	stride   uint64 // coprime with capacity: scatters consecutive leads
}

// New checks cfg and prepares a generator.
func New(cfg Config) (*Generator, error) {
	var errs []string
	if cfg.Now.IsZero() {
		errs = append(errs, "now is required")
	}
	if cfg.Days < 1 {
		errs = append(errs, "days must be at least 1")
	}
	if cfg.Leads < 0 || cfg.Offset < 0 {
		errs = append(errs, "leads and offset must not be negative")
	}
	if len(cfg.Reps) == 0 {
		errs = append(errs, "at least one sales rep is needed to own leads")
	}
	if len(cfg.Reasons) == 0 {
		errs = append(errs, "at least one reason code is needed")
	}
	if len(errs) > 0 {
		return nil, errors.New("demo config: " + strings.Join(errs, "; "))
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	g := &Generator{cfg: cfg, now: cfg.Now.Unix()}
	g.start = g.now - int64(cfg.Days)*86400
	g.cal = newCalendar(cfg.Location, g.start-2*86400, g.now+2*86400)
	g.website = strings.TrimRight(cfg.Website, "/")
	if g.website == "" {
		g.website = "https://www.example.com"
	}
	g.whys = make([]string, len(cfg.Reps))
	for i, r := range cfg.Reps {
		g.whys[i] = r.Why
		if r.Why == "" {
			g.whys[i] = "no routing rule matched: default team → " + r.TeamName + "; round-robin"
		}
	}
	g.reasons = map[reasonUse][]weighted{}
	for use, prefs := range reasonPrefs {
		g.reasons[use] = available(prefs, cfg.Reasons)
	}
	g.capacity = uint64(len(firstNames)) * uint64(len(lastNames)) * uint64(len(companyPrefixes)) * uint64(len(companySuffixes))
	g.stride = 2654435761 % g.capacity
	for gcd(g.stride, g.capacity) != 1 {
		g.stride++
	}
	g.cum = g.hourWeights()
	return g, nil
}

// Len is the number of leads the generator makes.
func (g *Generator) Len() int { return g.cfg.Leads }

// hourWeights spreads leads over the period: more on weekdays and in
// working hours, and a little more each week (marketing grows).
func (g *Generator) hourWeights() []float64 {
	hours := g.cfg.Days * 24
	cum := make([]float64, hours+1)
	hourFactor := [24]float64{0.08, 0.06, 0.05, 0.05, 0.06, 0.1, 0.18, 0.35, 0.7, 1, 1, 1, 0.8, 1, 1, 1, 0.95, 0.7, 0.45, 0.4, 0.35, 0.3, 0.2, 0.12}
	for b := 0; b < hours; b++ {
		t := time.Unix(g.start+int64(b)*3600+1800, 0).In(g.cfg.Location)
		w := hourFactor[t.Hour()]
		switch t.Weekday() {
		case time.Saturday:
			w *= 0.3
		case time.Sunday:
			w *= 0.25
		}
		w *= 0.8 + 0.4*float64(b)/float64(hours)
		cum[b+1] = cum[b] + w
	}
	return cum
}

// createdAt places lead i: the leads' creation times rise with i.
func (g *Generator) createdAt(i int, u float64) int64 {
	target := (float64(i) + u) / float64(g.cfg.Leads) * g.cum[len(g.cum)-1]
	b := sort.SearchFloat64s(g.cum, target) - 1
	if b < 0 {
		b = 0
	}
	if b >= len(g.cum)-1 {
		b = len(g.cum) - 2
	}
	frac := (target - g.cum[b]) / (g.cum[b+1] - g.cum[b])
	t := g.start + int64(b)*3600 + int64(frac*3600)
	if t >= g.now {
		t = g.now - 1
	}
	return t
}

// Lead builds lead i (0 ≤ i < Len) into l, reusing l's slices.
func (g *Generator) Lead(i int, l *Lead) {
	index := uint64(g.cfg.Offset) + uint64(i)
	r := rand.New(rand.NewPCG(g.cfg.Seed, index^0x9e3779b97f4a7c15))
	*l = Lead{
		Transitions: l.Transitions[:0],
		Activities:  l.Activities[:0],
		Assignments: l.Assignments[:0],
		Pauses:      l.Pauses[:0],
	}
	b := builder{g: g, r: r, l: l, index: index, owner: -1}
	b.build(g.createdAt(i, r.Float64()))
}

// builder generates one lead's history.
type builder struct {
	g       *Generator
	r       *rand.Rand
	l       *Lead
	index   uint64
	camp    *Campaign
	class   int // 0 small, 1 mid-sized, 2 large company
	stage   lead.Stage
	last    int64 // time of the latest transition
	owner   int   // index into Reps, -1 for none
	handoff int   // handoffs so far
	amount  int64
	snoozed int64
}

func (b *builder) build(created int64) {
	g, r, l := b.g, b.r, b.l
	b.identity()
	b.camp = g.pickCampaign(r, created)
	l.Source, l.Campaign = b.camp.Source, b.camp.Name
	icp := b.camp.ICP + 0.1*float64(b.class-1)
	l.ICPFit = r.Float64() < icp
	mean := 42.0
	if l.ICPFit {
		mean = 63
	}
	if b.camp.Rejected {
		mean -= 8
	}
	l.Score = clampInt(int(math.Round(mean+17*r.NormFloat64())), 0, 100)
	l.CreatedAt = unix(created)
	l.ID = leadID(created, r)

	b.stage, b.last = "", created-1
	b.move(lead.StageNew, created, syncActor, "", "", 0)

	// Marketing's plan for the new lead: hand it off, disqualify it, or
	// keep it (low scores mostly stay).
	handoffAt, recycleAt := never, never
	actor, note := g.cfg.Marketer, ""
	p := 0.16 + 0.45*float64(l.Score)/100 + 0.12*b2f(l.ICPFit)
	if b.camp.Rejected {
		p = 0.85 // marketing counts them as MQLs; sales disagrees
	}
	switch x := r.Float64(); {
	case x < p:
		handoffAt = g.cal.add(created, lognormal(r, 3*3600, 1.2))
	case x < p+(1-p)*0.15:
		recycleAt = g.cal.add(created, lognormal(r, 6*3600, 1))
	}
	views := b.pageViews(created)
	if at, why, ok := b.qualifiesAt(created, views); ok && at < handoffAt && at < recycleAt {
		handoffAt, actor, note = at, ruleActor, why
	}
	b.addViews(views, min(handoffAt, g.now))

	switch {
	case handoffAt < recycleAt:
		b.handoffTo(handoffAt, actor, note)
	case recycleAt < never:
		b.move(lead.StageRecycled, recycleAt, g.cfg.Marketer, g.reason(r, reasonNewRecycle), "Disqualified before handoff", 0)
	}
	for step := 0; step < 14; step++ {
		var more bool
		switch b.stage {
		case lead.StageMQL:
			more = b.decide()
		case lead.StageAccepted:
			more = b.work()
		case lead.StageSQL:
			more = b.develop()
		case lead.StageOpportunity:
			more = b.close()
		case lead.StageRejected:
			more = b.afterReject()
		case lead.StageLost:
			more = b.afterLoss()
		case lead.StageRecycled:
			more = b.afterRecycle()
		}
		if !more {
			break
		}
	}
	b.finish()
}

// identity gives the lead a person and a company. Lead numbers map one to
// one onto (first name, last name, company), so emails are unique per
// tenant; past the list's capacity a number joins the local part.
func (b *builder) identity() {
	l, g := b.l, b.g
	round := b.index / g.capacity
	p := (b.index%g.capacity*g.stride + 7919) % g.capacity
	nf, nl := uint64(len(firstNames)), uint64(len(lastNames))
	first, last := firstNames[p%nf], lastNames[p/nf%nl]
	company := p / (nf * nl)
	c := companyOf(company)
	local := strings.ToLower(first) + "." + strings.ToLower(last)
	if round > 0 {
		local += strconv.FormatUint(round+1, 10)
	}
	l.FirstName, l.LastName = first, last
	l.Company, l.Country = c.name, c.country.code
	l.Email = local + "@" + c.domain
	l.ExternalID = "hs-" + strconv.FormatUint(100000+b.index, 10)
	l.Title = titles[b.r.IntN(len(titles))]
	l.Phone = c.country.phone + " " + strconv.Itoa(100+b.r.IntN(900)) + " " + strconv.Itoa(1000000+b.r.IntN(9000000))
	b.class = c.class
	if n := len(g.cfg.Segments); n > 0 {
		l.Segment = g.cfg.Segments[min(c.class*n/3, n-1)]
	}
}

// company is a generated company: name, domain, country and size class.
type company struct {
	name, domain string
	country      country
	class        int
}

func companyOf(n uint64) company {
	np := uint64(len(companyPrefixes))
	prefix, suffix := companyPrefixes[n%np], companySuffixes[n/np%uint64(len(companySuffixes))]
	h := splitmix(n)
	c := company{name: prefix + " " + suffix}
	var total float64
	for _, x := range countries {
		total += x.weight
	}
	pick := float64(h%10000) / 10000 * total
	for _, x := range countries {
		c.country = x
		if pick < x.weight {
			break
		}
		pick -= x.weight
	}
	switch size := (h >> 20) % 100; {
	case size < 55:
		c.class = 0
	case size < 85:
		c.class = 1
	default:
		c.class = 2
	}
	c.domain = strings.ToLower(strings.ReplaceAll(prefix, " ", "")+strings.ReplaceAll(suffix, " ", "")) + "." + c.country.tld
	return c
}

// pickCampaign chooses among the campaigns running at t.
func (g *Generator) pickCampaign(r *rand.Rand, t int64) *Campaign {
	f := float64(t-g.start) / float64(g.now-g.start)
	var total float64
	for i := range Campaigns {
		total += campaignWeight(&Campaigns[i], f)
	}
	x := r.Float64() * total
	for i := range Campaigns {
		w := campaignWeight(&Campaigns[i], f)
		if x < w {
			return &Campaigns[i]
		}
		x -= w
	}
	return &Campaigns[0]
}

func campaignWeight(c *Campaign, f float64) float64 {
	if f < c.From || f > c.To {
		return 0
	}
	return c.Weight / (c.To - c.From)
}

// view is a planned page view.
type view struct {
	at  int64
	url string
}

// pageViews plans the lead's visits to the website: a few pages after it
// signs up, and for some an intent burst on the pricing pages.
func (b *builder) pageViews(created int64) []view {
	r := b.r
	var vs []view
	n := []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 3}[r.IntN(10)]
	for k := 0; k < n; k++ {
		path := pageURLs[r.IntN(len(pageURLs))]
		if r.Float64() < 0.12 {
			path = pricingURLs[r.IntN(len(pricingURLs))]
		}
		vs = append(vs, view{at: created + 60 + int64(lognormal(r, 20*3600, 1.3)), url: b.g.website + path})
	}
	if r.Float64() < 0.08+0.1*b2f(b.l.ICPFit) {
		at := created + 300 + int64(lognormal(r, 10*3600, 1))
		for k := 3 + r.IntN(2); k > 0; k-- {
			vs = append(vs, view{at: at, url: b.g.website + pricingURLs[r.IntN(len(pricingURLs))]})
			at += 60 + int64(lognormal(r, 3*3600, 1))
		}
	}
	slices.SortFunc(vs, func(a, b view) int { return int(a.at - b.at) })
	return vs
}

// qualifiesAt finds when the tenant's qualification rule first holds for
// the new lead: at creation (its profile) or at a page view.
func (b *builder) qualifiesAt(created int64, vs []view) (int64, string, bool) {
	q := b.g.cfg.Qualification
	if !q.Active() {
		return 0, "", false
	}
	score := b.l.Score
	ll := lead.Lead{Score: &score, ICPFit: b.l.ICPFit}
	if ok, why := q.Qualifies(ll, nil); ok {
		return created + 1, why, true
	}
	if q.PageViews == nil {
		return 0, "", false
	}
	var matching []time.Time
	for _, v := range vs {
		if v.at >= b.g.now || !q.PageViews.MatchesURL(v.url) {
			continue
		}
		matching = append(matching, unix(v.at))
		if ok, why := q.Qualifies(ll, matching); ok {
			return v.at, why, true
		}
	}
	return 0, "", false
}

// addViews records the page views before the handoff (or now).
func (b *builder) addViews(vs []view, until int64) {
	for _, v := range vs {
		if v.at <= until && v.at < b.g.now {
			b.activity(lead.ActPageView, v.at, webActor, "", v.url)
		}
	}
}

// move records a transition at the time given (or just after the latest
// one) and reports false when that time is not in the past.
func (b *builder) move(to lead.Stage, at int64, actor auth.Actor, reason, note string, amount int64) bool {
	if at <= b.last {
		at = b.last + 1
	}
	if at >= b.g.now {
		return false
	}
	t := Transition{Seq: len(b.l.Transitions) + 1, From: b.stage, To: to, At: unix(at), Actor: actor,
		Reason: reason, Note: note, Amount: amount}
	if b.owner >= 0 {
		rep := b.g.cfg.Reps[b.owner]
		t.OwnerID, t.TeamID = rep.ID, rep.TeamID
	}
	b.l.Transitions = append(b.l.Transitions, t)
	if amount > 0 {
		b.amount = amount
	}
	if !to.Open() {
		b.snoozed = 0
	}
	b.stage, b.last = to, at
	return true
}

func (b *builder) activity(kind lead.ActivityKind, at int64, actor auth.Actor, note, url string) {
	if at >= b.g.now || at < b.l.CreatedAt.Unix() {
		return
	}
	b.l.Activities = append(b.l.Activities, Activity{Kind: kind, At: unix(at), Actor: actor, Note: note, URL: url})
}

func (b *builder) ownerActor() auth.Actor {
	rep := b.g.cfg.Reps[b.owner]
	return auth.Actor{Type: auth.ActorUser, ID: rep.ID, Name: rep.Name}
}

// handoffTo hands the lead to sales: the next rep in round-robin owns it.
func (b *builder) handoffTo(at int64, actor auth.Actor, note string) bool {
	reps := b.g.cfg.Reps
	prev := b.owner
	b.owner = int((b.index + uint64(2*b.handoff)) % uint64(len(reps)))
	if !b.move(lead.StageMQL, at, actor, "", note, 0) {
		b.owner = prev
		return false
	}
	a := Assignment{At: unix(b.last), OwnerID: reps[b.owner].ID, TeamID: reps[b.owner].TeamID, Why: b.g.whys[b.owner], Actor: routingActor}
	if prev >= 0 {
		a.PreviousOwnerID = reps[prev].ID
	}
	b.l.Assignments = append(b.l.Assignments, a)
	b.handoff++
	return true
}

// decide is the owner's answer to a handoff: accept or reject (the respond
// clause), with the first touch (the first_touch clause) around it.
func (b *builder) decide() bool {
	g, r := b.g, b.r
	rep := g.cfg.Reps[b.owner]
	respond, touch, untouched := lognormal(r, 50*60, 1), lognormal(r, 35*60, 1), 0.03
	if rep.Slow {
		respond, touch, untouched = lognormal(r, 14*3600, 0.6), lognormal(r, 9*3600, 0.7), 0.15
	}
	decideAt := g.cal.add(b.last, respond)
	firstTouch := g.cal.add(b.last, touch)
	pAccept := 0.6 + 0.18*b2f(b.l.ICPFit) + 0.2*float64(b.l.Score-50)/50
	pAccept = math.Min(math.Max(pAccept*b.camp.Quality, 0.12), 0.95)
	if b.camp.Rejected {
		pAccept = 0.28
	}
	accept := r.Float64() < pAccept
	if !accept && (firstTouch >= decideAt || r.Float64() < 0.5) {
		untouched = 1 // most rejections come without a touch
	}
	if r.Float64() >= untouched {
		b.touch(firstTouch, firstTouchKinds)
	}
	if accept {
		return b.move(lead.StageAccepted, decideAt, b.ownerActor(), "", "", 0)
	}
	use := reasonReject
	if b.camp.Rejected {
		use = reasonRejectBad
	}
	return b.move(lead.StageRejected, decideAt, b.ownerActor(), g.reason(r, use), rejectNote(r), 0)
}

func rejectNote(r *rand.Rand) string {
	if r.Float64() < 0.6 {
		return ""
	}
	return []string{"Student email, no company behind it", "Not a fit for our product", "Phone number does not work",
		"Already talking to us through a partner", "Too small for us"}[r.IntN(5)]
}

// work is the accepted lead: the rep works it to SQL or an opportunity,
// or disqualifies it.
func (b *builder) work() bool {
	r := b.r
	var next lead.Stage
	var after float64
	switch x := r.Float64(); {
	case x < 0.5:
		next, after = lead.StageSQL, lognormal(r, 2*8*3600, 0.6)
	case x < 0.65:
		next, after = lead.StageOpportunity, lognormal(r, 4*8*3600, 0.6)
	case x < 0.85:
		next, after = lead.StageRecycled, lognormal(r, 6*8*3600, 0.7)
	}
	at := never
	if next != "" {
		at = b.g.cal.add(b.last, after)
	}
	b.touches(b.last, at, 1+r.IntN(3), laterTouchKinds)
	b.maybeNote(b.last, at, 0.15)
	b.maybePause(b.last, at)
	switch next {
	case lead.StageOpportunity:
		return b.move(next, at, b.ownerActor(), "", "", b.newAmount())
	case lead.StageRecycled:
		return b.move(next, at, b.ownerActor(), b.g.reason(r, reasonDisqualify), "", 0)
	case lead.StageSQL:
		return b.move(next, at, b.ownerActor(), "", "", 0)
	}
	return false
}

// develop is the SQL: it becomes an opportunity or is disqualified.
func (b *builder) develop() bool {
	r := b.r
	var next lead.Stage
	var after float64
	switch x := r.Float64(); {
	case x < 0.6:
		next, after = lead.StageOpportunity, lognormal(r, 5*8*3600, 0.6)
	case x < 0.85:
		next, after = lead.StageRecycled, lognormal(r, 8*8*3600, 0.6)
	}
	at := never
	if next != "" {
		at = b.g.cal.add(b.last, after)
	}
	b.touches(b.last, at, 1+r.IntN(3), meetingTouchKinds)
	b.maybePause(b.last, at)
	switch next {
	case lead.StageOpportunity:
		return b.move(next, at, b.ownerActor(), "", "", b.newAmount())
	case lead.StageRecycled:
		return b.move(next, at, b.ownerActor(), b.g.reason(r, reasonDisqualify), "", 0)
	}
	return false
}

// close is the opportunity: won (sometimes at a negotiated amount) or lost.
func (b *builder) close() bool {
	r := b.r
	var next lead.Stage
	var after float64
	switch x := r.Float64(); {
	case x < 0.38:
		next, after = lead.StageWon, lognormal(r, 12*8*3600*(1+0.5*float64(b.class)), 0.5)
	case x < 0.78:
		next, after = lead.StageLost, lognormal(r, 10*8*3600, 0.6)
	}
	at := never
	if next != "" {
		at = b.g.cal.add(b.last, after)
	}
	b.touches(b.last, at, 1+r.IntN(4), meetingTouchKinds)
	b.maybeNote(b.last, at, 0.3)
	b.maybePause(b.last, at)
	switch next {
	case lead.StageWon:
		var amount int64
		if r.Float64() < 0.25 {
			amount = roundAmount(float64(b.amount) * (0.8 + 0.3*r.Float64()))
		}
		return b.move(next, at, b.ownerActor(), "", "", amount)
	case lead.StageLost:
		return b.move(next, at, b.ownerActor(), b.g.reason(r, reasonLoss), "", 0)
	}
	return false
}

// afterReject is marketing's answer to a rejection: recycle the lead (the
// recycle clause), hand it off again, or let it sit.
func (b *builder) afterReject() bool {
	r, g := b.r, b.g
	switch x := r.Float64(); {
	case x < 0.5:
		return b.move(lead.StageRecycled, g.cal.add(b.last, lognormal(r, 8*3600, 0.8)), g.cfg.Marketer, "", "", 0)
	case x < 0.58:
		return b.handoffTo(g.cal.add(b.last, lognormal(r, 5*8*3600, 0.5)), g.cfg.Marketer, "Handed off again with enriched data")
	}
	return false
}

func (b *builder) afterLoss() bool {
	r, g := b.r, b.g
	if r.Float64() < 0.35 {
		return b.move(lead.StageRecycled, g.cal.add(b.last, lognormal(r, 2*8*3600, 0.6)), g.cfg.Marketer, "", "", 0)
	}
	return false
}

// afterRecycle nurtures some recycled leads; a few come back as MQLs.
func (b *builder) afterRecycle() bool {
	r, g := b.r, b.g
	if r.Float64() < 0.5 {
		b.activity(lead.ActNurture, b.last+60+int64(lognormal(r, 2*3600, 1)), g.cfg.Marketer, nurtureNotes[r.IntN(len(nurtureNotes))], "")
	}
	if r.Float64() < 0.12 {
		return b.handoffTo(g.cal.add(b.last, lognormal(r, 20*8*3600, 0.4)), g.cfg.Marketer, "Re-engaged after nurture")
	}
	return false
}

var (
	firstTouchKinds   = []weightedKind{{lead.ActEmail, 45}, {lead.ActCall, 35}, {lead.ActLinkedIn, 20}}
	laterTouchKinds   = []weightedKind{{lead.ActCall, 35}, {lead.ActEmail, 40}, {lead.ActLinkedIn, 10}, {lead.ActMeeting, 15}}
	meetingTouchKinds = []weightedKind{{lead.ActCall, 25}, {lead.ActEmail, 30}, {lead.ActLinkedIn, 5}, {lead.ActMeeting, 40}}
)

type weightedKind struct {
	kind   lead.ActivityKind
	weight float64
}

// touch records one touch by the owner at t.
func (b *builder) touch(t int64, kinds []weightedKind) {
	r := b.r
	var total float64
	for _, k := range kinds {
		total += k.weight
	}
	x := r.Float64() * total
	kind := kinds[0].kind
	for _, k := range kinds {
		if x < k.weight {
			kind = k.kind
			break
		}
		x -= k.weight
	}
	note := ""
	if notes := touchNotes[string(kind)]; r.Float64() < 0.6 {
		note = notes[r.IntN(len(notes))]
	}
	b.activity(kind, t, b.ownerActor(), note, "")
}

// touches spreads n touches over (from, to) in working hours; to == never
// means the stage lasts: touches then fall in the following weeks.
func (b *builder) touches(from, to int64, n int, kinds []weightedKind) {
	end := min(to, b.g.now, from+21*86400)
	for k := 0; k < n; k++ {
		t := b.g.cal.add(from+int64(b.r.Float64()*float64(end-from)), 0)
		if t > from && t < end {
			b.touch(t, kinds)
		}
	}
}

func (b *builder) maybeNote(from, to int64, p float64) {
	if b.r.Float64() >= p {
		return
	}
	end := min(to, b.g.now, from+14*86400)
	t := b.g.cal.add(from+int64(b.r.Float64()*float64(end-from)), 0)
	if t > from && t < end {
		b.activity(lead.ActNote, t, b.ownerActor(), leadNotes[b.r.IntN(len(leadNotes))], "")
	}
}

// maybePause snoozes a few leads the rep is working.
func (b *builder) maybePause(from, to int64) {
	r := b.r
	if r.Float64() >= 0.05 {
		return
	}
	end := min(to, b.g.now, from+14*86400)
	at := b.g.cal.add(from+int64(r.Float64()*float64(end-from)), 0)
	if at <= from || at >= end {
		return
	}
	until := at + int64(3+r.IntN(8))*86400
	b.l.Pauses = append(b.l.Pauses, Pause{At: unix(at), Until: unix(until), Reason: pauseReasons[r.IntN(len(pauseReasons))], Actor: b.ownerActor()})
	b.snoozed = until
}

// newAmount is an opportunity's size by the company's size class.
func (b *builder) newAmount() int64 {
	median := []float64{9000, 35000, 120000}[b.class]
	return roundAmount(math.Max(1000, lognormal(b.r, median, 0.5)) * 100)
}

// roundAmount rounds cents to whole hundreds of the currency.
func roundAmount(cents float64) int64 {
	return int64(math.Max(1, math.Round(cents/10000))) * 10000
}

// finish sets the lead's current state from its history.
func (b *builder) finish() {
	l := b.l
	last := l.Transitions[len(l.Transitions)-1]
	l.Stage, l.StageChangedAt = last.To, last.At
	if b.owner >= 0 {
		rep := b.g.cfg.Reps[b.owner]
		l.OwnerID, l.TeamID = rep.ID, rep.TeamID
	}
	l.Amount = b.amount
	if b.snoozed != 0 {
		l.SnoozedUntil = unix(b.snoozed)
	}
	l.Version = len(l.Transitions) + len(l.Pauses)
	slices.SortStableFunc(l.Activities, func(x, y Activity) int { return x.At.Compare(y.At) })
	l.UpdatedAt = last.At
	if n := len(l.Activities); n > 0 && l.Activities[n-1].At.After(l.UpdatedAt) {
		l.UpdatedAt = l.Activities[n-1].At
	}
	for _, p := range l.Pauses {
		if p.At.After(l.UpdatedAt) {
			l.UpdatedAt = p.At
		}
	}
}

// reasonUse is what a reason code is picked for.
type reasonUse int

const (
	reasonReject reasonUse = iota
	reasonRejectBad
	reasonDisqualify
	reasonLoss
	reasonNewRecycle
)

type weighted struct {
	code   string
	weight float64
}

// reasonPrefs are the codes people pick for each use, when the tenant has
// them.
var reasonPrefs = map[reasonUse][]weighted{
	reasonReject:     {{"not_icp", 30}, {"no_authority", 20}, {"bad_timing", 15}, {"no_budget", 15}, {"duplicate", 10}, {"bad_data", 10}},
	reasonRejectBad:  {{"not_icp", 55}, {"bad_data", 35}, {"duplicate", 10}},
	reasonDisqualify: {{"no_budget", 30}, {"bad_timing", 25}, {"unresponsive", 30}, {"no_authority", 15}},
	reasonLoss:       {{"competitor", 40}, {"no_budget", 25}, {"bad_timing", 20}, {"unresponsive", 15}},
	reasonNewRecycle: {{"bad_data", 40}, {"duplicate", 30}, {"not_icp", 30}},
}

// available keeps the preferred codes the tenant has, or falls back to all
// of the tenant's codes.
func available(prefs []weighted, codes []string) []weighted {
	var out []weighted
	for _, p := range prefs {
		if slices.Contains(codes, p.code) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		for _, c := range codes {
			out = append(out, weighted{c, 1})
		}
	}
	return out
}

func (g *Generator) reason(r *rand.Rand, use reasonUse) string {
	ws := g.reasons[use]
	var total float64
	for _, w := range ws {
		total += w.weight
	}
	x := r.Float64() * total
	for _, w := range ws {
		if x < w.weight {
			return w.code
		}
		x -= w.weight
	}
	return ws[len(ws)-1].code
}

// leadID is a version 7 UUID for a lead created at t (seconds): ids rise
// with creation time, so bulk inserts append to the indexes.
func leadID(t int64, r *rand.Rand) uuid.UUID {
	var id uuid.UUID
	ms := uint64(t)*1000 + r.Uint64N(1000)
	for k := 0; k < 6; k++ {
		id[k] = byte(ms >> (40 - 8*k))
	}
	lo, hi := r.Uint64(), r.Uint64()
	for k := 6; k < 16; k++ {
		if k < 8 {
			id[k] = byte(hi >> (8 * k))
		} else {
			id[k] = byte(lo >> (8 * (k - 8)))
		}
	}
	id[6] = 0x70 | id[6]&0x0f
	id[8] = 0x80 | id[8]&0x3f
	return id
}

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }

// lognormal draws a positive value with the given median; sigma sets the
// spread (about two thirds fall within median·e^±sigma).
func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func clampInt(v, lo, hi int) int { return max(lo, min(v, hi)) }

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// splitmix is a fixed mixing function: stable attributes of numbered things.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
