// Package auth defines users, the principal a request acts as, password
// hashing, tokens and the permission rules of each role. It is pure: no
// database, no HTTP.
package auth

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/tenant"
)

// ErrUnauthenticated reports a request without a valid session or token.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrForbidden reports a principal whose role or scope does not allow the action.
var ErrForbidden = errors.New("forbidden")

// User is a person who signs in. Users are global: one email, one password,
// memberships in any number of tenants.
type User struct {
	ID           uuid.UUID
	Email        string
	Name         string
	PasswordHash string
	TimeZone     string
	LastTenantID *tenant.ID
	CreatedAt    time.Time
	LastLoginAt  *time.Time
}

// Membership is a user's place in one tenant.
type Membership struct {
	TenantID   tenant.ID
	TenantSlug string
	TenantName string
	UserID     uuid.UUID
	Role       tenant.Role
	TeamID     *uuid.UUID
	ManagerID  *uuid.UUID
	Away       bool
	Active     bool
}

// ActorType says who acts: a signed-in user, an API token, or Accord itself.
type ActorType string

// The actor types of timeline events and audit entries.
const (
	ActorUser   ActorType = "user"
	ActorToken  ActorType = "token"
	ActorSystem ActorType = "system"
)

// Principal is who a request acts as, inside exactly one tenant.
type Principal struct {
	Type     ActorType
	ID       uuid.UUID // user id or token id
	Name     string
	Email    string
	Tenant   tenant.Tenant
	Role     tenant.Role // for users
	Scope    Scope       // for tokens
	TeamID   *uuid.UUID
	TimeZone string
	// Memberships lists every tenant the user belongs to, for the switcher.
	Memberships []Membership
	// UnreadNotifications is the number on the header's bell.
	UnreadNotifications int
}

// TenantID is the tenant the principal acts in.
func (p Principal) TenantID() tenant.ID { return p.Tenant.ID }

// IsUser reports whether a person (not a token) is acting.
func (p Principal) IsUser() bool { return p.Type == ActorUser }

// Location is the time zone to show times in: the user's own, else the tenant's.
func (p Principal) Location() *time.Location {
	if p.TimeZone != "" && tenant.ValidTimeZone(p.TimeZone) {
		return tenant.LoadLocation(p.TimeZone)
	}
	return p.Tenant.Location()
}

type contextKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// FromContext returns the principal in ctx and whether there was one.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(Principal)
	return p, ok
}
