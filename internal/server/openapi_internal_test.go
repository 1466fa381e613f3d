package server

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/postgres/postgrestest"
)

// TestOpenAPI_CoversEveryRoute keeps the OpenAPI document true: every API
// route of the router must be documented, and nothing documented may be
// missing from the router.
func TestOpenAPI_CoversEveryRoute(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	s := New(Config{BaseURL: "http://accord.test"}, slog.New(slog.NewTextHandler(io.Discard, nil)), db.Store, time.Now, prometheus.NewRegistry())
	routes, ok := s.handler.(chi.Routes)
	require.True(t, ok)

	routed := map[string]bool{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/api/v1/") {
			path := strings.TrimPrefix(route, "/api/v1")
			routed[method+" "+path] = true
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, routed)

	documented := map[string]bool{}
	doc := openAPIDoc()
	paths := doc["paths"].(map[string]map[string]any)
	for path, ops := range paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for r := range routed {
		require.True(t, documented[r], "route %s is not in the OpenAPI document", r)
	}
	for d := range documented {
		require.True(t, routed[d], "the OpenAPI document lists %s, which the router does not serve", d)
	}
	for _, op := range operations() {
		if op.Request != "" {
			require.Contains(t, schemas(), op.Request, "%s %s", op.Method, op.Path)
		}
		if op.Response != "" {
			require.Contains(t, schemas(), op.Response, "%s %s", op.Method, op.Path)
		}
	}
}
