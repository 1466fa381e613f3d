// Package view holds Accord's templ components. Pages are a layout plus
// fragments; each component takes a typed view model. Element ids that htmx
// targets double as test hooks.
package view

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/accordhq/accord/web"
)

// Page is what the layout needs on every page.
type Page struct {
	Title     string
	Section   string // key of the active navigation item
	User      *User  // nil when signed out
	Tenant    Tenant
	Tenants   []TenantOption
	Nav       []NavItem
	CSRF      string
	Flash     *Flash
	RequestID string
	Location  *time.Location // the viewer's zone, for times
}

// User is the signed-in person, for the header.
type User struct {
	Name      string
	Email     string
	RoleLabel string
	Unread    int // unread notifications, on the bell
}

// Tenant is the tenant the page acts in.
type Tenant struct {
	ID   string
	Slug string
	Name string
}

// TenantOption is one entry of the tenant switcher.
type TenantOption struct {
	ID      string
	Name    string
	Current bool
}

// NavItem is one section in the navigation.
type NavItem struct {
	Key   string
	Label string
	Href  string
	Icon  string
}

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	Kind    string // success, error, info
	Message string
}

// Asset returns the cache-busting URL of a static file.
func Asset(path string) string { return web.Asset(path) }

// CSRFHeaders is the hx-headers value that sends the CSRF token with every
// htmx request, so fragments need no hidden field.
func (p Page) CSRFHeaders() string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": p.CSRF})
	return string(b)
}

// FormatTime shows t in the viewer's zone.
func (p Page) FormatTime(t time.Time) string {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2 Jan 2006, 15:04 MST")
}

// FormatTimePtr is FormatTime for optional times ("—" when nil).
func (p Page) FormatTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return p.FormatTime(*t)
}

// htmxConfig: no inline indicator styles (the CSP forbids them), no eval,
// and swap 422 (form errors) and 409 (conflicts) so forms re-render in place.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},` +
	`{"code":"422","swap":true},{"code":"409","swap":true},{"code":"[45]..","swap":false,"error":true}]}`

// initials returns up to two initials of a name for the avatar.
func initials(name string) string {
	var out []rune
	take := true
	for _, r := range name {
		switch {
		case r == ' ' || r == '-':
			take = true
		case take && len(out) < 2:
			out = append(out, r)
			take = false
		default:
			take = false
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

func itoa(n int) string { return strconv.Itoa(n) }

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func teamAction(id string) string {
	if id == "" {
		return "/settings/teams"
	}
	return "/settings/teams/" + id
}

func bellLabel(n int) string {
	switch n {
	case 0:
		return "Notifications"
	case 1:
		return "Notifications: 1 unread"
	}
	return "Notifications: " + strconv.Itoa(n) + " unread"
}

func unreadText(n int) string {
	if n > 99 {
		return "99+"
	}
	return strconv.Itoa(n)
}
