// Package postgrestest gives tests real PostgreSQL databases: a throwaway
// embedded cluster per test binary (or TEST_DATABASE_URL), a template
// database migrated once, and a fresh clone of it per test (~20 ms). Tests
// connect as the application role, bound by row-level security like the app.
package postgrestest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/migrations"
)

// server is the cluster all tests of this binary share.
type server struct {
	cluster  *postgres.Cluster // nil with TEST_DATABASE_URL
	ownerURL func(db string) string
	appURL   func(db string) string
	setRole  bool // app connections use SET ROLE (TEST_DATABASE_URL)
	template string
}

var (
	once    sync.Once
	srv     *server
	srvErr  error
	tempDir string
)

// Main runs the tests of a package and then stops the cluster it started.
// Call it from TestMain: func TestMain(m *testing.M) { postgrestest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if srv != nil && srv.cluster != nil {
		if err := srv.cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "postgrestest:", err)
		}
	}
	if tempDir != "" {
		_ = os.RemoveAll(tempDir)
	}
	os.Exit(code)
}

func start() (*server, error) {
	ctx := context.Background()
	s := &server{}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		s.ownerURL = func(db string) string { return withDatabase(u, db) }
		s.appURL = s.ownerURL
		s.setRole = true
	} else {
		dir, err := os.MkdirTemp("", "accord-test-pg-")
		if err != nil {
			return nil, fmt.Errorf("temp dir: %w", err)
		}
		tempDir = dir
		// MkdirTemp makes the folder 0700; as root the cluster runs as the
		// postgres user, who must be able to enter it.
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, fmt.Errorf("chmod temp dir: %w", err)
		}
		c, err := postgres.StartCluster(ctx, postgres.ClusterOptions{
			Dir:       dir,
			BinDir:    os.Getenv("ACCORD_PG_BIN"),
			Ephemeral: true,
			Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			return nil, fmt.Errorf("start throwaway cluster (or set TEST_DATABASE_URL): %w", err)
		}
		s.cluster = c
		s.ownerURL = c.OwnerURL
		s.appURL = c.AppURL
	}
	if err := s.prepareTemplate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// prepareTemplate migrates a template database named after the migrations'
// content, so a changed migration gets a new template.
func (s *server) prepareTemplate(ctx context.Context) error {
	s.template = "accord_tmpl_" + migrationsHash()
	conn, err := pgx.Connect(ctx, s.ownerURL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to test cluster: %w", err)
	}
	defer conn.Close(ctx)
	// Several test binaries may share a TEST_DATABASE_URL server.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(727272)`); err != nil {
		return fmt.Errorf("lock template: %w", err)
	}
	defer func() { _, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock(727272)`) }()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, s.template).Scan(&exists); err != nil {
		return fmt.Errorf("look up template: %w", err)
	}
	if exists {
		return nil
	}
	building := s.template + "_build"
	_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+building+` WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+building); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	if err := postgres.Migrate(ctx, s.ownerURL(building), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+building+` RENAME TO `+s.template); err != nil {
		return fmt.Errorf("rename template: %w", err)
	}
	return nil
}

func migrationsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + db
	return u.String()
}

// DB is one test's own database.
type DB struct {
	Name string
	// OwnerURL connects as the schema owner (for catalog checks and
	// fixtures that must bypass the app's rules). AppURL is the app role.
	OwnerURL string
	AppURL   string
	// SetRole is true when AppURL logs in as the owner and the app role is
	// reached by SET ROLE (TEST_DATABASE_URL).
	SetRole bool
	// Pool connects as the application role.
	Pool  *pgxpool.Pool
	Store *postgres.Store
}

// NewDB returns a fresh database cloned from the migrated template, with a
// store connected as the application role. It is dropped when t ends.
func NewDB(t testing.TB) *DB {
	t.Helper()
	once.Do(func() { srv, srvErr = start() })
	if srvErr != nil {
		t.Fatalf("postgrestest: %v", srvErr)
	}
	ctx := context.Background()
	name := "accord_test_" + randomSuffix()
	conn, err := pgx.Connect(ctx, srv.ownerURL("postgres"))
	if err != nil {
		t.Fatalf("postgrestest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE `+srv.template+` STRATEGY FILE_COPY`); err != nil {
		t.Fatalf("postgrestest: clone template: %v", err)
	}
	db := &DB{Name: name, OwnerURL: srv.ownerURL(name), AppURL: srv.appURL(name), SetRole: srv.setRole}
	pool, err := postgres.OpenPool(ctx, db.AppURL, postgres.PoolOptions{MaxConns: 8, SetRole: srv.setRole, ApplicationName: "accord-test"})
	if err != nil {
		t.Fatalf("postgrestest: open pool: %v", err)
	}
	db.Pool = pool
	store, err := postgres.NewStore(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("postgrestest: store: %v", err)
	}
	db.Store = store
	t.Cleanup(func() {
		pool.Close()
		c, err := pgx.Connect(context.Background(), srv.ownerURL("postgres"))
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	return db
}

// OwnerConn returns a connection as the schema owner, closed when t ends.
func (db *DB) OwnerConn(t testing.TB) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), db.OwnerURL)
	if err != nil {
		t.Fatalf("postgrestest: owner connection: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
