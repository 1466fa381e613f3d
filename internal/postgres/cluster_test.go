package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/postgres"
)

func startCluster(t *testing.T, dir string) *postgres.Cluster {
	t.Helper()
	c, err := postgres.StartCluster(context.Background(), postgres.ClusterOptions{
		Dir: dir, BinDir: os.Getenv("ACCORD_PG_BIN"), Ephemeral: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	return c
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), sql)
	require.NoError(t, err)
}

// TestCluster_StartJoinRestart: a first start creates and starts the
// cluster; a second process joins the running one without owning it; a
// restart reuses the data.
func TestCluster_StartJoinRestart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	first := startCluster(t, dir)
	t.Cleanup(func() {
		_ = first.Stop()
		_ = os.RemoveAll(first.DataDir())
	})
	require.True(t, first.Started())
	exec(t, first.OwnerURL(""), `CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)`)

	joined := startCluster(t, dir)
	require.False(t, joined.Started(), "the second process uses the running cluster")
	require.Equal(t, first.Port(), joined.Port())
	require.NoError(t, joined.Stop(), "stopping a joined cluster leaves it running")
	exec(t, first.OwnerURL(""), `SELECT 1`)

	require.NoError(t, first.Stop())
	_, err := os.Stat(filepath.Join(first.DataDir(), "postmaster.pid"))
	require.ErrorIs(t, err, os.ErrNotExist, "the server is stopped")

	again := startCluster(t, dir)
	t.Cleanup(func() { _ = again.Stop() })
	require.True(t, again.Started())
	conn, err := pgx.Connect(context.Background(), again.OwnerURL(""))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var v int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT v FROM kept`).Scan(&v))
	require.Equal(t, 42, v)

	// The app role cannot log in as a superuser or create databases.
	var super, createdb bool
	app, err := pgx.Connect(context.Background(), again.AppURL(""))
	require.NoError(t, err)
	defer app.Close(context.Background())
	require.NoError(t, app.QueryRow(context.Background(), `SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user`).Scan(&super, &createdb))
	require.False(t, super)
	require.False(t, createdb)
}

// TestCluster_UnreachableDataFolder: as root inside a folder only root may
// enter, the cluster lives where the postgres user can reach it.
func TestCluster_UnreachableDataFolder(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root runs the cluster as another user; as any other user the data folder is the user's own")
	}
	private := t.TempDir()
	require.NoError(t, os.Chmod(private, 0o700))
	dir := filepath.Join(private, "checkout", ".accord")
	c := startCluster(t, dir)
	t.Cleanup(func() {
		_ = c.Stop()
		_ = os.RemoveAll(c.DataDir())
	})
	require.False(t, strings.HasPrefix(c.DataDir(), private), "pgdata %s must be outside the private folder", c.DataDir())
	exec(t, c.OwnerURL(""), `SELECT 1`)
}

func TestCluster_NoBinaries(t *testing.T) {
	t.Parallel()
	_, err := postgres.StartCluster(context.Background(), postgres.ClusterOptions{Dir: t.TempDir(), BinDir: t.TempDir()})
	require.Error(t, err)
	require.Contains(t, err.Error(), "ACCORD_PG_BIN")
	require.Contains(t, err.Error(), "does not hold initdb, pg_ctl and postgres")
	require.Contains(t, postgres.ErrNoPostgres.Error(), "apt-get install postgresql")
	require.Contains(t, postgres.ErrNoPostgres.Error(), "DATABASE_URL")
}

func TestCluster_SharedBuffersFollowMemory(t *testing.T) {
	const gb = int64(1) << 30
	for _, tc := range []struct {
		mem  int64
		want string
	}{
		{0, "256MB"},      // unknown
		{gb, "256MB"},     // the floor
		{4 * gb, "512MB"}, // an eighth
		{8 * gb, "1024MB"},
		{24 * gb, "2048MB"}, // the cap
		{256 * gb, "2048MB"},
	} {
		if got := postgres.SharedBuffers(tc.mem); got != tc.want {
			t.Errorf("SharedBuffers(%d GB) = %s, want %s", tc.mem/gb, got, tc.want)
		}
	}
}
