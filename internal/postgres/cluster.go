package postgres

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Role and database names inside a cluster Accord created itself.
const (
	clusterSuperuser = "accord_admin"
	clusterOwner     = "accord_owner"
	clusterApp       = "accord_app"
	clusterDatabase  = "accord"
)

// ClusterOptions configures the embedded PostgreSQL cluster.
type ClusterOptions struct {
	// Dir is Accord's data folder (ACCORD_DATA). The cluster lives in Dir/pg
	// unless the postgres system user cannot reach it.
	Dir string
	// BinDir names the folder with initdb, pg_ctl and postgres; empty means
	// search PATH and the usual install folders.
	BinDir string
	// Ephemeral trades durability for speed (fsync off): for test clusters.
	Ephemeral bool
	// Logger receives what the cluster does; nil discards.
	Logger *slog.Logger
}

// Cluster is a private PostgreSQL cluster that Accord runs from the server
// binaries installed on the machine.
type Cluster struct {
	opts    ClusterOptions
	binDir  string
	state   clusterState
	port    int
	started bool // this process started the server, so it stops it
	runAs   *syscall.Credential
	logger  *slog.Logger
}

// clusterState is kept in Dir/cluster.json (mode 0600): where the data
// directory is and the generated passwords of the cluster's roles.
type clusterState struct {
	PGData            string `json:"pgdata"`
	SuperuserPassword string `json:"superuser_password"`
	OwnerPassword     string `json:"owner_password"`
	AppPassword       string `json:"app_password"`
}

// ErrNoPostgres reports that no PostgreSQL server binaries were found. Its
// message says what to install or which variable to set.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in PATH " +
	"or the usual install folders (/usr/lib/postgresql/*/bin, /usr/pgsql-*/bin, /opt/homebrew/opt/postgresql@*/bin, " +
	"/usr/local/opt/postgresql@*/bin, /usr/local/pgsql/bin). Install the PostgreSQL server " +
	"(Debian/Ubuntu: apt-get install postgresql; Fedora/RHEL: dnf install postgresql-server; macOS: brew install postgresql@16), " +
	"or set ACCORD_PG_BIN to the folder that holds them, or set DATABASE_URL to use a PostgreSQL server you run yourself")

// StartCluster creates the cluster on first use, starts it unless it already
// runs (another Accord process on the same data folder started it), and
// makes sure its roles and database exist. Stop stops it again if this call
// started it.
func StartCluster(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	opts.Dir = dir
	binDir, err := findPostgresBin(opts.BinDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, binDir: binDir, logger: logger}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root; the cluster runs as the postgres user.
		cred, err := postgresCredential()
		if err != nil {
			return nil, err
		}
		c.runAs = cred
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder %s: %w", dir, err)
	}
	unlock, err := lockFile(filepath.Join(dir, "cluster.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	if err := c.loadOrCreateState(); err != nil {
		return nil, err
	}
	if err := c.initIfNeeded(ctx); err != nil {
		return nil, err
	}
	if err := c.startIfNeeded(ctx); err != nil {
		return nil, err
	}
	if err := c.bootstrap(ctx); err != nil {
		if c.started {
			_ = c.stopServer()
		}
		return nil, err
	}
	return c, nil
}

// DataDir is the cluster's data directory (PGDATA).
func (c *Cluster) DataDir() string { return c.state.PGData }

// Port is the loopback TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// Started reports whether this process started the server.
func (c *Cluster) Started() bool { return c.started }

// OwnerURL is the connection URL of the role that owns Accord's schema and
// runs migrations, for database db ("" means Accord's own).
func (c *Cluster) OwnerURL(db string) string {
	return c.url(clusterOwner, c.state.OwnerPassword, db)
}

// AppURL is the connection URL of the application role, which owns nothing
// and is bound by row-level security.
func (c *Cluster) AppURL(db string) string {
	return c.url(clusterApp, c.state.AppPassword, db)
}

// SuperuserURL is the connection URL of the cluster's superuser. Only cluster
// maintenance uses it; the application never does.
func (c *Cluster) SuperuserURL(db string) string {
	return c.url(clusterSuperuser, c.state.SuperuserPassword, db)
}

func (c *Cluster) url(role, password, db string) string {
	if db == "" {
		db = clusterDatabase
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(role, password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop stops the server if this process started it; a cluster another
// process started keeps running for that process.
func (c *Cluster) Stop() error {
	if !c.started {
		return nil
	}
	c.started = false
	return c.stopServer()
}

func (c *Cluster) stopServer() error {
	out, err := c.command(c.bin("pg_ctl"), "stop", "-D", c.state.PGData, "-m", "fast", "-w", "-t", "30").CombinedOutput()
	if err != nil {
		return fmt.Errorf("stop postgres: %w: %s", err, strings.TrimSpace(string(out)))
	}
	c.logger.Info("embedded PostgreSQL stopped", "pgdata", c.state.PGData)
	return nil
}

func (c *Cluster) bin(name string) string { return filepath.Join(c.binDir, name) }

// command builds a command that runs as the postgres user when Accord runs
// as root, from a working folder that user can enter.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	if c.runAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.runAs}
	}
	return cmd
}

func (c *Cluster) loadOrCreateState() error {
	path := filepath.Join(c.opts.Dir, "cluster.json")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &c.state); err != nil {
			return fmt.Errorf("read %s: %w (delete the data folder to start afresh)", path, err)
		}
		return c.prepareDataDir(c.state.PGData)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("read %s: %w", path, err)
	}
	c.state = clusterState{
		SuperuserPassword: randomPassword(),
		OwnerPassword:     randomPassword(),
		AppPassword:       randomPassword(),
	}
	pgdata, err := c.chooseDataDir()
	if err != nil {
		return err
	}
	c.state.PGData = pgdata
	b, err = json.MarshalIndent(c.state, "", "  ")
	if err != nil {
		return fmt.Errorf("encode cluster state: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// chooseDataDir returns Dir/pg when the cluster's user can reach it. As root
// inside a folder only root may enter (a checkout under a mode-700 folder),
// the postgres user cannot, so the cluster moves to a folder it can reach,
// named after Dir so each data folder keeps its own cluster.
func (c *Cluster) chooseDataDir() (string, error) {
	preferred := filepath.Join(c.opts.Dir, "pg")
	if c.runAs == nil {
		return preferred, c.prepareDataDir(preferred)
	}
	// The data folder holds cluster.json with passwords (mode 0600), so it
	// may be traversable without being listable.
	if err := os.Chmod(c.opts.Dir, 0o711); err != nil {
		return "", fmt.Errorf("chmod data folder: %w", err)
	}
	if err := c.prepareDataDir(preferred); err == nil && c.reachable(preferred) {
		return preferred, nil
	}
	_ = os.RemoveAll(preferred)
	sum := sha256.Sum256([]byte(c.opts.Dir))
	name := "accord-" + hex.EncodeToString(sum[:6])
	for _, base := range []string{"/var/lib/accord", filepath.Join(os.TempDir(), "accord-clusters")} {
		if err := os.MkdirAll(base, 0o755); err != nil {
			continue
		}
		_ = os.Chmod(base, 0o755)
		alt := filepath.Join(base, name)
		if err := c.prepareDataDir(alt); err != nil || !c.reachable(alt) {
			continue
		}
		c.logger.Warn("the postgres system user cannot reach the data folder; the embedded cluster lives elsewhere",
			"data_folder", c.opts.Dir, "pgdata", alt)
		return alt, nil
	}
	return "", fmt.Errorf("no folder the postgres system user can write was found for the embedded cluster " +
		"(tried the data folder, /var/lib/accord and the temp folder); set ACCORD_DATA to a folder outside any mode-700 folder")
}

// prepareDataDir creates dir with mode 0700, owned by the cluster's user.
func (c *Cluster) prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create cluster folder %s: %w", dir, err)
	}
	if c.runAs != nil {
		if err := os.Chown(dir, int(c.runAs.Uid), int(c.runAs.Gid)); err != nil {
			return fmt.Errorf("chown cluster folder %s: %w", dir, err)
		}
	}
	return nil
}

// reachable asks the cluster's user itself whether it can enter and write dir:
// simpler and more exact than reasoning about every ancestor's mode and ACLs.
func (c *Cluster) reachable(dir string) bool {
	cmd := c.command("/bin/sh", "-c", `cd "$1" && test -w .`, "sh", dir)
	return cmd.Run() == nil
}

func (c *Cluster) initIfNeeded(ctx context.Context) error {
	pgdata := c.state.PGData
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); err == nil {
		return c.checkVersion()
	}
	c.logger.Info("creating embedded PostgreSQL cluster", "pgdata", pgdata, "bin", c.binDir)
	// initdb reads the superuser password from a file the cluster's user
	// can open; it is removed right after.
	pw, err := os.CreateTemp("", "accord-pw-")
	if err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	defer os.Remove(pw.Name())
	_, werr := pw.WriteString(c.state.SuperuserPassword + "\n")
	if cerr := pw.Close(); werr != nil || cerr != nil {
		return fmt.Errorf("write password file: %w", errors.Join(werr, cerr))
	}
	if c.runAs != nil {
		if err := os.Chown(pw.Name(), int(c.runAs.Uid), int(c.runAs.Gid)); err != nil {
			return fmt.Errorf("chown password file: %w", err)
		}
	}
	cmd := c.command(c.bin("initdb"),
		"-D", pgdata,
		"-U", clusterSuperuser,
		"--pwfile="+pw.Name(),
		"--auth-local=scram-sha-256",
		"--auth-host=scram-sha-256",
		"-E", "UTF8",
		"--locale=C",
		"--no-instructions",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (c *Cluster) checkVersion() error {
	b, err := os.ReadFile(filepath.Join(c.state.PGData, "PG_VERSION"))
	if err != nil {
		return fmt.Errorf("read PG_VERSION: %w", err)
	}
	dataVersion := strings.TrimSpace(string(b))
	out, err := exec.Command(c.bin("pg_ctl"), "--version").Output()
	if err != nil {
		return fmt.Errorf("pg_ctl --version: %w", err)
	}
	binVersion := majorVersion(string(out))
	if binVersion != "" && binVersion != dataVersion {
		return fmt.Errorf("the embedded cluster in %s was made by PostgreSQL %s but the binaries in %s are version %s: "+
			"set ACCORD_PG_BIN to PostgreSQL %s's bin folder, or move the data folder aside to start afresh",
			c.state.PGData, dataVersion, c.binDir, binVersion, dataVersion)
	}
	return nil
}

// runningPort returns the port of a server already running on the data
// directory, read from postmaster.pid, or 0.
func (c *Cluster) runningPort() int {
	if err := c.command(c.bin("pg_ctl"), "status", "-D", c.state.PGData).Run(); err != nil {
		return 0
	}
	f, err := os.Open(filepath.Join(c.state.PGData, "postmaster.pid"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 1; sc.Scan(); i++ {
		if i == 4 {
			p, _ := strconv.Atoi(strings.TrimSpace(sc.Text()))
			return p
		}
	}
	return 0
}

// bulkWriteSettings size the embedded cluster for bulk writes (CSV imports,
// demo data) rather than PostgreSQL's small defaults: checkpoints far
// enough apart that a million-row import does not write every page
// several times over (the buffer cache is sharedBuffers). synchronous_commit
// stays on: the application's commits are durable (only the import's
// batches relax it, per transaction, see importBatchSettings).
var bulkWriteSettings = []string{
	"-c max_wal_size=4GB",
	"-c checkpoint_timeout=15min",
	"-c wal_compression=on",
}

// sharedBuffers sizes the buffer cache for a machine with mem bytes of
// memory: an eighth of it, from 256MB (also when mem is unknown) to 2GB.
// A million-lead tenant's hot index pages are more than the 256MB this
// used to be: loading one evicted and rewrote pages all along, and took
// about a tenth longer than with 2GB (seed synthetic, 1,000,000 leads).
// PostgreSQL's memory is touched as it is used, so a cluster that holds
// little (a test's) costs little.
func sharedBuffers(mem int64) string {
	mb := min(max(mem/8>>20, 256), 2048)
	return strconv.FormatInt(mb, 10) + "MB"
}

// physicalMemory is the machine's memory in bytes (MemTotal of
// /proc/meminfo), 0 if unknown.
func physicalMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

func (c *Cluster) startIfNeeded(ctx context.Context) error {
	if p := c.runningPort(); p != 0 {
		c.port = p
		c.logger.Info("using the embedded PostgreSQL cluster already running", "pgdata", c.state.PGData, "port", p)
		return nil
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		settings := []string{
			"-p " + strconv.Itoa(port),
			"-c listen_addresses=127.0.0.1",
			"-c unix_socket_directories=''",
			"-c max_connections=200",
		}
		settings = append(settings, "-c shared_buffers="+sharedBuffers(physicalMemory()))
		settings = append(settings, bulkWriteSettings...)
		if c.opts.Ephemeral {
			settings = append(settings, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
		}
		logPath := filepath.Join(c.state.PGData, "server.log")
		out, err := c.command(c.bin("pg_ctl"), "start", "-D", c.state.PGData, "-w", "-t", "60",
			"-l", logPath, "-o", strings.Join(settings, " ")).CombinedOutput()
		if err == nil {
			c.port = port
			c.started = true
			c.logger.Info("embedded PostgreSQL started", "pgdata", c.state.PGData, "port", port, "log", logPath)
			return nil
		}
		lastErr = fmt.Errorf("start postgres: %w: %s (see %s)", err, strings.TrimSpace(string(out)), logPath)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return lastErr
}

// bootstrap creates the owner and application roles and Accord's database
// when they do not exist yet.
func (c *Cluster) bootstrap(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.SuperuserURL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to embedded cluster: %w", err)
	}
	defer conn.Close(context.Background())
	roles := []struct{ name, password, attrs string }{
		{clusterOwner, c.state.OwnerPassword, "LOGIN CREATEDB NOSUPERUSER"},
		{clusterApp, c.state.AppPassword, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"},
	}
	for _, r := range roles {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)`, r.name).Scan(&exists); err != nil {
			return fmt.Errorf("look up role %s: %w", r.name, err)
		}
		verb := "ALTER"
		if !exists {
			verb = "CREATE"
		}
		// Role names are constants; the password is quoted as a literal.
		sql := fmt.Sprintf(`%s ROLE %s %s PASSWORD %s`, verb, r.name, r.attrs, quoteLiteral(r.password))
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s role %s: %w", strings.ToLower(verb), r.name, err)
		}
	}
	// The owner may hand accord_app to the databases it creates (test clones).
	if _, err := conn.Exec(ctx, fmt.Sprintf(`GRANT %s TO %s`, clusterApp, clusterOwner)); err != nil {
		return fmt.Errorf("grant app role to owner: %w", err)
	}
	var dbExists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, clusterDatabase).Scan(&dbExists); err != nil {
		return fmt.Errorf("look up database: %w", err)
	}
	if !dbExists {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s OWNER %s`, clusterDatabase, clusterOwner)); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
	}
	return nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func randomPassword() string {
	// Hex keeps the password safe inside URLs and SQL literals.
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return hex.EncodeToString(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, the embedded cluster must run as the 'postgres' system user, " +
			"which does not exist: install the PostgreSQL server package (it creates the user), run Accord as another user, " +
			"or set DATABASE_URL")
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres uid: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres gid: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// findPostgresBin returns the folder holding initdb, pg_ctl and postgres:
// the one given, else PATH, else the usual folders of Debian, Red Hat and
// Homebrew packages (newest version first).
func findPostgresBin(given string) (string, error) {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if given != "" {
		if !has(given) {
			return "", fmt.Errorf("ACCORD_PG_BIN=%s does not hold initdb, pg_ctl and postgres", given)
		}
		return given, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if dir := filepath.Dir(p); has(dir) {
			return dir, nil
		}
	}
	var candidates []string
	for _, pattern := range []string{
		"/usr/lib/postgresql/*/bin",
		"/usr/pgsql-*/bin",
		"/opt/homebrew/opt/postgresql@*/bin",
		"/usr/local/opt/postgresql@*/bin",
	} {
		matches, _ := filepath.Glob(pattern)
		sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
		candidates = append(candidates, matches...)
	}
	candidates = append(candidates, "/opt/homebrew/opt/postgresql/bin", "/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/local/bin")
	if runtime.GOOS == "darwin" {
		candidates = append(candidates, "/Applications/Postgres.app/Contents/Versions/latest/bin")
	}
	for _, dir := range candidates {
		if has(dir) {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

// versionOf extracts the major version number from a folder such as
// /usr/lib/postgresql/16/bin, for sorting newest first.
func versionOf(path string) int {
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r < '0' || r > '9' }) {
		if n, err := strconv.Atoi(part); err == nil && n >= 9 {
			return n
		}
	}
	return 0
}

// majorVersion reads "pg_ctl (PostgreSQL) 15.18" as "15".
func majorVersion(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	v := f[len(f)-1]
	major, _, _ := strings.Cut(v, ".")
	return major
}

// lockFile takes an exclusive lock so that two Accord processes sharing a data
// folder do not create or start the cluster at the same time.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
