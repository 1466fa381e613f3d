package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/demo"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// demoPassword is the password of every demo login, printed at start.
const demoPassword = "accord-demo-2026"

// The demo history: about 3,600 leads over the 90 days before the seed runs.
const (
	demoLeads = 3600
	demoDays  = 90
	demoSeed  = 2026
)

type demoUser struct {
	email, name string
	role        tenant.Role
	team        string // "sales" or "marketing"
}

var demoUsers = []demoUser{
	{"mara@acme.test", "Mara Lindqvist", tenant.RoleMarketing, "marketing"},
	{"sam@acme.test", "Sam Okafor", tenant.RoleManager, "sales"},
	{"rey@acme.test", "Rey Alvarez", tenant.RoleRep, "sales"},
	{"rosa@acme.test", "Rosa Marin", tenant.RoleRep, "sales"},
	{"raj@acme.test", "Raj Patel", tenant.RoleRep, "sales"},
	{"vic@acme.test", "Vic Moreau", tenant.RoleViewer, ""},
}

// demoSlowRep is the rep who accepts and touches leads late.
const demoSlowRep = "raj@acme.test"

// demoQualification is the demo's qualification rule: three views of the
// pricing pages within two days hand a new lead off.
var demoQualification = lead.Qualification{PageViews: &lead.PageViewRule{URLContains: "/pricing", Count: 3, WithinHours: 48}}

// seedDemo creates the demo tenant "acme": an admin (RevOps), a marketing
// user, a sales manager, three reps and a viewer, a sales and a marketing
// team on the default Mon–Fri calendar, routing to the sales team, a
// qualification rule, revenue targets, and 90 days of lead history ending
// now, with a few notifications. It prints the logins. An existing demo
// tenant is left as it is.
func seedDemo(ctx context.Context, store *postgres.Store, logger *slog.Logger, stdout io.Writer, now func() time.Time) error {
	const admin = "rita@acme.test"
	_, err := store.FindTenantBySlug(ctx, "acme")
	switch {
	case err == nil:
		logger.Info("demo tenant acme exists; leaving it as it is")
		printDemoLogins(stdout, admin)
		return nil
	case !errors.Is(err, postgres.ErrNotFound):
		return err
	}
	started := now()
	// The tenant and its people predate the history they made.
	setupAt := started.AddDate(0, 0, -demoDays-1)
	hash, err := auth.HashPassword(demoPassword)
	if err != nil {
		return err
	}
	t, adminID, err := store.CreateTenant(ctx, tenant.Input{Slug: "acme", Name: "Acme Analytics", TimeZone: "Europe/Berlin", Currency: "EUR"},
		postgres.AdminInput{Email: admin, Name: "Rita Okoye", PasswordHash: hash}, setupAt)
	if err != nil {
		return fmt.Errorf("seed demo tenant: %w", err)
	}
	actor := auth.Actor{Type: auth.ActorUser, ID: adminID, Name: "Rita Okoye"}
	members := map[string]uuid.UUID{}
	for _, u := range demoUsers {
		m, err := store.CreateMember(ctx, t.ID, actor, auth.InviteInput{Email: u.email, Name: u.name, Role: u.role}, hash, setupAt)
		if err != nil {
			return fmt.Errorf("seed demo user %s: %w", u.email, err)
		}
		members[u.email] = m.ID
	}
	sam, mara := members["sam@acme.test"], members["mara@acme.test"]
	teams := map[string]uuid.UUID{}
	for _, tm := range []struct {
		key string
		in  tenant.TeamInput
	}{
		{"sales", tenant.TeamInput{Name: "Sales", Side: tenant.SideSales, ManagerID: &sam}},
		{"marketing", tenant.TeamInput{Name: "Marketing", Side: tenant.SideMarketing, ManagerID: &mara}},
	} {
		created, err := store.CreateTeam(ctx, t.ID, actor, tm.in, setupAt)
		if err != nil {
			return fmt.Errorf("seed demo team %s: %w", tm.in.Name, err)
		}
		teams[tm.key] = created.ID
	}
	var reps []demo.Rep
	for _, u := range demoUsers {
		if u.team == "" {
			continue
		}
		team := teams[u.team]
		upd := auth.MemberUpdate{TeamID: &team}
		if u.role == tenant.RoleRep {
			upd.ManagerID = &sam
			reps = append(reps, demo.Rep{ID: members[u.email], Name: u.name, TeamID: team, TeamName: "Sales", Slow: u.email == demoSlowRep})
		}
		if _, err := store.UpdateMember(ctx, t.ID, actor, members[u.email], upd, setupAt); err != nil {
			return fmt.Errorf("seed demo team membership %s: %w", u.email, err)
		}
	}
	sales := teams["sales"]
	if err := store.ReplaceRouting(ctx, t.ID, actor, lead.Routing{DefaultTeamID: &sales}, setupAt); err != nil {
		return fmt.Errorf("seed demo routing: %w", err)
	}
	if err := store.SetQualification(ctx, t.ID, actor, demoQualification, setupAt); err != nil {
		return fmt.Errorf("seed demo qualification rule: %w", err)
	}
	if _, err := store.ReplaceTargets(ctx, t.ID, actor, demoTargets(started.In(t.Location())), setupAt); err != nil {
		return fmt.Errorf("seed demo targets: %w", err)
	}
	// The agreement predates the history, so the history carries its timers
	// and breaches (backfilled below) and past months their results.
	if _, err := store.SaveAgreement(ctx, t.ID, actor, postgres.SaveAgreementInput{Clauses: demoAgreement()}, setupAt); err != nil {
		return fmt.Errorf("seed demo agreement: %w", err)
	}
	g, err := historyGenerator(ctx, store, t, demo.Config{
		Seed: demoSeed, Now: started, Days: demoDays, Leads: demoLeads, Reps: reps,
		Marketer:      auth.Actor{Type: auth.ActorUser, ID: mara, Name: "Mara Lindqvist"},
		Qualification: demoQualification, Website: "https://www.acme.test",
	})
	if err != nil {
		return err
	}
	stats, err := store.BulkInsertLeadHistory(ctx, t.ID, g, postgres.BulkOptions{})
	if err != nil {
		return fmt.Errorf("seed demo history: %w", err)
	}
	var ns []postgres.BulkNotification
	for _, n := range g.Notifications(sam, mara) {
		ns = append(ns, postgres.BulkNotification{Notification: postgres.Notification{UserID: n.UserID, Kind: n.Kind,
			Title: n.Title, Body: n.Body, Link: n.Link, CreatedAt: n.CreatedAt}, Read: n.Read})
	}
	if err := store.CreateNotifications(ctx, t.ID, ns); err != nil {
		return fmt.Errorf("seed demo notifications: %w", err)
	}
	repNames := map[uuid.UUID]string{}
	for _, r := range reps {
		repNames[r.ID] = r.Name
	}
	if err := seedDemoContent(ctx, store, t, auth.Actor{Type: auth.ActorUser, ID: mara, Name: "Mara Lindqvist"}, repNames, setupAt, started); err != nil {
		return err
	}
	// Computing 3,600 leads' timers takes seconds: the worker does it.
	if err := store.EnqueueTimerBackfill(ctx, t.ID, "demo history"); err != nil {
		return fmt.Errorf("seed demo timers: %w", err)
	}
	logger.Info("demo tenant created", "tenant", t.Slug, "leads", stats.Leads, "rows", stats.Rows(),
		"ms", time.Since(started).Milliseconds())
	fmt.Fprintf(stdout, "Demo history: %s (%s).\n", describeStats(stats), time.Since(started).Round(time.Millisecond))
	printDemoLogins(stdout, admin)
	return nil
}

// demoAgreement is the demo's agreement: both sides' promises as a RevOps
// team would first write them down.
func demoAgreement() []sla.Clause {
	enterprise := "enterprise"
	n := func(v int) *int { return &v }
	pct := func(v float64) *float64 { return &v }
	ladder := []sla.Step{
		{AfterMinutes: 0, Notify: []string{"holder", "manager"}},
		{AfterMinutes: 240, Notify: []string{"role:admin"}},
	}
	return []sla.Clause{
		{Kind: sla.KindRespond, TargetMinutes: 240, Scope: sla.Scope{Segment: &enterprise}, Escalation: ladder},
		{Kind: sla.KindRespond, TargetMinutes: 480, Escalation: ladder},
		{Kind: sla.KindFirstTouch, TargetMinutes: 480},
		{Kind: sla.KindAttempts, Attempts: 3, TargetMinutes: 2400},
		{Kind: sla.KindRecycle, TargetMinutes: 2400},
		{Kind: sla.KindVolume, TargetCount: n(600), Period: sla.PeriodMonth},
		{Kind: sla.KindICPQuality, TargetPercent: pct(60), Period: sla.PeriodMonth},
		{Kind: sla.KindAcceptance, TargetPercent: pct(80), Period: sla.PeriodMonth},
		{Kind: sla.KindPipeline, TargetCount: n(120), Period: sla.PeriodMonth},
	}
}

// demoTargets are monthly revenue targets for the months the demo history
// covers and the next one.
func demoTargets(now time.Time) []postgres.Target {
	var out []postgres.Target
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	for m := -3; m <= 1; m++ {
		out = append(out, postgres.Target{Period: first.AddDate(0, m, 0).Format("2006-01"), Revenue: lead.Cents(2_500_000_00)})
	}
	return out
}

// historyGenerator completes cfg with tenant t's zone, segments and reason
// codes.
func historyGenerator(ctx context.Context, store *postgres.Store, t tenant.Tenant, cfg demo.Config) (*demo.Generator, error) {
	segments, err := store.FindSegments(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	reasons, err := store.FindReasons(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	cfg.Location, cfg.Segments = t.Location(), segments
	for _, r := range reasons {
		cfg.Reasons = append(cfg.Reasons, r.Code)
	}
	g, err := demo.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("history of tenant %s: %w", t.Slug, err)
	}
	return g, nil
}

func describeStats(s postgres.BulkStats) string {
	out := fmt.Sprintf("%s leads, %s transitions, %s activities, %s assignments, %s pauses",
		thousands(s.Leads), thousands(s.Transitions), thousands(s.Activities), thousands(s.Assignments), thousands(s.Pauses))
	if s.Skipped > 0 {
		out += fmt.Sprintf("; %s leads skipped (their email or external id exists)", thousands(s.Skipped))
	}
	return out
}

// thousands formats n with thousands separators: 1,000,000.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func printDemoLogins(w io.Writer, admin string) {
	fmt.Fprintf(w, "\nDemo tenant \"acme\" — every login uses the password %s\n", demoPassword)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\t%s\n", admin, tenant.RoleAdmin.Label())
	for _, u := range demoUsers {
		fmt.Fprintf(tw, "  %s\t%s\n", u.email, u.role.Label())
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
}

// syntheticOptions is what `accord seed synthetic` generates.
type syntheticOptions struct {
	Slug      string
	Leads     int
	Days      int
	Seed      uint64
	ChunkSize int
}

// syntheticReps is the size of a new synthetic tenant's sales team.
const syntheticReps = 20

// seedSynthetic adds opts.Leads leads with their history over the last
// opts.Days days to tenant opts.Slug, creating the tenant (an admin, a sales
// team with a manager and 20 reps, a marketing user; one shared, printed
// password) when it does not exist. It prints progress and a summary.
func seedSynthetic(ctx context.Context, store *postgres.Store, logger *slog.Logger, stdout io.Writer, now func() time.Time, opts syntheticOptions) error {
	started := now()
	t, err := store.FindTenantBySlug(ctx, opts.Slug)
	var cfg demo.Config
	switch {
	case errors.Is(err, postgres.ErrNotFound):
		if t, cfg, err = createSyntheticTenant(ctx, store, stdout, opts.Slug, started); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if cfg, err = syntheticStaff(ctx, store, t); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Adding to tenant %s (%s).\n", t.Slug, t.Name)
	}
	offset, err := store.CountLeads(ctx, t.ID)
	if err != nil {
		return err
	}
	q, err := store.FindQualification(ctx, t.ID)
	if err != nil {
		return err
	}
	cfg.Seed, cfg.Now, cfg.Days, cfg.Leads, cfg.Offset = opts.Seed, started, opts.Days, opts.Leads, offset
	cfg.Qualification, cfg.Website = q, "https://www."+t.Slug+".test"
	g, err := historyGenerator(ctx, store, t, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Generating %s leads over %d days (seed %d) through COPY…\n", thousands(int64(opts.Leads)), opts.Days, opts.Seed)
	stats, err := store.BulkInsertLeadHistory(ctx, t.ID, g, postgres.BulkOptions{
		ChunkSize: opts.ChunkSize,
		// Two chunks at once keep both the generator and the database
		// busy on a small machine; more rarely helps a single server.
		Workers:      min(runtime.NumCPU(), 4),
		SkipExisting: offset > 0,
		Progress: func(s postgres.BulkStats) {
			fmt.Fprintf(stdout, "  %s / %s leads, %s rows, %s\n", thousands(s.Leads+s.Skipped), thousands(int64(opts.Leads)),
				thousands(s.Rows()), s.Elapsed.Round(100*time.Millisecond))
		},
	})
	if err != nil {
		return fmt.Errorf("seed synthetic: %w", err)
	}
	elapsed := time.Since(started)
	logger.Info("synthetic history created", "tenant", t.Slug, "leads", stats.Leads, "rows", stats.Rows(), "ms", elapsed.Milliseconds())
	fmt.Fprintf(stdout, "Tenant %s: %s in %s (%s rows/s).\n", t.Slug, describeStats(stats), elapsed.Round(100*time.Millisecond),
		thousands(int64(float64(stats.Rows())/stats.Elapsed.Seconds())))
	return nil
}

// createSyntheticTenant creates tenant slug with its staff and prints the
// logins.
func createSyntheticTenant(ctx context.Context, store *postgres.Store, stdout io.Writer, slug string, now time.Time) (tenant.Tenant, demo.Config, error) {
	var cfg demo.Config
	password, err := randomPassword()
	if err != nil {
		return tenant.Tenant{}, cfg, err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return tenant.Tenant{}, cfg, err
	}
	email := func(local string) string { return local + "@" + slug + ".test" }
	admin := email("synthetic-admin")
	t, adminID, err := store.CreateTenant(ctx, tenant.Input{Slug: slug, Name: "Synthetic " + slug, TimeZone: "Europe/Berlin", Currency: "EUR"},
		postgres.AdminInput{Email: admin, Name: "Synthetic Admin", PasswordHash: hash}, now)
	if err != nil {
		return t, cfg, fmt.Errorf("create tenant %s: %w", slug, err)
	}
	actor := auth.Actor{Type: auth.ActorUser, ID: adminID, Name: "Synthetic Admin"}
	member := func(local, name string, role tenant.Role, team, manager *uuid.UUID) (uuid.UUID, error) {
		m, err := store.CreateMember(ctx, t.ID, actor, auth.InviteInput{Email: email(local), Name: name, Role: role, TeamID: team, ManagerID: manager}, hash, now)
		if err != nil {
			return uuid.Nil, fmt.Errorf("create user %s: %w", email(local), err)
		}
		return m.ID, nil
	}
	managerID, err := member("sales-manager", "Sales Manager", tenant.RoleManager, nil, nil)
	if err != nil {
		return t, cfg, err
	}
	marketerID, err := member("marketing", "Marketing Ops", tenant.RoleMarketing, nil, nil)
	if err != nil {
		return t, cfg, err
	}
	sales, err := store.CreateTeam(ctx, t.ID, actor, tenant.TeamInput{Name: "Sales", Side: tenant.SideSales, ManagerID: &managerID}, now)
	if err != nil {
		return t, cfg, fmt.Errorf("create sales team: %w", err)
	}
	mkt, err := store.CreateTeam(ctx, t.ID, actor, tenant.TeamInput{Name: "Marketing", Side: tenant.SideMarketing, ManagerID: &marketerID}, now)
	if err != nil {
		return t, cfg, fmt.Errorf("create marketing team: %w", err)
	}
	for id, team := range map[uuid.UUID]uuid.UUID{managerID: sales.ID, marketerID: mkt.ID} {
		if _, err := store.UpdateMember(ctx, t.ID, actor, id, auth.MemberUpdate{TeamID: &team}, now); err != nil {
			return t, cfg, fmt.Errorf("join team: %w", err)
		}
	}
	for k := 0; k < syntheticReps; k++ {
		name := syntheticRepNames[k%len(syntheticRepNames)]
		id, err := member(fmt.Sprintf("rep%02d", k+1), name, tenant.RoleRep, &sales.ID, &managerID)
		if err != nil {
			return t, cfg, err
		}
		cfg.Reps = append(cfg.Reps, demo.Rep{ID: id, Name: name, TeamID: sales.ID, TeamName: sales.Name, Slow: k == syntheticSlowRep})
	}
	if err := store.ReplaceRouting(ctx, t.ID, actor, lead.Routing{DefaultTeamID: &sales.ID}, now); err != nil {
		return t, cfg, fmt.Errorf("set routing: %w", err)
	}
	cfg.Marketer = auth.Actor{Type: auth.ActorUser, ID: marketerID, Name: "Marketing Ops"}
	fmt.Fprintf(stdout, "Created tenant %s. Every login uses the password %s\n", slug, password)
	fmt.Fprintf(stdout, "  %s (admin), %s (manager), %s (marketing), %s … %s (reps; %s is slow)\n",
		admin, email("sales-manager"), email("marketing"), email("rep01"), email(fmt.Sprintf("rep%02d", syntheticReps)),
		syntheticSlowEmail(slug))
	return t, cfg, nil
}

// syntheticSlowRep is the index of the synthetic tenant's slow rep.
const syntheticSlowRep = 6

func syntheticSlowEmail(slug string) string {
	return fmt.Sprintf("rep%02d@%s.test", syntheticSlowRep+1, slug)
}

var syntheticRepNames = []string{
	"Alex Brandt", "Bianca Rossi", "Chen Wei", "Diego Navarro", "Elif Kaya", "Finn Larsen", "Greta Vogel",
	"Hugo Laurent", "Ines Carvalho", "Jonas Becker", "Kenji Sato", "Lina Horvat", "Malik Evans", "Nora Lindberg",
	"Omar Haas", "Priya Ravi", "Rafael Costa", "Sofia Nowak", "Tobias Graf", "Yara Dahl",
}

// syntheticStaff finds who works the leads of an existing tenant: the
// active reps of its sales teams (the slow one is a synthetic tenant's rep07
// or the demo's Raj; other tenants have none), and a marketing user (else
// an admin).
func syntheticStaff(ctx context.Context, store *postgres.Store, t tenant.Tenant) (demo.Config, error) {
	var cfg demo.Config
	teams, err := store.FindTeams(ctx, t.ID)
	if err != nil {
		return cfg, err
	}
	salesTeams := map[uuid.UUID]string{}
	for _, tm := range teams {
		if tm.Side == tenant.SideSales {
			salesTeams[tm.ID] = tm.Name
		}
	}
	members, err := store.FindMembers(ctx, t.ID)
	if err != nil {
		return cfg, err
	}
	var admin *auth.Member
	for i, m := range members {
		if !m.Active {
			continue
		}
		switch m.Role {
		case tenant.RoleRep:
			if m.TeamID != nil && salesTeams[*m.TeamID] != "" {
				slow := m.Email == syntheticSlowEmail(t.Slug) || m.Email == demoSlowRep
				cfg.Reps = append(cfg.Reps, demo.Rep{ID: m.ID, Name: m.Name, TeamID: *m.TeamID, TeamName: salesTeams[*m.TeamID], Slow: slow})
			}
		case tenant.RoleMarketing:
			if cfg.Marketer.ID == uuid.Nil {
				cfg.Marketer = auth.Actor{Type: auth.ActorUser, ID: m.ID, Name: m.Name}
			}
		case tenant.RoleAdmin:
			if admin == nil {
				admin = &members[i]
			}
		}
	}
	if len(cfg.Reps) == 0 {
		return cfg, fmt.Errorf("tenant %s has no active reps in a sales team to own the leads: add some, or seed a new tenant", t.Slug)
	}
	if cfg.Marketer.ID == uuid.Nil {
		cfg.Marketer = auth.SystemActor
		if admin != nil {
			cfg.Marketer = auth.Actor{Type: auth.ActorUser, ID: admin.ID, Name: admin.Name}
		}
	}
	return cfg, nil
}

// randomPassword is a fresh 20-character password.
func randomPassword() (string, error) {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random password: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.EncodeToString(b)), nil
}
