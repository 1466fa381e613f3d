package server_test

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/accordhq/accord/internal/postgres/postgrestest"
)

// BenchmarkPage_SignedIn measures the server time of a signed-in page (the
// layout with navigation, the tenant switcher and the session): the whole
// handler chain, database included, without the network. It reports p50
// and p99 beside the mean.
func BenchmarkPage_SignedIn(b *testing.B) {
	h := newHarness(b)
	br := h.browser()
	br.login(h.a.AdminEmail, postgrestest.Password)
	cookie := br.sessionCookie()
	var durations []time.Duration
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.srv.ServeHTTP(rec, req)
		durations = append(durations, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds())/1000, "p99-ms")
}
