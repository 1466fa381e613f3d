package postgrestest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
)

// Password is the password of every fixture user.
const Password = "correct horse battery staple"

// passwordHash is hashed once per test binary: argon2id is deliberately slow.
var passwordHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(Password)
	if err != nil {
		panic(err)
	}
	return h
})

// PasswordHash returns the hash of Password.
func PasswordHash() string { return passwordHash() }

// Tenant is a fixture tenant with its admin.
type Tenant struct {
	tenant.Tenant
	AdminID    uuid.UUID
	AdminEmail string
}

// Admin is the fixture tenant's admin as an actor.
func (t Tenant) Admin() auth.Actor {
	return auth.Actor{Type: auth.ActorUser, ID: t.AdminID, Name: "Admin of " + t.Slug}
}

// CreateTenant creates tenant slug (zone Europe/Berlin, EUR) with an admin
// admin@<slug>.test whose password is Password.
func CreateTenant(t testing.TB, store *postgres.Store, slug string, now time.Time) Tenant {
	t.Helper()
	email := "admin@" + slug + ".test"
	tn, adminID, err := store.CreateTenant(context.Background(),
		tenant.Input{Slug: slug, Name: "Tenant " + slug, TimeZone: "Europe/Berlin", Currency: "EUR"},
		postgres.AdminInput{Email: email, Name: "Admin of " + slug, PasswordHash: PasswordHash()}, now)
	if err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	return Tenant{Tenant: tn, AdminID: adminID, AdminEmail: email}
}

// CreateMember adds a user with Password to tenant tn.
func CreateMember(t testing.TB, store *postgres.Store, tn Tenant, email, name string, role tenant.Role, now time.Time) auth.Member {
	t.Helper()
	m, err := store.CreateMember(context.Background(), tn.ID, tn.Admin(),
		auth.InviteInput{Email: email, Name: name, Role: role}, PasswordHash(), now)
	if err != nil {
		t.Fatalf("create member %s: %v", email, err)
	}
	return m
}

// Now is a fixed instant for tests that need a plausible present.
func Now() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }
