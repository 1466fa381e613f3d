package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/tenant"
)

// Scope is what an API token may do (API.md Conventions).
type Scope string

// The API token scopes.
const (
	ScopeIngest Scope = "ingest"
	ScopeRead   Scope = "read"
	ScopeAdmin  Scope = "admin"
)

// Scopes lists the scopes for pickers.
var Scopes = []Scope{ScopeIngest, ScopeRead, ScopeAdmin}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s == ScopeIngest || s == ScopeRead || s == ScopeAdmin }

// Describe says in a few words what a token of this scope may do.
func (s Scope) Describe() string {
	switch s {
	case ScopeIngest:
		return "write leads, transitions and activities"
	case ScopeRead:
		return "read everything readable"
	case ScopeAdmin:
		return "everything, including provisioning"
	}
	return ""
}

// ErrMalformedToken reports a bearer or invitation token that is not of
// Accord's form; callers answer it like an unknown token.
var ErrMalformedToken = errors.New("malformed token")

// The secret part of a token is 32 random bytes. The tenant id travels in the
// clear in front of it: it is not a secret, and it lets the store look the
// token up inside its tenant, under row-level security, without any
// cross-tenant query.
const secretLen = 32

const apiTokenPrefix = "acd_"

// NewAPIToken returns a new API token for tenant tid in plain text (shown
// once) and the hash to store.
func NewAPIToken(tid tenant.ID) (plain string, hash []byte) {
	secret := randomSecret()
	plain = apiTokenPrefix + hex.EncodeToString(tid[:]) + "_" + secret
	return plain, HashSecret(plain)
}

// ParseAPIToken returns the tenant a token claims and the hash to look up.
func ParseAPIToken(plain string) (tenant.ID, []byte, error) {
	rest, ok := strings.CutPrefix(plain, apiTokenPrefix)
	if !ok {
		return tenant.ID{}, nil, ErrMalformedToken
	}
	tid, _, err := splitTenantSecret(rest, "_")
	if err != nil {
		return tenant.ID{}, nil, err
	}
	return tid, HashSecret(plain), nil
}

// TokenHint is the part of a token safe to show in lists ("acd_…abcd").
func TokenHint(plain string) string {
	if len(plain) < 8 {
		return "…"
	}
	return apiTokenPrefix + "…" + plain[len(plain)-4:]
}

// NewInviteToken returns a new invitation token for tenant tid and its hash.
// It appears in the invitation URL, /invite/{token}.
func NewInviteToken(tid tenant.ID) (plain string, hash []byte) {
	plain = hex.EncodeToString(tid[:]) + "." + randomSecret()
	return plain, HashSecret(plain)
}

// ParseInviteToken returns the tenant an invitation token claims and the hash
// to look up.
func ParseInviteToken(plain string) (tenant.ID, []byte, error) {
	tid, _, err := splitTenantSecret(plain, ".")
	if err != nil {
		return tenant.ID{}, nil, err
	}
	return tid, HashSecret(plain), nil
}

func splitTenantSecret(s, sep string) (tenant.ID, string, error) {
	hexID, secret, ok := strings.Cut(s, sep)
	if !ok || len(hexID) != 32 {
		return tenant.ID{}, "", ErrMalformedToken
	}
	raw, err := hex.DecodeString(hexID)
	if err != nil {
		return tenant.ID{}, "", ErrMalformedToken
	}
	b, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(b) != secretLen {
		return tenant.ID{}, "", ErrMalformedToken
	}
	u, err := uuid.FromBytes(raw)
	if err != nil {
		return tenant.ID{}, "", ErrMalformedToken
	}
	return tenant.ID(u), secret, nil
}

func randomSecret() string {
	b := make([]byte, secretLen)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ panics itself).
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret is the SHA-256 of a high-entropy secret. Tokens are random, so a
// fast hash suffices: there is nothing to brute-force.
func HashSecret(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// RandomString returns n random bytes, base64url-encoded, for CSRF tokens and
// similar per-session secrets.
func RandomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
