// Package tenant defines tenants, their ids and the roles a user holds inside
// one. It is a leaf package: every other Accord package may import it.
package tenant

import (
	"database/sql/driver"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/validator"
)

// ID identifies a tenant. It is a distinct type because mixing a tenant id up
// with any other id is a security bug, and the compiler should catch it.
type ID uuid.UUID

// NewID returns a fresh random tenant id.
func NewID() ID { return ID(uuid.New()) }

// ParseID parses the canonical text form of a tenant id.
func ParseID(s string) (ID, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return ID{}, fmt.Errorf("parse tenant id: %w", err)
	}
	return ID(u), nil
}

// String returns the canonical text form.
func (id ID) String() string { return uuid.UUID(id).String() }

// IsZero reports whether id is the zero value (no tenant).
func (id ID) IsZero() bool { return id == ID{} }

// Value encodes the id for the database driver.
func (id ID) Value() (driver.Value, error) { return id.String(), nil }

// Scan decodes an id read from the database.
func (id *ID) Scan(src any) error {
	var u uuid.UUID
	if err := u.Scan(src); err != nil {
		return fmt.Errorf("scan tenant id: %w", err)
	}
	*id = ID(u)
	return nil
}

// Tenant is a company using Accord.
type Tenant struct {
	ID        ID
	Slug      string
	Name      string
	TimeZone  string
	Currency  string
	CreatedAt time.Time
}

// Location returns the tenant's time zone, falling back to UTC for a zone the
// running system does not know (validation refuses those on input).
func (t Tenant) Location() *time.Location { return LoadLocation(t.TimeZone) }

var locations sync.Map // zone name → *time.Location

// LoadLocation is time.LoadLocation with a cache: pages show times in a zone
// on every request, and loading one reads the zone database from disk. An
// unknown zone gives UTC.
func LoadLocation(name string) *time.Location {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	locations.Store(name, loc)
	return loc
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,39}$`)
var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Input is what creating a tenant needs.
type Input struct {
	Slug     string
	Name     string
	TimeZone string
	Currency string
}

// Normalize trims the input and puts slug and currency in canonical case.
func (in *Input) Normalize() {
	in.Slug = strings.ToLower(strings.TrimSpace(in.Slug))
	in.Name = strings.TrimSpace(in.Name)
	in.TimeZone = strings.TrimSpace(in.TimeZone)
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
}

// Validate reports each field that is wrong, or nil.
func (in Input) Validate() validator.Errors {
	var errs validator.Errors
	errs.Check(slugRE.MatchString(in.Slug), "slug", "must be 2–40 lower-case letters, digits or dashes, starting with a letter or digit")
	errs.Check(in.Name != "", "name", "must not be blank")
	errs.Check(len(in.Name) <= 200, "name", "must be at most 200 characters")
	errs.Check(ValidTimeZone(in.TimeZone), "time_zone", "must be an IANA time zone such as Europe/Berlin")
	errs.Check(currencyRE.MatchString(in.Currency), "currency", "must be a three-letter ISO 4217 code such as EUR")
	return errs.OrNil()
}

// ValidTimeZone reports whether name is an IANA zone the system knows. "Local"
// and the empty name are refused: a tenant's zone must mean the same on every
// server.
func ValidTimeZone(name string) bool {
	if name == "" || name == "Local" {
		return false
	}
	if _, ok := locations.Load(name); ok {
		return true
	}
	_, err := time.LoadLocation(name)
	return err == nil
}
