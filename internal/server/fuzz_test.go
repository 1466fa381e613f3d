package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzDecodeLead feeds arbitrary bodies to the lead decoder and validation:
// they must never panic, must answer every rejected body with a 4xx, and the
// body limit bounds the memory any body can take.
func FuzzDecodeLead(f *testing.F) {
	for _, seed := range []string{
		`{"email": "ana@example.com", "score": 72, "icp_fit": true}`,
		`{"external_id": "hs-1", "created_at": "2026-10-01T09:12:00Z", "segment": "SMB"}`,
		`{"email": 5}`, `{"email": "a@b.c",}`, `[]`, `null`, `{"leads": [{}]}`, `{"score": 1e400}`,
		`{"email": "\u0000@x.y"}`, `{"first_name": "` + string(bytes.Repeat([]byte("x"), 300)) + `"}`,
		`{"amount": 12.345}`, "\xff\xfe{}", `{"email": "a@b.c"} {"email": "d@e.f"}`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, dst := range []func() any{func() any { return &leadBody{} }, func() any { return &transitionBody{} }, func() any { return &batchBody{} }} {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/api/v1/leads", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Body = http.MaxBytesReader(w, r.Body, bodyLimit)
			v := dst()
			if !decodeJSON(w, r, v) {
				if w.Code < 400 || w.Code >= 500 {
					t.Fatalf("rejected body answered %d", w.Code)
				}
				continue
			}
			if lb, ok := v.(*leadBody); ok {
				in := lb.input()
				in.Normalize()
				_ = in.Validate([]string{"smb", "mid", "enterprise"}, true, now)
			}
		}
	})
}
