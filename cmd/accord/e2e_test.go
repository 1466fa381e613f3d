package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// buildBinary compiles accord once for the end-to-end tests.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "accord-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "accord")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

// process is a running accord command with its output collected.
type process struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan error
	lines  chan string
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String() + p.stderr.String()
}

func start(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	bin, err := buildBinary()
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &process{cmd: cmd, done: make(chan error, 1), lines: make(chan string, 1000)}
	outPipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var wg sync.WaitGroup
	copyLines := func(r io.Reader, buf *bytes.Buffer) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			buf.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	}
	wg.Add(2)
	go copyLines(outPipe, &p.stdout)
	go copyLines(errPipe, &p.stderr)
	go func() {
		wg.Wait()
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitFor reads output lines until one contains want.
func (p *process) waitFor(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		// The captured output counts too: a line read while waiting for
		// an earlier one, or from the other pipe, is not lost.
		if strings.Contains(p.output(), want) {
			return
		}
		select {
		case <-p.lines:
		case err := <-p.done:
			p.done <- err
			t.Fatalf("accord exited (%v) before printing %q:\n%s", err, want, p.output())
		case <-deadline:
			t.Fatalf("accord did not print %q within %s:\n%s", want, timeout, p.output())
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// TestEndToEnd_ServeTokenRestart runs the real binary as `make run` does:
// a first start creates the cluster and the demo tenant; a token made by a
// second process on the same data folder works against the server; SIGTERM
// stops server and cluster cleanly; a restart reuses the data.
func TestEndToEnd_ServeTokenRestart(t *testing.T) {
	t.Parallel()
	// As root, inside a folder only root may enter: the cluster must move
	// where the postgres user can reach it.
	private := t.TempDir()
	require.NoError(t, os.Chmod(private, 0o700))
	data := filepath.Join(private, "checkout", ".accord")
	t.Cleanup(func() { removeCluster(data) })
	addr := freeAddr(t)
	env := []string{"ACCORD_DATA=" + data, "ADDR=" + addr, "DATABASE_URL=", "APP_DATABASE_URL=", "LOG_LEVEL=info"}

	srv := start(t, env, "serve", "--demo")
	srv.waitFor(t, "Accord is serving on http://"+addr, 90*time.Second)
	out := srv.output()
	require.Contains(t, out, "rita@acme.test")
	require.Contains(t, out, demoPassword)
	if os.Geteuid() == 0 {
		require.Contains(t, out, "the postgres system user cannot reach the data folder", "the log says where the cluster lives")
	}
	requireStatus(t, "http://"+addr+"/readyz", http.StatusOK)

	// A second process joins the running cluster.
	tok := start(t, env, "token", "create", "--tenant", "acme", "--scope", "read", "--name", "e2e")
	require.NoError(t, <-tok.done, tok.output())
	lines := strings.Split(strings.TrimSpace(tok.stdout.String()), "\n")
	token := lines[len(lines)-1]
	req, err := http.NewRequest("GET", "http://"+addr+"/api/v1/users", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var users struct{ Data []map[string]any }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&users))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, users.Data, 7)
	requireStatus(t, "http://"+addr+"/readyz", http.StatusOK) // the token process did not stop the cluster

	// SIGTERM: stop accepting, stop the worker and the cluster, exit 0.
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-srv.done:
		require.NoError(t, err, srv.output())
	case <-time.After(15 * time.Second):
		t.Fatalf("accord did not exit within 15 s of SIGTERM:\n%s", srv.output())
	}
	require.Contains(t, srv.output(), "embedded PostgreSQL stopped")
	_, err = net.DialTimeout("tcp", addr, time.Second)
	require.Error(t, err, "nothing listens any more")

	again := start(t, env, "serve", "--demo")
	// stdout and stderr are separate pipes, so wait for each line rather
	// than assuming the log line arrived before the banner.
	again.waitFor(t, "Accord is serving", 60*time.Second)
	again.waitFor(t, "demo tenant acme exists", 10*time.Second) // the data was kept
	requireStatus(t, "http://"+addr+"/readyz", http.StatusOK)
	require.NoError(t, again.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-again.done)
}

func TestEndToEnd_StartupErrors(t *testing.T) {
	t.Parallel()
	p := start(t, []string{"ACCORD_DATA=" + t.TempDir(), "ACCORD_PG_BIN=" + t.TempDir(), "DATABASE_URL="}, "serve")
	err := <-p.done
	require.Error(t, err)
	require.Contains(t, p.output(), "does not hold initdb, pg_ctl and postgres")

	p = start(t, []string{"DATABASE_URL=postgres://accord:x@127.0.0.1:1/accord", "DB_WAIT=0s"}, "serve")
	err = <-p.done
	require.Error(t, err)
	require.Contains(t, p.output(), "connect to postgres://accord@127.0.0.1:1/accord")
	require.NotContains(t, p.output(), "accord:x@", "no password in messages")

	p = start(t, []string{"LOG_LEVEL=chatty"}, "serve")
	require.Error(t, <-p.done)
	require.Contains(t, p.output(), "LOG_LEVEL must be debug, info, warn or error")
}

func requireStatus(t *testing.T, url string, want int) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, want, resp.StatusCode, url)
}

// removeCluster deletes a cluster that lives outside its data folder.
func removeCluster(data string) {
	b, err := os.ReadFile(filepath.Join(data, "cluster.json"))
	if err != nil {
		return
	}
	var st struct {
		PGData string `json:"pgdata"`
	}
	if json.Unmarshal(b, &st) == nil && st.PGData != "" && !strings.HasPrefix(st.PGData, data) {
		_ = os.RemoveAll(st.PGData)
	}
}
