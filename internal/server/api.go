package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/validator"
)

// apiError is the API's error body (API.md Conventions).
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"the response could not be encoded"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

func writeAPIError(w http.ResponseWriter, status int, code, message string, fields map[string]string) {
	writeJSON(w, status, apiError{Error: apiErrorBody{Code: code, Message: message, Fields: fields}})
}

// apiFail maps a store or domain error to the API's error format: the API's
// counterpart of renderError.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	var verrs validator.Errors
	switch {
	case errors.As(err, &verrs):
		writeAPIError(w, http.StatusUnprocessableEntity, "invalid", "the request has invalid fields: "+verrs.Error(), verrs)
	case errors.Is(err, postgres.ErrNotFound):
		writeAPIError(w, http.StatusNotFound, "not_found", "no such resource in this tenant", nil)
	case errors.Is(err, postgres.ErrConflict):
		writeAPIError(w, http.StatusConflict, "conflict", "the resource changed meanwhile or already exists; fetch it and retry", nil)
	case errors.Is(err, postgres.ErrInvalidReference):
		writeAPIError(w, http.StatusUnprocessableEntity, "invalid", "the body refers to an id that does not exist in this tenant", nil)
	case errors.Is(err, auth.ErrForbidden):
		writeAPIError(w, http.StatusForbidden, "forbidden", "this token may not do that", nil)
	case isTooLarge(err):
		writeAPIError(w, http.StatusRequestEntityTooLarge, "too_large", "the body is larger than this endpoint accepts", nil)
	default:
		s.serverError(w, r, err)
	}
}

// apiAuth accepts a bearer token and nothing else: a session cookie on an
// API request is ignored, so a browser cannot be tricked into calling the
// API with its session.
func (s *Server) apiAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="accord"`)
			writeAPIError(w, http.StatusUnauthorized, "unauthenticated",
				"send an API token as 'Authorization: Bearer <token>' (create one in Settings → API tokens); session cookies are not accepted", nil)
			return
		}
		tid, hash, err := auth.ParseAPIToken(strings.TrimSpace(token))
		var p auth.Principal
		if err == nil {
			p, err = s.store.FindTokenPrincipal(r.Context(), tid, hash, s.now())
		}
		if err != nil {
			if errors.Is(err, auth.ErrMalformedToken) || errors.Is(err, postgres.ErrNotFound) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="accord", error="invalid_token"`)
				writeAPIError(w, http.StatusUnauthorized, "unauthenticated", "the token is unknown or revoked", nil)
				return
			}
			s.serverError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p)))
	})
}

// apiRequire refuses a token whose scope lacks perm with 403.
func (s *Server) apiRequire(perm auth.Permission) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := auth.FromContext(r.Context())
			if !p.Can(perm) {
				writeAPIError(w, http.StatusForbidden, "forbidden",
					fmt.Sprintf("a token with scope %q may not do this; it needs %s", p.Scope, scopeFor(perm)), nil)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// scopeFor names the scopes that hold perm, for error messages.
func scopeFor(perm auth.Permission) string {
	var names []string
	for _, sc := range auth.Scopes {
		if (auth.Principal{Type: auth.ActorToken, Scope: sc}).Can(perm) {
			names = append(names, strconv.Quote(string(sc)))
		}
	}
	return "scope " + strings.Join(names, " or ")
}

// decodeJSON reads a JSON body into dst, refusing unknown fields (422),
// malformed JSON (400), wrong content types (415) and oversized bodies
// (413). It writes the error response itself and reports whether to go on.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		writeAPIError(w, http.StatusUnsupportedMediaType, "bad_request", "send the body as Content-Type: application/json", nil)
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		// Exactly one JSON value: trailing data is a malformed body.
		if _, extra := dec.Token(); extra != io.EOF {
			writeAPIError(w, http.StatusBadRequest, "bad_request", "the body must be a single JSON object", nil)
			return false
		}
		return true
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case isTooLarge(err):
		writeAPIError(w, http.StatusRequestEntityTooLarge, "too_large", "the body is larger than this endpoint accepts", nil)
	case errors.Is(err, io.EOF):
		writeAPIError(w, http.StatusBadRequest, "bad_request", "the body is empty: send a JSON object", nil)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		writeAPIError(w, http.StatusBadRequest, "bad_request", "the body is not valid JSON: "+err.Error(), nil)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			writeAPIError(w, http.StatusBadRequest, "bad_request", "the body must be a JSON object", nil)
			return false
		}
		writeAPIError(w, http.StatusUnprocessableEntity, "invalid", "field "+field+" has the wrong type",
			map[string]string{field: "must be a " + jsonKind(typeErr.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		writeAPIError(w, http.StatusUnprocessableEntity, "invalid", "unknown field "+strconv.Quote(name),
			map[string]string{name: "is not a field of this endpoint"})
	default:
		writeAPIError(w, http.StatusBadRequest, "bad_request", "the body could not be read: "+err.Error(), nil)
	}
	return false
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int8", "int16", "int32", "uint", "uint8", "uint16", "uint32", "uint64":
		return "whole number"
	case "int64":
		return "number with at most two decimals"
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "list"
	case "struct", "map", "ptr":
		return "object"
	}
	return "number"
}

// page is a list request's paging: ?limit= (default 50, max 500) and ?cursor=.
type pageReq struct {
	Limit  int
	Cursor string // decoded cursor, "" for the first page
}

// parsePage reads limit and cursor, answering 422 for bad ones.
func parsePage(w http.ResponseWriter, r *http.Request) (pageReq, bool) {
	pr := pageReq{Limit: 50}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "bad_request", "the query string is malformed: "+err.Error(), nil)
		return pr, false
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeAPIError(w, http.StatusUnprocessableEntity, "invalid", "limit must be a whole number from 1 to 500",
				map[string]string{"limit": "must be 1–500"})
			return pr, false
		}
		pr.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 {
			writeAPIError(w, http.StatusUnprocessableEntity, "invalid", "cursor is not one this API returned",
				map[string]string{"cursor": "is not valid"})
			return pr, false
		}
		pr.Cursor = string(b)
	}
	return pr, true
}

// encodeCursor makes an opaque cursor of a position.
func encodeCursor(pos string) *string {
	c := base64.RawURLEncoding.EncodeToString([]byte(pos))
	return &c
}

// listResponse is every list's shape.
type listResponse[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func (s *Server) handleAPINotFound(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, http.StatusNotFound, "not_found", "no such endpoint: see /api/v1/openapi.json", nil)
}

func (s *Server) handleAPIMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, http.StatusMethodNotAllowed, "bad_request", "this endpoint does not accept "+r.Method, nil)
}

// pageSlice pages a short, fully loaded list by position. The cursor is the
// index of the next item.
func pageSlice[T, J any](w http.ResponseWriter, items []T, pr pageReq, conv func(T) J) (listResponse[J], bool) {
	start := 0
	if pr.Cursor != "" {
		n, err := strconv.Atoi(pr.Cursor)
		if err != nil || n < 0 || n > len(items) {
			writeAPIError(w, http.StatusUnprocessableEntity, "invalid", "cursor is not one this API returned", map[string]string{"cursor": "is not valid"})
			return listResponse[J]{}, false
		}
		start = n
	}
	end := min(start+pr.Limit, len(items))
	resp := listResponse[J]{Data: make([]J, 0, end-start)}
	for _, it := range items[start:end] {
		resp.Data = append(resp.Data, conv(it))
	}
	if end < len(items) {
		resp.NextCursor = encodeCursor(strconv.Itoa(end))
	}
	return resp, true
}
