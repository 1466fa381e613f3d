package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// DefaultSegments are the segments a new tenant starts with.
var DefaultSegments = []string{"smb", "mid", "enterprise"}

// DefaultReasons are the rejection, disqualification and loss reasons a new
// tenant starts with; admins add their own.
var DefaultReasons = []Reason{
	{Code: "no_budget", Label: "No budget"},
	{Code: "not_icp", Label: "Not our ideal customer"},
	{Code: "no_authority", Label: "Not a decision maker"},
	{Code: "bad_timing", Label: "Bad timing"},
	{Code: "duplicate", Label: "Duplicate"},
	{Code: "bad_data", Label: "Bad or fake contact data"},
	{Code: "competitor", Label: "Went with a competitor"},
	{Code: "unresponsive", Label: "Never responded"},
}

// Reference data limits: generous for real tenants, small enough that every
// list fits one page of the settings and one API answer.
const (
	maxSegments = 50
	maxTargets  = 1000
)

// Reason is a rejection, disqualification or loss reason code.
type Reason struct {
	Code  string
	Label string
}

var codeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,49}$`)

// ValidCode reports whether s may be a segment or reason code.
func ValidCode(s string) bool { return codeRE.MatchString(s) }

const codeHint = "must be 1–50 lower-case letters, digits, - or _, starting with a letter or digit"

// insertTenantDefaults gives a new tenant its segments, reasons and settings row.
func insertTenantDefaults(ctx context.Context, tx pgx.Tx, tid tenant.ID, now time.Time) error {
	for i, s := range DefaultSegments {
		if _, err := tx.Exec(ctx, `INSERT INTO segments (tenant_id, code, position) VALUES ($1, $2, $3)`, tid, s, i+1); err != nil {
			return fmt.Errorf("insert segment: %w", err)
		}
	}
	for _, r := range DefaultReasons {
		if _, err := tx.Exec(ctx, `INSERT INTO rejection_reasons (tenant_id, code, label, created_at) VALUES ($1, $2, $3, $4)`,
			tid, r.Code, r.Label, now); err != nil {
			return fmt.Errorf("insert reason: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tenant_settings (tenant_id) VALUES ($1)`, tid); err != nil {
		return fmt.Errorf("insert tenant settings: %w", err)
	}
	return nil
}

// lockSettings takes the tenant's settings row for update, so that edits of
// reference data (segments, routing, qualification, targets) run one after
// another: each validates against the state it then changes.
func lockSettings(ctx context.Context, tx pgx.Tx, tid tenant.ID) error {
	if _, err := tx.Exec(ctx, `INSERT INTO tenant_settings (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING`, tid); err != nil {
		return fmt.Errorf("ensure tenant settings: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM tenant_settings WHERE tenant_id = $1 FOR UPDATE`, tid); err != nil {
		return fmt.Errorf("lock tenant settings: %w", err)
	}
	return nil
}

// FindSegments returns the tenant's segments in order.
func (s *Store) FindSegments(ctx context.Context, tid tenant.ID) ([]string, error) {
	var out []string
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		out, err = findSegments(ctx, tx, tid)
		return err
	})
	return out, err
}

func findSegments(ctx context.Context, tx pgx.Tx, tid tenant.ID) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT code FROM segments WHERE tenant_id = $1 ORDER BY position, code`, tid)
	if err != nil {
		return nil, fmt.Errorf("query segments: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("scan segments: %w", err)
	}
	return out, nil
}

// FindSegmentUsage returns how many leads of tenant tid carry each segment;
// segments no lead uses are left out.
func (s *Store) FindSegmentUsage(ctx context.Context, tid tenant.ID) (map[string]int, error) {
	out := map[string]int{}
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT segment, count(*) FROM leads WHERE tenant_id = $1 AND segment IS NOT NULL GROUP BY segment`, tid)
		if err != nil {
			return fmt.Errorf("query segment usage: %w", err)
		}
		var seg string
		var n int
		_, err = pgx.ForEachRow(rows, []any{&seg, &n}, func() error {
			out[seg] = n
			return nil
		})
		if err != nil {
			return fmt.Errorf("scan segment usage: %w", err)
		}
		return nil
	})
	return out, err
}

// ReplaceSegments sets the tenant's ordered segment list and returns it as
// stored (trimmed, lower-case). A segment that leads, routing rules or
// targets still use cannot be removed: the error names it and its users.
func (s *Store) ReplaceSegments(ctx context.Context, tid tenant.ID, actor auth.Actor, segments []string, now time.Time) ([]string, error) {
	var errs validator.Errors
	seen := map[string]bool{}
	clean := make([]string, 0, len(segments))
	for i, raw := range segments {
		code := strings.ToLower(strings.TrimSpace(raw))
		field := fmt.Sprintf("segments.%d", i)
		errs.Check(code != "", field, "must not be blank")
		errs.Check(ValidCode(code), field, codeHint+", such as enterprise")
		errs.Check(!seen[code], field, code+" is listed twice")
		seen[code] = true
		clean = append(clean, code)
	}
	errs.Check(len(clean) <= maxSegments, "segments", fmt.Sprintf("at most %d segments", maxSegments))
	if errs != nil {
		return nil, errs
	}
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if err := lockSettings(ctx, tx, tid); err != nil {
			return err
		}
		before, err := findSegments(ctx, tx, tid)
		if err != nil {
			return err
		}
		var removed []string
		for _, old := range before {
			if !seen[old] {
				removed = append(removed, old)
			}
		}
		var problems []string
		for _, old := range removed {
			msg, err := segmentInUse(ctx, tx, tid, old)
			if err != nil {
				return err
			}
			if msg != "" {
				problems = append(problems, msg)
			}
		}
		if len(problems) > 0 {
			return validator.Errors{"segments": strings.Join(problems, "; ")}
		}
		if len(removed) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM segments WHERE tenant_id = $1 AND code = ANY($2)`, tid, removed); err != nil {
				return fmt.Errorf("delete segments: %w", err)
			}
		}
		for i, code := range clean {
			if _, err := tx.Exec(ctx, `
				INSERT INTO segments (tenant_id, code, position) VALUES ($1, $2, $3)
				ON CONFLICT (tenant_id, code) DO UPDATE SET position = excluded.position`, tid, code, i+1); err != nil {
				return fmt.Errorf("upsert segment: %w", err)
			}
		}
		return insertAudit(ctx, tx, tid, actor, now, "segments.replaced", "segments", tid.String(), before, clean)
	})
	if err != nil {
		return nil, err
	}
	return clean, nil
}

// segmentInUse explains why segment code cannot be removed, or returns "".
func segmentInUse(ctx context.Context, tx pgx.Tx, tid tenant.ID, code string) (string, error) {
	var leads, rules, targets, assets, requests int
	err := tx.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM leads WHERE tenant_id = $1 AND segment = $2),
		       (SELECT count(*) FROM routing_rules WHERE tenant_id = $1 AND segment = $2),
		       (SELECT count(*) FROM targets WHERE tenant_id = $1 AND segment = $2),
		       (SELECT count(*) FROM content_assets WHERE tenant_id = $1 AND segment = $2),
		       (SELECT count(*) FROM content_requests WHERE tenant_id = $1 AND segment = $2)`, tid, code).Scan(&leads, &rules, &targets, &assets, &requests)
	if err != nil {
		return "", fmt.Errorf("count uses of segment: %w", err)
	}
	var uses []string
	if leads > 0 {
		uses = append(uses, plural(leads, "lead", "leads"))
	}
	if rules > 0 {
		uses = append(uses, plural(rules, "routing rule", "routing rules"))
	}
	if targets > 0 {
		uses = append(uses, plural(targets, "target", "targets"))
	}
	if assets > 0 {
		uses = append(uses, plural(assets, "content asset", "content assets"))
	}
	if requests > 0 {
		uses = append(uses, plural(requests, "content request", "content requests"))
	}
	if len(uses) == 0 {
		return "", nil
	}
	return code + " is used by " + strings.Join(uses, " and ") + " and cannot be removed", nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// FindReasons returns the tenant's reason codes by code.
func (s *Store) FindReasons(ctx context.Context, tid tenant.ID) ([]Reason, error) {
	var out []Reason
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		out, err = findReasons(ctx, tx, tid)
		return err
	})
	return out, err
}

func findReasons(ctx context.Context, tx pgx.Tx, tid tenant.ID) ([]Reason, error) {
	rows, err := tx.Query(ctx, `SELECT code, label FROM rejection_reasons WHERE tenant_id = $1 ORDER BY code`, tid)
	if err != nil {
		return nil, fmt.Errorf("query reasons: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Reason, error) {
		var x Reason
		return x, r.Scan(&x.Code, &x.Label)
	})
	if err != nil {
		return nil, fmt.Errorf("scan reasons: %w", err)
	}
	return out, nil
}

func reasonCodes(rs []Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Code
	}
	return out
}

// CreateReason adds a reason code and returns it as stored (trimmed, code
// lower-case). A code the tenant has already is a field error.
func (s *Store) CreateReason(ctx context.Context, tid tenant.ID, actor auth.Actor, r Reason, now time.Time) (Reason, error) {
	r.Code = strings.ToLower(strings.TrimSpace(r.Code))
	r.Label = strings.TrimSpace(r.Label)
	var errs validator.Errors
	errs.Check(r.Code != "", "code", "must not be blank")
	errs.Check(ValidCode(r.Code), "code", codeHint+", such as no_budget")
	errs.Check(validator.NotBlank(r.Label), "label", "must not be blank")
	errs.Check(validator.MaxChars(r.Label, 100), "label", "must be at most 100 characters")
	if errs != nil {
		return Reason{}, errs
	}
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO rejection_reasons (tenant_id, code, label, created_at) VALUES ($1, $2, $3, $4)`,
			tid, r.Code, r.Label, now); err != nil {
			if errors.Is(mapErr(err), ErrConflict) {
				return validator.Errors{"code": "exists already"}
			}
			return fmt.Errorf("insert reason: %w", err)
		}
		return insertAudit(ctx, tx, tid, actor, now, "reason.created", "rejection_reason", r.Code, nil, map[string]string{"label": r.Label})
	})
	if err != nil {
		return Reason{}, err
	}
	return r, nil
}

// FindRouting returns the tenant's routing rules and default team.
func (s *Store) FindRouting(ctx context.Context, tid tenant.ID) (lead.Routing, error) {
	var rt lead.Routing
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		rt, err = findRouting(ctx, tx, tid)
		return err
	})
	return rt, err
}

func findRouting(ctx context.Context, tx pgx.Tx, tid tenant.ID) (lead.Routing, error) {
	var rt lead.Routing
	rows, err := tx.Query(ctx, `SELECT segment, source, country, team_id FROM routing_rules WHERE tenant_id = $1 ORDER BY position`, tid)
	if err != nil {
		return rt, fmt.Errorf("query routing rules: %w", err)
	}
	rt.Rules, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (lead.RoutingRule, error) {
		var x lead.RoutingRule
		return x, r.Scan(&x.Segment, &x.Source, &x.Country, &x.TeamID)
	})
	if err != nil {
		return rt, fmt.Errorf("scan routing rules: %w", err)
	}
	err = tx.QueryRow(ctx, `SELECT default_team_id FROM tenant_settings WHERE tenant_id = $1`, tid).Scan(&rt.DefaultTeamID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return rt, fmt.Errorf("query default team: %w", err)
	}
	return rt, nil
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// NormalizeRouting returns a copy of rt with its match values trimmed, empty
// ones turned into "any", countries upper-case and segments lower-case: the
// form ReplaceRouting stores.
func NormalizeRouting(rt lead.Routing) lead.Routing {
	out := lead.Routing{DefaultTeamID: rt.DefaultTeamID, Rules: make([]lead.RoutingRule, len(rt.Rules))}
	norm := func(p *string, f func(string) string) *string {
		if p == nil {
			return nil
		}
		v := f(strings.TrimSpace(*p))
		if v == "" {
			return nil
		}
		return &v
	}
	keep := func(s string) string { return s }
	for i, r := range rt.Rules {
		out.Rules[i] = lead.RoutingRule{
			Segment: norm(r.Segment, strings.ToLower),
			Source:  norm(r.Source, keep),
			Country: norm(r.Country, strings.ToUpper),
			TeamID:  r.TeamID,
		}
	}
	return out
}

// ReplaceRouting sets the tenant's routing rules (in order: the first match
// wins) and default team. Every problem comes back as a field error: a rule
// without a team, a team that is not one of the tenant's sales teams, an
// unknown segment, a country that is not an ISO code, a rule that an earlier
// one makes unreachable.
func (s *Store) ReplaceRouting(ctx context.Context, tid tenant.ID, actor auth.Actor, rt lead.Routing, now time.Time) error {
	rt = NormalizeRouting(rt)
	var errs validator.Errors
	for k, v := range lead.ValidateRouting(rt) {
		errs.Add(k, v)
	}
	for i, r := range rt.Rules {
		if r.Country != nil {
			errs.Check(countryRE.MatchString(*r.Country), fmt.Sprintf("rules.%d.country", i), "must be a two-letter ISO 3166 code such as DE")
		}
	}
	return s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if err := lockSettings(ctx, tx, tid); err != nil {
			return err
		}
		before, err := findRouting(ctx, tx, tid)
		if err != nil {
			return err
		}
		segments, err := findSegments(ctx, tx, tid)
		if err != nil {
			return err
		}
		sides, err := teamSides(ctx, tx, tid)
		if err != nil {
			return err
		}
		checkTeam := func(field string, id uuid.UUID) {
			side, ok := sides[id]
			switch {
			case id == uuid.Nil:
			case !ok:
				errs.Add(field, "is not a team of this tenant")
			case side != tenant.SideSales:
				errs.Add(field, "is a marketing team: leads are routed to sales teams")
			}
		}
		for i, r := range rt.Rules {
			if r.Segment != nil && !contains(segments, *r.Segment) {
				errs.Add(fmt.Sprintf("rules.%d.segment", i), unknownSegment(segments))
			}
			checkTeam(fmt.Sprintf("rules.%d.team_id", i), r.TeamID)
		}
		if rt.DefaultTeamID != nil {
			checkTeam("default_team_id", *rt.DefaultTeamID)
		}
		if errs != nil {
			return errs
		}
		if _, err := tx.Exec(ctx, `DELETE FROM routing_rules WHERE tenant_id = $1`, tid); err != nil {
			return fmt.Errorf("delete routing rules: %w", err)
		}
		for i, r := range rt.Rules {
			if _, err := tx.Exec(ctx, `
				INSERT INTO routing_rules (tenant_id, position, segment, source, country, team_id) VALUES ($1, $2, $3, $4, $5, $6)`,
				tid, i+1, r.Segment, r.Source, r.Country, r.TeamID); err != nil {
				if errors.Is(mapErr(err), ErrInvalidReference) {
					return validator.Errors{fmt.Sprintf("rules.%d.team_id", i): "is not a team of this tenant"}
				}
				return fmt.Errorf("insert routing rule: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE tenant_settings SET default_team_id = $2 WHERE tenant_id = $1`, tid, rt.DefaultTeamID); err != nil {
			if errors.Is(mapErr(err), ErrInvalidReference) {
				return validator.Errors{"default_team_id": "is not a team of this tenant"}
			}
			return fmt.Errorf("set default team: %w", err)
		}
		return insertAudit(ctx, tx, tid, actor, now, "routing.replaced", "routing", tid.String(), routingAudit(before), routingAudit(rt))
	})
}

// teamSides maps each team of the tenant to its side.
func teamSides(ctx context.Context, tx pgx.Tx, tid tenant.ID) (map[uuid.UUID]tenant.Side, error) {
	rows, err := tx.Query(ctx, `SELECT id, side FROM teams WHERE tenant_id = $1`, tid)
	if err != nil {
		return nil, fmt.Errorf("query team sides: %w", err)
	}
	out := map[uuid.UUID]tenant.Side{}
	var id uuid.UUID
	var side string
	if _, err := pgx.ForEachRow(rows, []any{&id, &side}, func() error {
		out[id] = tenant.Side(side)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("scan team sides: %w", err)
	}
	return out, nil
}

func unknownSegment(segments []string) string {
	if len(segments) == 0 {
		return "this tenant has no segments yet: define them in Settings → Segments"
	}
	return "must be one of " + strings.Join(segments, ", ")
}

func routingAudit(rt lead.Routing) map[string]any {
	rules := make([]map[string]any, len(rt.Rules))
	for i, r := range rt.Rules {
		rules[i] = map[string]any{"segment": r.Segment, "source": r.Source, "country": r.Country, "team_id": r.TeamID}
	}
	return map[string]any{"rules": rules, "default_team_id": rt.DefaultTeamID}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// qualificationJSON is how the qualification rule is stored (the API form).
type qualificationJSON struct {
	MinScore      *int          `json:"min_score"`
	RequireICPFit bool          `json:"require_icp_fit"`
	PageViews     *pageViewJSON `json:"page_views"`
}

type pageViewJSON struct {
	URLContains string `json:"url_contains"`
	Count       int    `json:"count"`
	WithinHours int    `json:"within_hours"`
}

func toQualificationJSON(q lead.Qualification) qualificationJSON {
	j := qualificationJSON{MinScore: q.MinScore, RequireICPFit: q.RequireICPFit}
	if q.PageViews != nil {
		j.PageViews = &pageViewJSON{URLContains: q.PageViews.URLContains, Count: q.PageViews.Count, WithinHours: q.PageViews.WithinHours}
	}
	return j
}

// FindQualification returns the tenant's qualification rule (inactive when none).
func (s *Store) FindQualification(ctx context.Context, tid tenant.ID) (lead.Qualification, error) {
	var q lead.Qualification
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		q, err = findQualification(ctx, tx, tid)
		return err
	})
	return q, err
}

func findQualification(ctx context.Context, tx pgx.Tx, tid tenant.ID) (lead.Qualification, error) {
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT qualification FROM tenant_settings WHERE tenant_id = $1`, tid).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && raw == nil) {
		return lead.Qualification{}, nil
	}
	if err != nil {
		return lead.Qualification{}, fmt.Errorf("query qualification: %w", err)
	}
	var j qualificationJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return lead.Qualification{}, fmt.Errorf("decode qualification: %w", err)
	}
	q := lead.Qualification{MinScore: j.MinScore, RequireICPFit: j.RequireICPFit}
	if j.PageViews != nil {
		q.PageViews = &lead.PageViewRule{URLContains: j.PageViews.URLContains, Count: j.PageViews.Count, WithinHours: j.PageViews.WithinHours}
	}
	return q, nil
}

// SetQualification replaces the tenant's qualification rule.
func (s *Store) SetQualification(ctx context.Context, tid tenant.ID, actor auth.Actor, q lead.Qualification, now time.Time) error {
	_, err := s.UpdateQualification(ctx, tid, actor, func(cur *lead.Qualification) { *cur = q }, now)
	return err
}

// UpdateQualification changes the tenant's qualification rule with change,
// which gets a copy of the rule in force, in the same transaction that saves
// the result: a partial update cannot lose a concurrent one. It returns the
// rule as saved; an invalid result is a validator.Errors and saves nothing.
func (s *Store) UpdateQualification(ctx context.Context, tid tenant.ID, actor auth.Actor, change func(*lead.Qualification), now time.Time) (lead.Qualification, error) {
	var saved lead.Qualification
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if err := lockSettings(ctx, tx, tid); err != nil {
			return err
		}
		before, err := findQualification(ctx, tx, tid)
		if err != nil {
			return err
		}
		q := before
		if before.MinScore != nil {
			v := *before.MinScore
			q.MinScore = &v
		}
		if before.PageViews != nil {
			pv := *before.PageViews
			q.PageViews = &pv
		}
		change(&q)
		if q.PageViews != nil {
			pv := *q.PageViews
			pv.URLContains = strings.TrimSpace(pv.URLContains)
			q.PageViews = &pv
		}
		if errs := q.Validate(); errs != nil {
			return errs
		}
		var raw []byte
		if q.Active() {
			if raw, err = json.Marshal(toQualificationJSON(q)); err != nil {
				return fmt.Errorf("encode qualification: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE tenant_settings SET qualification = $2 WHERE tenant_id = $1`, tid, raw); err != nil {
			return fmt.Errorf("set qualification: %w", err)
		}
		saved = q
		return insertAudit(ctx, tx, tid, actor, now, "qualification.set", "qualification", tid.String(),
			toQualificationJSON(before), toQualificationJSON(q))
	})
	if err != nil {
		return lead.Qualification{}, err
	}
	return saved, nil
}

// Target is a revenue target for a month, for all segments ("") or one.
type Target struct {
	Period  string // YYYY-MM
	Segment string
	Revenue lead.Cents
}

// TargetChange sets the target of one month and segment ("" for all
// segments), or removes it when Revenue is nil.
type TargetChange struct {
	Period  string
	Segment string
	Revenue *lead.Cents
}

// FindTargets returns the tenant's targets by period and segment (the
// all-segments target of a month first).
func (s *Store) FindTargets(ctx context.Context, tid tenant.ID) ([]Target, error) {
	var out []Target
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		out, err = findTargets(ctx, tx, tid)
		return err
	})
	return out, err
}

func findTargets(ctx context.Context, tx pgx.Tx, tid tenant.ID) ([]Target, error) {
	rows, err := tx.Query(ctx, `SELECT period, segment, revenue_cents FROM targets WHERE tenant_id = $1 ORDER BY period, segment`, tid)
	if err != nil {
		return nil, fmt.Errorf("query targets: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Target, error) {
		var t Target
		return t, r.Scan(&t.Period, &t.Segment, &t.Revenue)
	})
	if err != nil {
		return nil, fmt.Errorf("scan targets: %w", err)
	}
	return out, nil
}

var periodRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// CheckTargets reports the problems of changes that UpdateTargets and
// ReplaceTargets find before they consult the database (months, amounts,
// repeats), by position: "targets.3.period".
func CheckTargets(changes []TargetChange) validator.Errors {
	_, errs := normalizeTargetChanges(changes)
	return errs
}

// normalizeTargetChanges trims and lower-cases the keys and reports bad
// values by position ("targets.3.period"), without the database.
func normalizeTargetChanges(changes []TargetChange) ([]TargetChange, validator.Errors) {
	var errs validator.Errors
	out := make([]TargetChange, len(changes))
	seen := map[string]bool{}
	for i, c := range changes {
		c.Period = strings.TrimSpace(c.Period)
		c.Segment = strings.ToLower(strings.TrimSpace(c.Segment))
		out[i] = c
		field := fmt.Sprintf("targets.%d", i)
		errs.Check(periodRE.MatchString(c.Period), field+".period", "must be a month, YYYY-MM, such as 2026-10")
		if c.Revenue != nil {
			errs.Check(*c.Revenue >= 0, field+".revenue", "must not be negative")
		}
		key := c.Period + "/" + c.Segment
		errs.Check(!seen[key], field, "this month and segment are listed twice")
		seen[key] = true
	}
	errs.Check(len(changes) <= maxTargets, "targets", fmt.Sprintf("at most %d targets at once", maxTargets))
	return out, errs.OrNil()
}

// UpdateTargets applies changes to the tenant's targets: each named month and
// segment is set, or removed when its revenue is nil; targets not named stay.
// It returns every target afterwards.
func (s *Store) UpdateTargets(ctx context.Context, tid tenant.ID, actor auth.Actor, changes []TargetChange, now time.Time) ([]Target, error) {
	return s.writeTargets(ctx, tid, actor, changes, false, now)
}

// ReplaceTargets makes targets the tenant's whole set of targets: those not
// listed are removed. It returns every target afterwards.
func (s *Store) ReplaceTargets(ctx context.Context, tid tenant.ID, actor auth.Actor, targets []Target, now time.Time) ([]Target, error) {
	changes := make([]TargetChange, len(targets))
	for i, t := range targets {
		rev := t.Revenue
		changes[i] = TargetChange{Period: t.Period, Segment: t.Segment, Revenue: &rev}
	}
	return s.writeTargets(ctx, tid, actor, changes, true, now)
}

func (s *Store) writeTargets(ctx context.Context, tid tenant.ID, actor auth.Actor, changes []TargetChange, replaceAll bool, now time.Time) ([]Target, error) {
	changes, errs := normalizeTargetChanges(changes)
	var after []Target
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if err := lockSettings(ctx, tx, tid); err != nil {
			return err
		}
		segments, err := findSegments(ctx, tx, tid)
		if err != nil {
			return err
		}
		for i, c := range changes {
			if c.Segment != "" && !contains(segments, c.Segment) {
				errs.Add(fmt.Sprintf("targets.%d.segment", i), unknownSegment(segments))
			}
		}
		if errs != nil {
			return errs
		}
		before, err := findTargets(ctx, tx, tid)
		if err != nil {
			return err
		}
		if replaceAll {
			if _, err := tx.Exec(ctx, `DELETE FROM targets WHERE tenant_id = $1`, tid); err != nil {
				return fmt.Errorf("delete targets: %w", err)
			}
		}
		for _, c := range changes {
			if c.Revenue == nil {
				if _, err := tx.Exec(ctx, `DELETE FROM targets WHERE tenant_id = $1 AND period = $2 AND segment = $3`,
					tid, c.Period, c.Segment); err != nil {
					return fmt.Errorf("delete target: %w", err)
				}
				continue
			}
			if _, err := tx.Exec(ctx, `
				INSERT INTO targets (tenant_id, period, segment, revenue_cents) VALUES ($1, $2, $3, $4)
				ON CONFLICT (tenant_id, period, segment) DO UPDATE SET revenue_cents = excluded.revenue_cents`,
				tid, c.Period, c.Segment, *c.Revenue); err != nil {
				return fmt.Errorf("upsert target: %w", err)
			}
		}
		if after, err = findTargets(ctx, tx, tid); err != nil {
			return err
		}
		return insertAudit(ctx, tx, tid, actor, now, "targets.set", "targets", tid.String(), targetsAudit(before), targetsAudit(after))
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

func targetsAudit(ts []Target) []map[string]any {
	out := make([]map[string]any, len(ts))
	for i, t := range ts {
		out[i] = map[string]any{"period": t.Period, "segment": t.Segment, "revenue": t.Revenue.String()}
	}
	return out
}

// nullIfNil is for optional ids in SQL arguments.
func nullIfNil(id *uuid.UUID) any {
	if id == nil {
		return nil
	}
	return *id
}
