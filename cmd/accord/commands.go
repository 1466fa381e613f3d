package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

func runMigrate(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: accord migrate up | down N | version")
	}
	db, err := openDatabase(ctx, cfg, logger, false, "accord-migrate")
	if err != nil {
		return err
	}
	defer db.close(logger)
	switch args[0] {
	case "up":
		if err := postgres.Migrate(ctx, db.ownerURL, logger); err != nil {
			return err
		}
	case "down":
		if len(args) != 2 {
			return fmt.Errorf("usage: accord migrate down N (how many migrations to revert)")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			return fmt.Errorf("migrate down: N must be a positive number, got %q", args[1])
		}
		if err := postgres.MigrateDown(db.ownerURL, n); err != nil {
			return err
		}
	case "version":
	default:
		return fmt.Errorf("unknown migrate command %q: use up, down N or version", args[0])
	}
	v, dirty, latest, err := postgres.MigrationVersion(db.ownerURL)
	if err != nil {
		return err
	}
	state := "clean"
	if dirty {
		state = "dirty: the last migration failed half-way; fix it, then force the version"
	}
	fmt.Fprintf(stdout, "schema version %d of %d (%s)\n", v, latest, state)
	return nil
}

func runSeed(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout io.Writer) error {
	const seedUsage = "usage: accord seed demo | accord seed synthetic --tenant S --leads N --days D [--seed X]"
	if len(args) == 0 {
		return errors.New(seedUsage)
	}
	switch args[0] {
	case "demo":
		if len(args) > 1 {
			return fmt.Errorf("seed demo takes no arguments; %s", seedUsage)
		}
		db, err := openDatabase(ctx, cfg, logger, true, "accord-seed")
		if err != nil {
			return err
		}
		defer db.close(logger)
		return seedDemo(ctx, db.store, logger, stdout, time.Now)
	case "synthetic":
		fs := flag.NewFlagSet("seed synthetic", flag.ContinueOnError)
		slug := fs.String("tenant", "", "slug of the tenant to fill; created when it does not exist")
		leads := fs.Int("leads", 0, "number of leads to generate, 1 to 10,000,000")
		days := fs.Int("days", 90, "days of history, ending now, 1 to 3650")
		seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same history")
		chunk := fs.Int("chunk", 25_000, "leads per transaction")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("seed synthetic: unexpected argument %q; %s", fs.Arg(0), seedUsage)
		}
		opts := syntheticOptions{Slug: strings.ToLower(strings.TrimSpace(*slug)), Leads: *leads, Days: *days, Seed: *seed, ChunkSize: *chunk}
		var errs validator.Errors
		if opts.Slug == "" {
			errs.Add("tenant", "must name the tenant by its slug, e.g. --tenant bench")
		} else if slugErrs := (tenant.Input{Slug: opts.Slug, Name: "x", TimeZone: "UTC", Currency: "EUR"}).Validate(); slugErrs["slug"] != "" {
			errs.Add("tenant", slugErrs["slug"])
		}
		errs.Check(opts.Leads >= 1 && opts.Leads <= 10_000_000, "leads", "must be from 1 to 10,000,000")
		errs.Check(opts.Days >= 1 && opts.Days <= 3650, "days", "must be from 1 to 3650")
		errs.Check(opts.ChunkSize >= 1 && opts.ChunkSize <= 1_000_000, "chunk", "must be from 1 to 1,000,000")
		if errs != nil {
			return fmt.Errorf("seed synthetic: %s", flagErrors(errs))
		}
		db, err := openDatabase(ctx, cfg, logger, true, "accord-seed")
		if err != nil {
			return err
		}
		defer db.close(logger)
		return seedSynthetic(ctx, db.store, logger, stdout, time.Now, opts)
	}
	return fmt.Errorf("unknown seed %q; %s", args[0], seedUsage)
}

func runTenant(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: accord tenant create --slug S --name N --time-zone Z --currency C --admin-email E --admin-password P")
	}
	fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
	slug := fs.String("slug", "", "short name used in URLs and commands, e.g. acme")
	name := fs.String("name", "", "company name")
	tz := fs.String("time-zone", "UTC", "IANA time zone, e.g. Europe/Berlin")
	currency := fs.String("currency", "EUR", "ISO 4217 currency code")
	adminEmail := fs.String("admin-email", "", "email of the first admin")
	adminName := fs.String("admin-name", "", "name of the first admin (default: the email's local part)")
	adminPassword := fs.String("admin-password", "", "password of the first admin (at least 12 characters)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	in := tenant.Input{Slug: *slug, Name: *name, TimeZone: *tz, Currency: *currency}
	in.Normalize()
	errs := in.Validate()
	email := validator.NormalizeEmail(*adminEmail)
	errs.Check(validator.ValidEmail(email), "admin-email", "must be a valid address")
	errs.Check(len([]rune(*adminPassword)) >= auth.MinPasswordLen, "admin-password", "must be at least 12 characters")
	if errs != nil {
		return fmt.Errorf("tenant create: %s", flagErrors(errs))
	}
	if *adminName == "" {
		*adminName, _, _ = strings.Cut(email, "@")
	}
	hash, err := auth.HashPassword(*adminPassword)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, logger, true, "accord-cli")
	if err != nil {
		return err
	}
	defer db.close(logger)
	t, _, err := db.store.CreateTenant(ctx, in, postgres.AdminInput{Email: email, Name: *adminName, PasswordHash: hash}, time.Now())
	if err != nil {
		var verrs validator.Errors
		if errors.As(err, &verrs) {
			return fmt.Errorf("tenant create: %s", flagErrors(verrs))
		}
		return err
	}
	fmt.Fprintf(stdout, "Created tenant %s (%s), id %s, with admin %s.\n", t.Slug, t.Name, t.ID, email)
	return nil
}

func runToken(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: accord token create --tenant S --scope ingest|read|admin --name N")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	slug := fs.String("tenant", "", "slug of the tenant")
	scope := fs.String("scope", "", "ingest, read or admin")
	name := fs.String("name", "", "what the token is for, e.g. HubSpot sync")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	in := auth.TokenInput{Name: *name, Scope: auth.Scope(*scope)}
	in.Normalize()
	errs := in.Validate()
	errs.Check(*slug != "", "tenant", "must name a tenant by its slug")
	if errs != nil {
		return fmt.Errorf("token create: %s", flagErrors(errs))
	}
	db, err := openDatabase(ctx, cfg, logger, true, "accord-cli")
	if err != nil {
		return err
	}
	defer db.close(logger)
	t, err := db.store.FindTenantBySlug(ctx, strings.ToLower(*slug))
	if errors.Is(err, postgres.ErrNotFound) {
		return fmt.Errorf("token create: no tenant with slug %q", *slug)
	}
	if err != nil {
		return err
	}
	plain, hash := auth.NewAPIToken(t.ID)
	actor := auth.Actor{Type: auth.ActorSystem, Name: "command line"}
	if _, err := db.store.CreateAPIToken(ctx, t.ID, actor, in, hash, auth.TokenHint(plain), time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created %s token %q for tenant %s. It is shown only once:\n%s\n", in.Scope, in.Name, t.Slug, plain)
	return nil
}

// flagErrors phrases field errors in terms of command-line flags.
func flagErrors(errs validator.Errors) string {
	var parts []string
	for _, k := range errs.Fields() {
		parts = append(parts, "--"+strings.ReplaceAll(k, "_", "-")+" "+errs[k])
	}
	return strings.Join(parts, "; ")
}
