package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 200

// idempotency makes a POST with an Idempotency-Key header happen once: the
// handler runs inside one transaction with the key's record, so the effect
// and the stored response commit together; a repeat with the same body gets
// the first response again, with another body 422 (API.md Conventions).
func (s *Server) idempotency(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > maxIdempotencyKey {
			writeAPIError(w, http.StatusUnprocessableEntity, "invalid", "Idempotency-Key must be at most 200 characters",
				map[string]string{"Idempotency-Key": "is too long"})
			return
		}
		p, _ := auth.FromContext(r.Context())
		body, err := io.ReadAll(r.Body)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		sum := sha256.New()
		sum.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n" + r.Header.Get("Content-Type") + "\n"))
		sum.Write(body)
		resp, replayed, err := s.store.Idempotent(r.Context(), p.TenantID(), key, sum.Sum(nil), s.now(),
			func(ctx context.Context) (postgres.Response, error) {
				rec := &recorder{header: http.Header{}}
				req := r.WithContext(ctx)
				req.Body = io.NopCloser(bytes.NewReader(body))
				next.ServeHTTP(rec, req)
				return postgres.Response{Status: rec.status, ContentType: rec.header.Get("Content-Type"), Body: rec.body.Bytes()}, nil
			})
		switch {
		case errors.Is(err, postgres.ErrIdempotencyMismatch):
			writeAPIError(w, http.StatusUnprocessableEntity, "invalid",
				"this Idempotency-Key was already used with a different request; use a new key for a new request", nil)
			return
		case errors.Is(err, postgres.ErrConflict):
			writeAPIError(w, http.StatusConflict, "conflict", "a request with this Idempotency-Key is still in flight; retry shortly", nil)
			return
		case err != nil:
			s.apiFail(w, r, err)
			return
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		if resp.ContentType != "" {
			w.Header().Set("Content-Type", resp.ContentType)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	})
}

// recorder captures a handler's response for the idempotency record.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
