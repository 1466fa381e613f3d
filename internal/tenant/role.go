package tenant

// Role is what a user may do inside one tenant (DESIGN.md §1).
type Role string

// The roles of DESIGN.md §1.
const (
	RoleAdmin     Role = "admin"
	RoleMarketing Role = "marketing"
	RoleManager   Role = "manager"
	RoleRep       Role = "rep"
	RoleViewer    Role = "viewer"
)

// Roles lists every role, most powerful first, for pickers.
var Roles = []Role{RoleAdmin, RoleMarketing, RoleManager, RoleRep, RoleViewer}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleMarketing, RoleManager, RoleRep, RoleViewer:
		return true
	}
	return false
}

// Label is the role's name as people say it.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "Admin (RevOps)"
	case RoleMarketing:
		return "Marketing"
	case RoleManager:
		return "Sales manager"
	case RoleRep:
		return "Sales rep"
	case RoleViewer:
		return "Viewer"
	}
	return string(r)
}

// Side is the side of the agreement a team is on.
type Side string

// The two sides of the agreement.
const (
	SideMarketing Side = "marketing"
	SideSales     Side = "sales"
)

// Valid reports whether s is marketing or sales.
func (s Side) Valid() bool { return s == SideMarketing || s == SideSales }
