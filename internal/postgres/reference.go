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

// Reason is a rejection, disqualification or loss reason code.
type Reason struct {
	Code  string
	Label string
}

var codeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,49}$`)

// ValidCode reports whether s may be a segment or reason code.
func ValidCode(s string) bool { return codeRE.MatchString(s) }

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

// ReplaceSegments sets the tenant's segment list. A segment that leads still
// use cannot be removed.
func (s *Store) ReplaceSegments(ctx context.Context, tid tenant.ID, actor auth.Actor, segments []string, now time.Time) ([]string, error) {
	var errs validator.Errors
	seen := map[string]bool{}
	clean := make([]string, 0, len(segments))
	for i, raw := range segments {
		code := strings.ToLower(strings.TrimSpace(raw))
		field := fmt.Sprintf("segments.%d", i)
		errs.Check(ValidCode(code), field, "must be 1–50 lower-case letters, digits, - or _, such as enterprise")
		errs.Check(!seen[code], field, "is listed twice")
		seen[code] = true
		clean = append(clean, code)
	}
	errs.Check(len(clean) <= 50, "segments", "at most 50 segments")
	if errs != nil {
		return nil, errs
	}
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		before, err := findSegments(ctx, tx, tid)
		if err != nil {
			return err
		}
		for _, old := range before {
			if seen[old] {
				continue
			}
			var used int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM leads WHERE tenant_id = $1 AND segment = $2`, tid, old).Scan(&used); err != nil {
				return fmt.Errorf("count leads of segment: %w", err)
			}
			if used > 0 {
				return validator.Errors{"segments": fmt.Sprintf("%s is used by %d leads and cannot be removed", old, used)}
			}
			if _, err := tx.Exec(ctx, `DELETE FROM segments WHERE tenant_id = $1 AND code = $2`, tid, old); err != nil {
				return fmt.Errorf("delete segment: %w", err)
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

// CreateReason adds a reason code.
func (s *Store) CreateReason(ctx context.Context, tid tenant.ID, actor auth.Actor, r Reason, now time.Time) (Reason, error) {
	r.Code = strings.ToLower(strings.TrimSpace(r.Code))
	r.Label = strings.TrimSpace(r.Label)
	var errs validator.Errors
	errs.Check(ValidCode(r.Code), "code", "must be 1–50 lower-case letters, digits, - or _, such as no_budget")
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
	return r, err
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

// ReplaceRouting sets the tenant's routing rules and default team.
func (s *Store) ReplaceRouting(ctx context.Context, tid tenant.ID, actor auth.Actor, rt lead.Routing, now time.Time) error {
	for i := range rt.Rules {
		for _, p := range []**string{&rt.Rules[i].Segment, &rt.Rules[i].Source, &rt.Rules[i].Country} {
			if *p != nil {
				v := strings.TrimSpace(**p)
				if v == "" {
					*p = nil
				} else {
					*p = &v
				}
			}
		}
		if c := rt.Rules[i].Country; c != nil {
			v := strings.ToUpper(*c)
			rt.Rules[i].Country = &v
		}
		if sg := rt.Rules[i].Segment; sg != nil {
			v := strings.ToLower(*sg)
			rt.Rules[i].Segment = &v
		}
	}
	if errs := lead.ValidateRouting(rt); errs != nil {
		return errs
	}
	return s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		before, err := findRouting(ctx, tx, tid)
		if err != nil {
			return err
		}
		segments, err := findSegments(ctx, tx, tid)
		if err != nil {
			return err
		}
		var errs validator.Errors
		for i, r := range rt.Rules {
			if r.Segment != nil && !contains(segments, *r.Segment) {
				errs.Add(fmt.Sprintf("rules.%d.segment", i), "must be one of "+strings.Join(segments, ", "))
			}
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
		if _, err := tx.Exec(ctx, `
			INSERT INTO tenant_settings (tenant_id, default_team_id) VALUES ($1, $2)
			ON CONFLICT (tenant_id) DO UPDATE SET default_team_id = excluded.default_team_id`, tid, rt.DefaultTeamID); err != nil {
			if errors.Is(mapErr(err), ErrInvalidReference) {
				return validator.Errors{"default_team_id": "is not a team of this tenant"}
			}
			return fmt.Errorf("set default team: %w", err)
		}
		return insertAudit(ctx, tx, tid, actor, now, "routing.replaced", "routing", tid.String(), routingAudit(before), routingAudit(rt))
	})
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
	if q.PageViews != nil {
		q.PageViews.URLContains = strings.TrimSpace(q.PageViews.URLContains)
	}
	if errs := q.Validate(); errs != nil {
		return errs
	}
	j := qualificationJSON{MinScore: q.MinScore, RequireICPFit: q.RequireICPFit}
	if q.PageViews != nil {
		j.PageViews = &pageViewJSON{URLContains: q.PageViews.URLContains, Count: q.PageViews.Count, WithinHours: q.PageViews.WithinHours}
	}
	var raw []byte
	if q.Active() {
		var err error
		if raw, err = json.Marshal(j); err != nil {
			return fmt.Errorf("encode qualification: %w", err)
		}
	}
	return s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		before, err := findQualification(ctx, tx, tid)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO tenant_settings (tenant_id, qualification) VALUES ($1, $2)
			ON CONFLICT (tenant_id) DO UPDATE SET qualification = excluded.qualification`, tid, raw); err != nil {
			return fmt.Errorf("set qualification: %w", err)
		}
		return insertAudit(ctx, tx, tid, actor, now, "qualification.set", "qualification", tid.String(), before, q)
	})
}

// Target is a revenue target for a month, for all segments ("") or one.
type Target struct {
	Period  string // YYYY-MM
	Segment string
	Revenue lead.Cents
}

// FindTargets returns the tenant's targets by period and segment.
func (s *Store) FindTargets(ctx context.Context, tid tenant.ID) ([]Target, error) {
	var out []Target
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT period, segment, revenue_cents FROM targets WHERE tenant_id = $1 ORDER BY period, segment`, tid)
		if err != nil {
			return fmt.Errorf("query targets: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Target, error) {
			var t Target
			return t, r.Scan(&t.Period, &t.Segment, &t.Revenue)
		})
		return err
	})
	return out, err
}

var periodRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// ReplaceTargets sets the targets of the periods given: each (period,
// segment) pair is created or replaced; other periods stay.
func (s *Store) ReplaceTargets(ctx context.Context, tid tenant.ID, actor auth.Actor, targets []Target, now time.Time) error {
	var errs validator.Errors
	seen := map[string]bool{}
	for i, t := range targets {
		field := fmt.Sprintf("targets.%d", i)
		errs.Check(periodRE.MatchString(t.Period), field+".period", "must be a month, YYYY-MM")
		errs.Check(t.Revenue >= 0, field+".revenue", "must not be negative")
		key := t.Period + "/" + t.Segment
		errs.Check(!seen[key], field, "this period and segment are listed twice")
		seen[key] = true
	}
	errs.Check(len(targets) <= 1000, "targets", "at most 1000 targets at once")
	if errs != nil {
		return errs
	}
	return s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		segments, err := findSegments(ctx, tx, tid)
		if err != nil {
			return err
		}
		for i, t := range targets {
			if t.Segment != "" && !contains(segments, t.Segment) {
				return validator.Errors{fmt.Sprintf("targets.%d.segment", i): "must be one of " + strings.Join(segments, ", ")}
			}
			if _, err := tx.Exec(ctx, `
				INSERT INTO targets (tenant_id, period, segment, revenue_cents) VALUES ($1, $2, $3, $4)
				ON CONFLICT (tenant_id, period, segment) DO UPDATE SET revenue_cents = excluded.revenue_cents`,
				tid, t.Period, t.Segment, t.Revenue); err != nil {
				return fmt.Errorf("upsert target: %w", err)
			}
		}
		return insertAudit(ctx, tx, tid, actor, now, "targets.set", "targets", tid.String(), nil, targets)
	})
}

// nullIfNil is for optional ids in SQL arguments.
func nullIfNil(id *uuid.UUID) any {
	if id == nil {
		return nil
	}
	return *id
}
