package server

import (
	"context"
	"net/http"
	"time"

	"github.com/accordhq/accord/internal/postgres"
)

// handleHealth answers while the process runs: for liveness probes.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady answers 200 when the database is reachable and carries every
// migration of this binary: for readiness probes and load balancers.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.logger.WarnContext(ctx, "not ready: database unreachable", "error", err.Error())
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
		return
	}
	current, err := postgres.MigrationsCurrent(ctx, s.store.Pool())
	if err != nil || !current {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database migrations are not current: run accord migrate up"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
