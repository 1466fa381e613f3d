package postgres

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// DigestKind names one of the two digests.
type DigestKind string

// The digests: the weekly pipeline review (Monday to Sunday) and the
// monthly performance report (a calendar month), both in the tenant's zone.
const (
	DigestWeekly  DigestKind = "weekly"
	DigestMonthly DigestKind = "monthly"
)

// DigestKinds lists the digests in the order they are shown and sent.
var DigestKinds = []DigestKind{DigestWeekly, DigestMonthly}

// preset is the metric preset of the digest's last ended period.
func (k DigestKind) preset() string {
	if k == DigestMonthly {
		return metric.PresetLastMonth
	}
	return metric.PresetLastWeek
}

// DefaultDigestRoles get both digests until an admin chooses otherwise:
// the people who run the agreement on both sides.
var DefaultDigestRoles = []tenant.Role{tenant.RoleAdmin, tenant.RoleMarketing, tenant.RoleManager}

// DigestSettings says which roles get each digest. An empty list switches
// that digest off.
type DigestSettings struct {
	Weekly  []tenant.Role
	Monthly []tenant.Role
}

// Roles returns the roles of digest k.
func (d DigestSettings) Roles(k DigestKind) []tenant.Role {
	if k == DigestMonthly {
		return d.Monthly
	}
	return d.Weekly
}

// Validate reports unknown roles, keyed "weekly" and "monthly".
func (d DigestSettings) Validate() validator.Errors {
	var errs validator.Errors
	for _, f := range []struct {
		field string
		roles []tenant.Role
	}{{"weekly", d.Weekly}, {"monthly", d.Monthly}} {
		for _, r := range f.roles {
			if !r.Valid() {
				errs.Add(f.field, fmt.Sprintf("%q is not a role; choose among admin, marketing, manager, rep and viewer", string(r)))
			}
		}
	}
	return errs
}

// normalize drops duplicates and orders the roles as tenant.Roles does, so
// that equal choices are stored alike.
func (d DigestSettings) normalize() DigestSettings {
	norm := func(rs []tenant.Role) []tenant.Role {
		out := []tenant.Role{}
		for _, r := range tenant.Roles {
			if slices.Contains(rs, r) {
				out = append(out, r)
			}
		}
		return out
	}
	return DigestSettings{Weekly: norm(d.Weekly), Monthly: norm(d.Monthly)}
}

func roleStrings(rs []tenant.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func toRoles(ss []string) []tenant.Role {
	out := make([]tenant.Role, len(ss))
	for i, s := range ss {
		out[i] = tenant.Role(s)
	}
	return out
}

// FindDigestSettings returns which roles get each digest.
func (s *Store) FindDigestSettings(ctx context.Context, tid tenant.ID) (DigestSettings, error) {
	var out DigestSettings
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		out, err = findDigestSettings(ctx, tx, tid)
		return err
	})
	return out, err
}

func findDigestSettings(ctx context.Context, tx pgx.Tx, tid tenant.ID) (DigestSettings, error) {
	var weekly, monthly []string
	err := tx.QueryRow(ctx, `SELECT digest_weekly_roles, digest_monthly_roles FROM tenant_settings WHERE tenant_id = $1`, tid).Scan(&weekly, &monthly)
	if errors.Is(err, pgx.ErrNoRows) {
		// Every tenant has a settings row; without one, the defaults apply.
		return DigestSettings{Weekly: slices.Clone(DefaultDigestRoles), Monthly: slices.Clone(DefaultDigestRoles)}, nil
	}
	if err != nil {
		return DigestSettings{}, fmt.Errorf("query digest settings: %w", err)
	}
	return DigestSettings{Weekly: toRoles(weekly), Monthly: toRoles(monthly)}, nil
}

// UpdateDigestSettings replaces which roles get each digest, with an audit
// entry. Unknown roles are a validator.Errors and change nothing.
func (s *Store) UpdateDigestSettings(ctx context.Context, tid tenant.ID, actor auth.Actor, in DigestSettings, now time.Time) (DigestSettings, error) {
	if errs := in.Validate(); errs != nil {
		return DigestSettings{}, errs
	}
	in = in.normalize()
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if err := lockSettings(ctx, tx, tid); err != nil {
			return err
		}
		before, err := findDigestSettings(ctx, tx, tid)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE tenant_settings SET digest_weekly_roles = $2, digest_monthly_roles = $3 WHERE tenant_id = $1`,
			tid, roleStrings(in.Weekly), roleStrings(in.Monthly)); err != nil {
			return fmt.Errorf("update digest settings: %w", err)
		}
		return insertAudit(ctx, tx, tid, actor, now, "digests.set", "digests", tid.String(), digestAudit(before), digestAudit(in))
	})
	if err != nil {
		return DigestSettings{}, err
	}
	return in, nil
}

func digestAudit(d DigestSettings) map[string]any {
	return map[string]any{"weekly": roleStrings(d.Weekly), "monthly": roleStrings(d.Monthly)}
}

// DigestRun is a digest recorded for one period.
type DigestRun struct {
	Kind        DigestKind
	PeriodStart time.Time // the local date the period starts, as a UTC midnight
	PeriodEnd   time.Time // the local date after its last day
	SentAt      time.Time
	// Announced is false for a run recorded without e-mails (found too
	// late, or before the tenant existed).
	Announced  bool
	Recipients int
}

// FindDigestRuns returns the tenant's recorded digests, latest period end first, at
// most limit.
func (s *Store) FindDigestRuns(ctx context.Context, tid tenant.ID, limit int) ([]DigestRun, error) {
	var out []DigestRun
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT kind, period_start, period_end, sent_at, announced, recipients FROM digest_runs
			WHERE tenant_id = $1 ORDER BY period_end DESC, kind LIMIT $2`, tid, limit)
		if err != nil {
			return fmt.Errorf("query digest runs: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (DigestRun, error) {
			var d DigestRun
			var kind string
			err := r.Scan(&kind, &d.PeriodStart, &d.PeriodEnd, &d.SentAt, &d.Announced, &d.Recipients)
			d.Kind = DigestKind(kind)
			return d, err
		})
		if err != nil {
			return fmt.Errorf("scan digest runs: %w", err)
		}
		return nil
	})
	return out, err
}

// Digest is what one digest e-mail shows: every figure computed by the same
// functions as FindMetrics and FindScorecard, in the run's transaction.
type Digest struct {
	Kind   DigestKind
	Tenant tenant.Tenant
	// Period is the week or month reported on; Figures.Previous is the
	// period of equal length before it (DESIGN.md §5).
	Period  metric.Period
	Figures metric.Figures
	// Scorecard is every clause of the agreement judged for the month
	// (monthly report only), with each clause in plain words by id.
	Scorecard *metric.Scorecard
	Clauses   map[uuid.UUID]string
	// Running and AtRisk count the open SLA timers when the digest is made
	// (weekly review only).
	Running, AtRisk int64
	// DashboardURL opens the dashboard on the same period.
	DashboardURL string
	// BaseURL is the address of Accord, for other links.
	BaseURL string
}

// DigestComposer renders a digest as an e-mail: subject, text and HTML.
// The store fills in the recipient and the Message-ID. It is called inside
// the run's transaction and must not call the store.
type DigestComposer func(ctx context.Context, d Digest) (mail.Message, error)

// DigestOptions says how SendDueDigests renders and links.
type DigestOptions struct {
	// BaseURL makes links in the e-mails absolute.
	BaseURL string
	// Compose renders each digest; nil records the runs and sends nothing.
	Compose DigestComposer
	// StaleAfter: a period that ended longer ago than this when it is
	// found without a run (a worker down for days, the first start after
	// an upgrade) is recorded without sending; default 7 days.
	StaleAfter time.Duration
}

// DigestResult counts what one pass did.
type DigestResult struct {
	// Sent counts the digests recorded with e-mails queued, Silent those
	// recorded without (stale, before the tenant, nobody to send to).
	Sent, Silent int
	// Emails counts the e-mails queued.
	Emails int
}

// DigestSendHour is the local hour on the day after a period from which
// its digest is sent: the review is in the inbox when Monday's work starts,
// not at midnight.
const DigestSendHour = 6

// SendDueDigests sends, for every tenant, the digests whose period has
// ended (the last week, Monday to Sunday, and the last month, in the
// tenant's zone; from DigestSendHour the next morning) and has no run yet:
// it records the run and queues one e-mail per active member with a chosen
// role, in one transaction. The run's primary key makes every other
// worker's insert a no-op, so each period's digest is sent once however
// many workers run, and a failure rolls the run back to be tried again.
func (s *Store) SendDueDigests(ctx context.Context, now time.Time, opts DigestOptions) (DigestResult, error) {
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 7 * 24 * time.Hour
	}
	var total DigestResult
	rows, err := s.pool.Query(ctx, `SELECT id FROM tenants ORDER BY id`)
	if err != nil {
		return total, fmt.Errorf("list tenants: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[tenant.ID])
	if err != nil {
		return total, fmt.Errorf("scan tenants: %w", err)
	}
	var errs []error
	for _, tid := range ids {
		res, err := s.sendTenantDigests(ctx, tid, now, opts)
		if err != nil {
			// One tenant's failure must not hold back every other's digest.
			errs = append(errs, fmt.Errorf("tenant %s: %w", tid, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		total.Sent += res.Sent
		total.Silent += res.Silent
		total.Emails += res.Emails
	}
	return total, errors.Join(errs...)
}

func (s *Store) sendTenantDigests(ctx context.Context, tid tenant.ID, now time.Time, opts DigestOptions) (DigestResult, error) {
	var res DigestResult
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		t, err := scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, tid))
		if err != nil {
			return fmt.Errorf("find tenant: %w", mapErr(err))
		}
		loc := t.Location()
		settings, err := findDigestSettings(ctx, tx, tid)
		if err != nil {
			return err
		}
		var jobs []river.InsertManyParams
		for _, kind := range DigestKinds {
			p, verrs := metric.ParsePeriod(kind.preset(), "", "", loc, now)
			if verrs != nil {
				return fmt.Errorf("%s digest period: %w", kind, verrs)
			}
			p.Preset = "" // a digest names its dates, never "last week"
			y, m, d := p.To.Date()
			if now.Before(time.Date(y, m, d, DigestSendHour, 0, 0, 0, loc)) {
				continue
			}
			silent := now.Sub(p.To) > opts.StaleAfter || p.To.Before(t.CreatedAt)
			var recipients []digestRecipient
			if !silent {
				if recipients, err = findDigestRecipients(ctx, tx, tid, settings.Roles(kind)); err != nil {
					return err
				}
				silent = len(recipients) == 0
			}
			from, to := p.Dates()
			tag, err := tx.Exec(ctx, `
				INSERT INTO digest_runs (tenant_id, kind, period_start, period_end, sent_at, announced, recipients)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT DO NOTHING`, tid, string(kind), from, to, now, !silent, len(recipients))
			if err != nil {
				return fmt.Errorf("record %s digest: %w", kind, err)
			}
			if tag.RowsAffected() == 0 {
				continue // sent already, by this worker or another
			}
			if silent || opts.Compose == nil {
				res.Silent++
				continue
			}
			msgs, err := s.composeDigest(ctx, tx, t, kind, p, recipients, now, opts)
			if err != nil {
				return err
			}
			jobs = append(jobs, msgs...)
			res.Sent++
			res.Emails += len(msgs)
		}
		if len(jobs) > 0 {
			if _, err := s.jobs.InsertManyTx(ctx, tx, jobs); err != nil {
				return fmt.Errorf("queue digest e-mails: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return DigestResult{}, err
	}
	return res, nil
}

// digestRecipient is an active member who gets a digest.
type digestRecipient struct {
	userID      uuid.UUID
	email, name string
}

func findDigestRecipients(ctx context.Context, tx pgx.Tx, tid tenant.ID, roles []tenant.Role) ([]digestRecipient, error) {
	if len(roles) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT m.user_id, u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = $1 AND m.active AND m.role = ANY ($2)
		ORDER BY u.email`, tid, roleStrings(roles))
	if err != nil {
		return nil, fmt.Errorf("find digest recipients: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (digestRecipient, error) {
		var d digestRecipient
		return d, r.Scan(&d.userID, &d.email, &d.name)
	})
	if err != nil {
		return nil, fmt.Errorf("scan digest recipients: %w", err)
	}
	return out, nil
}

// composeDigest computes the digest of period p with the functions behind
// FindMetrics and FindScorecard, renders it once, and returns one e-mail
// job per recipient, each with a Message-ID derived from the run and the
// recipient so a resend reads as the same message.
func (s *Store) composeDigest(ctx context.Context, tx pgx.Tx, t tenant.Tenant, kind DigestKind, p metric.Period,
	recipients []digestRecipient, now time.Time, opts DigestOptions) ([]river.InsertManyParams, error) {
	base := strings.TrimRight(opts.BaseURL, "/")
	d := Digest{Kind: kind, Tenant: t, Period: p, BaseURL: base, DashboardURL: base + "/?" + p.Query().Encode()}
	var err error
	if d.Figures, _, err = findMetrics(ctx, tx, t.ID, p, metric.Filter{}); err != nil {
		return nil, err
	}
	switch kind {
	case DigestMonthly:
		card, err := findScorecard(ctx, tx, t.ID, p, now)
		if err != nil {
			return nil, err
		}
		d.Scorecard = &card
		a, err := findAgreement(ctx, tx, t.ID)
		if err != nil {
			return nil, err
		}
		d.Clauses = map[uuid.UUID]string{}
		for _, c := range a.Clauses {
			d.Clauses[c.ID] = c.Describe()
		}
	default:
		if err := tx.QueryRow(ctx, `
			SELECT count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status = 'at_risk')
			FROM sla_timers WHERE tenant_id = $1 AND status IN ('running', 'at_risk')`, t.ID).Scan(&d.Running, &d.AtRisk); err != nil {
			return nil, fmt.Errorf("open timers: %w", err)
		}
	}
	msg, err := opts.Compose(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("compose %s digest: %w", kind, err)
	}
	from, _ := p.Dates()
	out := make([]river.InsertManyParams, 0, len(recipients))
	for _, r := range recipients {
		m := msg
		m.To = (&netmail.Address{Name: r.name, Address: r.email}).String()
		m.MessageID = "accord-digest-" + uuid.NewSHA1(uuid.NameSpaceOID,
			[]byte(t.ID.String()+"/"+string(kind)+"/"+from+"/"+r.userID.String())).String()
		out = append(out, river.InsertManyParams{Args: mail.SendArgs{TenantID: t.ID.String(), Message: m}})
	}
	return out, nil
}
