package auth

import (
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// Actor is who did something, as recorded in the audit log and timelines.
type Actor struct {
	Type ActorType
	ID   uuid.UUID
	Name string
}

// SystemActor is Accord itself (the worker, the qualification rule, seeds).
var SystemActor = Actor{Type: ActorSystem, Name: "Accord"}

// Actor returns the principal as an actor.
func (p Principal) Actor() Actor { return Actor{Type: p.Type, ID: p.ID, Name: p.Name} }

// Member is a user as seen inside one tenant.
type Member struct {
	ID          uuid.UUID
	Email       string
	Name        string
	Role        tenant.Role
	TeamID      *uuid.UUID
	TeamName    string
	ManagerID   *uuid.UUID
	TimeZone    string
	Away        bool
	Active      bool
	Invited     bool // has an open invitation and no password yet
	LastLoginAt *time.Time
	CreatedAt   time.Time
}

// InviteInput is what inviting a user takes (API.md POST /api/v1/users).
type InviteInput struct {
	Email     string
	Name      string
	Role      tenant.Role
	TeamID    *uuid.UUID
	ManagerID *uuid.UUID
	TimeZone  string
}

// Normalize trims fields and lower-cases the email.
func (in *InviteInput) Normalize() {
	in.Email = validator.NormalizeEmail(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	in.TimeZone = strings.TrimSpace(in.TimeZone)
}

// Validate reports each field that is wrong, or nil.
func (in InviteInput) Validate() validator.Errors {
	var errs validator.Errors
	errs.Check(validator.ValidEmail(in.Email), "email", "must be a valid address such as ana@example.com")
	errs.Check(validator.NotBlank(in.Name), "name", "must not be blank")
	errs.Check(validator.MaxChars(in.Name, 200), "name", "must be at most 200 characters")
	errs.Check(in.Role.Valid(), "role", "must be one of admin, marketing, manager, rep, viewer")
	errs.Check(in.TimeZone == "" || tenant.ValidTimeZone(in.TimeZone), "time_zone", "must be an IANA time zone such as Europe/Berlin")
	return errs.OrNil()
}

// MemberUpdate changes a member; nil fields stay as they are. ClearTeam and
// ClearManager remove the team or manager.
type MemberUpdate struct {
	Role         *tenant.Role
	TeamID       *uuid.UUID
	ClearTeam    bool
	ManagerID    *uuid.UUID
	ClearManager bool
	Away         *bool
	Active       *bool
	Name         *string
	TimeZone     *string
}

// Validate reports each field that is wrong, or nil.
func (u MemberUpdate) Validate() validator.Errors {
	var errs validator.Errors
	if u.Role != nil {
		errs.Check(u.Role.Valid(), "role", "must be one of admin, marketing, manager, rep, viewer")
	}
	if u.Name != nil {
		errs.Check(validator.NotBlank(*u.Name), "name", "must not be blank")
		errs.Check(validator.MaxChars(*u.Name, 200), "name", "must be at most 200 characters")
	}
	if u.TimeZone != nil {
		errs.Check(*u.TimeZone == "" || tenant.ValidTimeZone(*u.TimeZone), "time_zone", "must be an IANA time zone such as Europe/Berlin")
	}
	return errs.OrNil()
}

// Invitation is an open or used invitation link.
type Invitation struct {
	ID         uuid.UUID
	TenantID   tenant.ID
	TenantName string
	UserID     uuid.UUID
	Email      string
	Name       string
	HasAccount bool // the user already has a password (invited to another tenant)
	ExpiresAt  time.Time
	UsedAt     *time.Time
}

// InvitationTTL is how long an invitation link works (API.md: 7 days).
const InvitationTTL = 7 * 24 * time.Hour

// ErrInvitationUsed reports an invitation link that was already used.
var ErrInvitationUsed = errors.New("this invitation link has already been used")

// ErrInvitationExpired reports an invitation link past its 7 days.
var ErrInvitationExpired = errors.New("this invitation link has expired")

// Usable reports why an invitation cannot be used at now, or nil.
func (inv Invitation) Usable(now time.Time) error {
	if inv.UsedAt != nil {
		return ErrInvitationUsed
	}
	if !now.Before(inv.ExpiresAt) {
		return ErrInvitationExpired
	}
	return nil
}

// ValidatePassword reports what is wrong with a new password, or nil.
func ValidatePassword(password, confirm string) validator.Errors {
	var errs validator.Errors
	errs.Check(len([]rune(password)) >= MinPasswordLen, "password", "must be at least 12 characters")
	errs.Check(len(password) <= 1024, "password", "must be at most 1024 bytes")
	errs.Check(password == confirm, "confirm", "does not match the password")
	return errs.OrNil()
}

// APIToken is a tenant's API token as listed (its secret is never stored).
type APIToken struct {
	ID         uuid.UUID
	Name       string
	Scope      Scope
	Hint       string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// TokenInput is what creating an API token takes.
type TokenInput struct {
	Name  string
	Scope Scope
}

// Normalize trims the name.
func (in *TokenInput) Normalize() { in.Name = strings.TrimSpace(in.Name) }

// Validate reports each field that is wrong, or nil.
func (in TokenInput) Validate() validator.Errors {
	var errs validator.Errors
	errs.Check(validator.NotBlank(in.Name), "name", "must not be blank")
	errs.Check(validator.MaxChars(in.Name, 100), "name", "must be at most 100 characters")
	errs.Check(in.Scope.Valid(), "scope", "must be ingest, read or admin")
	return errs.OrNil()
}
