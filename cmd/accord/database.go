package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accordhq/accord/internal/postgres"
)

// database is a connected Accord database: migrated, with a pool of the
// application role and a store over it.
type database struct {
	ownerURL string
	pool     *pgxpool.Pool
	store    *postgres.Store
	cluster  *postgres.Cluster // nil with DATABASE_URL
}

// openDatabase connects to DATABASE_URL, or starts (or joins) the embedded
// cluster under ACCORD_DATA, migrates when asked, and opens the app pool.
func openDatabase(ctx context.Context, cfg config, logger *slog.Logger, migrate bool, appName string) (*database, error) {
	db := &database{ownerURL: cfg.DatabaseURL}
	appURL, setRole := cfg.AppDatabaseURL, false
	if cfg.DatabaseURL == "" {
		c, err := postgres.StartCluster(ctx, postgres.ClusterOptions{Dir: cfg.DataDir, BinDir: cfg.PGBin, Logger: logger})
		if err != nil {
			if errors.Is(err, postgres.ErrNoPostgres) {
				return nil, err
			}
			return nil, fmt.Errorf("embedded PostgreSQL (ACCORD_DATA=%s): %w", cfg.DataDir, err)
		}
		db.cluster = c
		db.ownerURL = c.OwnerURL("")
		appURL = c.AppURL("")
	} else if appURL == "" {
		appURL, setRole = cfg.DatabaseURL, true
	}
	fail := func(err error) (*database, error) {
		db.close(logger)
		return nil, err
	}
	if err := waitForDatabase(ctx, db.ownerURL, cfg.DBWait, logger); err != nil {
		return fail(err)
	}
	if migrate {
		if err := postgres.Migrate(ctx, db.ownerURL, logger); err != nil {
			return fail(fmt.Errorf("%w (DATABASE_URL must name a role that owns the database)", err))
		}
	}
	pool, err := postgres.OpenPool(ctx, appURL, postgres.PoolOptions{MaxConns: cfg.DBMaxConns, SetRole: setRole, ApplicationName: appName})
	if err != nil {
		if setRole {
			err = fmt.Errorf("%w (the role of DATABASE_URL must be allowed to SET ROLE accord_app, or set APP_DATABASE_URL)", err)
		}
		return fail(err)
	}
	db.pool = pool
	store, err := postgres.NewStore(pool, logger)
	if err != nil {
		return fail(err)
	}
	db.store = store
	return db, nil
}

// waitForDatabase retries the first connection for up to wait, so Accord can
// start beside a database that is still starting (docker compose).
func waitForDatabase(ctx context.Context, url string, wait time.Duration, logger *slog.Logger) error {
	deadline := time.Now().Add(wait)
	for attempt := 1; ; attempt++ {
		pool, err := postgres.OpenPool(ctx, url, postgres.PoolOptions{MaxConns: 1, ApplicationName: "accord-wait"})
		if err == nil {
			pool.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%w: check DATABASE_URL and that the server is running", err)
		}
		if attempt == 1 {
			logger.Warn("database not reachable yet; retrying", "error", err.Error(), "for", wait.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// close releases the pool and stops the embedded cluster if this process
// started it.
func (db *database) close(logger *slog.Logger) {
	if db.pool != nil {
		db.pool.Close()
	}
	if db.cluster != nil {
		if err := db.cluster.Stop(); err != nil {
			logger.Error("stop embedded PostgreSQL", "error", err.Error())
		}
	}
}
