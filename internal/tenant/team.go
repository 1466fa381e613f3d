package tenant

import (
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/validator"
)

// Team is a group of users on one side of the agreement, with a manager and a
// business calendar (nil: the tenant's default calendar).
type Team struct {
	ID           uuid.UUID
	Name         string
	Side         Side
	ManagerID    *uuid.UUID
	ManagerName  string
	CalendarID   *uuid.UUID
	CalendarName string
	Members      int
	CreatedAt    time.Time
}

// TeamInput is what creating or editing a team takes.
type TeamInput struct {
	Name       string
	Side       Side
	ManagerID  *uuid.UUID
	CalendarID *uuid.UUID
}

// Normalize trims the name.
func (in *TeamInput) Normalize() { in.Name = strings.TrimSpace(in.Name) }

// Validate reports each field that is wrong, or nil.
func (in TeamInput) Validate() validator.Errors {
	var errs validator.Errors
	errs.Check(validator.NotBlank(in.Name), "name", "must not be blank")
	errs.Check(validator.MaxChars(in.Name, 100), "name", "must be at most 100 characters")
	errs.Check(in.Side.Valid(), "side", "must be marketing or sales")
	return errs.OrNil()
}
