package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
)

// demoPassword is the password of every demo login, printed at start.
const demoPassword = "accord-demo-2026"

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

// seedDemo creates the demo tenant "acme": an admin (RevOps), a marketing
// user, a sales manager, three reps and a viewer, a sales and a marketing
// team on the default Mon–Fri calendar. It prints the logins. An existing
// demo tenant is left as it is.
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
	hash, err := auth.HashPassword(demoPassword)
	if err != nil {
		return err
	}
	t, adminID, err := store.CreateTenant(ctx, tenant.Input{Slug: "acme", Name: "Acme Analytics", TimeZone: "Europe/Berlin", Currency: "EUR"},
		postgres.AdminInput{Email: admin, Name: "Rita Okoye", PasswordHash: hash}, now())
	if err != nil {
		return fmt.Errorf("seed demo tenant: %w", err)
	}
	actor := auth.Actor{Type: auth.ActorUser, ID: adminID, Name: "Rita Okoye"}
	members := map[string]uuid.UUID{}
	for _, u := range demoUsers {
		m, err := store.CreateMember(ctx, t.ID, actor, auth.InviteInput{Email: u.email, Name: u.name, Role: u.role}, hash, now())
		if err != nil {
			return fmt.Errorf("seed demo user %s: %w", u.email, err)
		}
		members[u.email] = m.ID
	}
	sam, mara := members["sam@acme.test"], members["mara@acme.test"]
	teams := map[string]uuid.UUID{}
	for key, in := range map[string]tenant.TeamInput{
		"sales":     {Name: "Sales", Side: tenant.SideSales, ManagerID: &sam},
		"marketing": {Name: "Marketing", Side: tenant.SideMarketing, ManagerID: &mara},
	} {
		tm, err := store.CreateTeam(ctx, t.ID, actor, in, now())
		if err != nil {
			return fmt.Errorf("seed demo team %s: %w", in.Name, err)
		}
		teams[key] = tm.ID
	}
	for _, u := range demoUsers {
		if u.team == "" {
			continue
		}
		team := teams[u.team]
		upd := auth.MemberUpdate{TeamID: &team}
		if u.role == tenant.RoleRep {
			upd.ManagerID = &sam
		}
		if _, err := store.UpdateMember(ctx, t.ID, actor, members[u.email], upd, now()); err != nil {
			return fmt.Errorf("seed demo team membership %s: %w", u.email, err)
		}
	}
	logger.Info("demo tenant created", "tenant", t.Slug)
	printDemoLogins(stdout, admin)
	return nil
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
