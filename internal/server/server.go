// Package server is Accord's HTTP layer: the routes (routes.go lists them
// all), the web pages and the JSON API, sessions, sign-in and the checks
// every request passes.
package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/accordhq/accord/internal/postgres"
)

// Config is what the HTTP layer needs to know about its deployment.
type Config struct {
	// BaseURL is how users reach Accord (for invitation links), e.g.
	// https://accord.example.com.
	BaseURL string
	// SecureCookies marks the session cookie Secure: on whenever Accord is
	// reached over TLS (BaseURL is https or Accord serves TLS itself).
	SecureCookies bool
	// MailEnabled reports whether an SMTP server is configured, so that
	// invitations are e-mailed as well as shown.
	MailEnabled bool
	// TrustProxy takes the client address from X-Forwarded-For (behind a
	// reverse proxy); otherwise the connection's address counts.
	TrustProxy bool
	// Throttle bounds failed sign-ins.
	Throttle postgres.Throttle
	// Production refuses webhook URLs on private addresses and similar.
	Production bool
}

// Server handles every HTTP request of Accord.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	live     *liveHub
	store    *postgres.Store
	sessions *scs.SessionManager
	now      func() time.Time
	metrics  *httpMetrics
	handler  http.Handler
}

// New returns a server. reg receives the HTTP and database pool metrics
// that /metrics serves.
func New(cfg Config, logger *slog.Logger, store *postgres.Store, now func() time.Time, reg *prometheus.Registry) *Server {
	if cfg.Throttle.Window == 0 {
		cfg.Throttle = postgres.DefaultThrottle
	}
	s := &Server{cfg: cfg, logger: logger, store: store, now: now, live: newLiveHub()}
	s.sessions = newSessionManager(store, cfg.SecureCookies, now)
	s.sessions.ErrorFunc = s.sessionError
	s.metrics = newHTTPMetrics(reg, store)
	s.handler = s.routes(reg)
	return s
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
