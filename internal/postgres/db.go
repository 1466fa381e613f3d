// Package postgres is Accord's store: hand-written SQL, one transaction per
// store method, tenant scoping with row-level security underneath, and the
// embedded default PostgreSQL cluster.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/accordhq/accord/migrations"
)

// RiverSchema is the schema River's job tables live in, apart from Accord's.
const RiverSchema = "river"

// AppRole is the database role the application acts as.
const AppRole = "accord_app"

// PoolOptions configures a connection pool.
type PoolOptions struct {
	// MaxConns caps the pool; 0 keeps pgx's default (max(4, CPUs)).
	MaxConns int32
	// SetRole switches every connection to the application role. It is for
	// a DATABASE_URL that logs in as the owner: the app then still acts as a
	// role that owns nothing and cannot bypass row-level security.
	SetRole bool
	// ApplicationName shows in pg_stat_activity.
	ApplicationName string
}

// OpenPool connects to url and checks the connection.
func OpenPool(ctx context.Context, url string, opts PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.ApplicationName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = opts.ApplicationName
	}
	setRole := opts.SetRole
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		registerUUIDCodec(c)
		if !setRole {
			return nil
		}
		_, err := c.Exec(ctx, "SET ROLE "+AppRole)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", redact(url), err)
	}
	return pool, nil
}

// redact hides the password of a connection URL for messages.
func redact(url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "the database"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// Migrate applies every pending migration (Accord's, then River's) as the
// owner role at url. It is safe to run from several processes at once:
// golang-migrate and River both take a lock.
func Migrate(ctx context.Context, url string, logger *slog.Logger) error {
	m, closeFn, err := newMigrator(url)
	if err != nil {
		return err
	}
	defer closeFn()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate up: %w", err)
	}
	return migrateRiver(ctx, url, logger)
}

// MigrateDown reverts the last n of Accord's migrations. River's schema stays.
func MigrateDown(url string, n int) error {
	m, closeFn, err := newMigrator(url)
	if err != nil {
		return err
	}
	defer closeFn()
	if err := m.Steps(-n); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// MigrationVersion reports the applied version, whether the last migration
// failed half-way (dirty), and the newest version this binary carries.
func MigrationVersion(url string) (version uint, dirty bool, latest uint, err error) {
	m, closeFn, err := newMigrator(url)
	if err != nil {
		return 0, false, 0, err
	}
	defer closeFn()
	version, dirty, err = m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		err = nil
	}
	if err != nil {
		return 0, false, 0, fmt.Errorf("migration version: %w", err)
	}
	return version, dirty, LatestMigration(), nil
}

// LatestMigration is the number of the newest embedded migration.
func LatestMigration() uint {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return 0
	}
	var latest uint
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(num, 10, 32)
		if err == nil && uint(n) > latest {
			latest = uint(n)
		}
	}
	return latest
}

// MigrationsCurrent reports whether the database the app pool reaches has
// every migration this binary carries, cleanly applied. It reads the
// schema_migrations table directly so the app role needs no owner rights.
func MigrationsCurrent(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var version int64
	var dirty bool
	err := pool.QueryRow(ctx, `SELECT version, dirty FROM public.schema_migrations LIMIT 1`).Scan(&version, &dirty)
	if err != nil {
		return false, fmt.Errorf("read migration version: %w", err)
	}
	return !dirty && uint(version) == LatestMigration(), nil
}

func newMigrator(url string) (*migrate.Migrate, func(), error) {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return nil, nil, fmt.Errorf("open embedded migrations: %w", err)
	}
	connCfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, nil, fmt.Errorf("parse database url: %w", err)
	}
	db := stdlib.OpenDB(*connCfg)
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("connect for migrations to %s: %w", redact(url), err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("prepare migrations: %w", err)
	}
	return m, func() { _, _ = m.Close(); closeQuietly(db) }, nil
}

func closeQuietly(db *sql.DB) { _ = db.Close() }

func migrateRiver(ctx context.Context, url string, logger *slog.Logger) error {
	pool, err := OpenPool(ctx, url, PoolOptions{MaxConns: 2, ApplicationName: "accord-migrate"})
	if err != nil {
		return err
	}
	defer pool.Close()
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: RiverSchema, Logger: logger})
	if err != nil {
		return fmt.Errorf("prepare river migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	return nil
}
