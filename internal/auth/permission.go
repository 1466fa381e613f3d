package auth

import "github.com/accordhq/accord/internal/tenant"

// Permission names something a principal may be allowed to do. Routes check
// one permission each, so the rules live here and not in handlers.
type Permission string

// The permissions routes check.
const (
	// PermRead: read dashboards, leads, the agreement. Every role; read and
	// admin tokens.
	PermRead Permission = "read"
	// PermReference: read reference data (users, teams, segments, reasons,
	// routing, targets). Every role and every token scope (API.md: "any scope").
	PermReference Permission = "reference"
	// PermIngest: write leads, transitions and activities through the API.
	PermIngest Permission = "ingest"
	// PermManageUsers: invite users, change roles, teams, API tokens.
	PermManageUsers Permission = "manage_users"
	// PermManageTeams: create and edit teams.
	PermManageTeams Permission = "manage_teams"
	// PermManageTokens: create and revoke API tokens.
	PermManageTokens Permission = "manage_tokens"
	// PermEditAgreement: edit SLA clauses, calendars, routing, targets.
	PermEditAgreement Permission = "edit_agreement"
	// PermHandoff: hand leads off, recycle, nurture (marketing's moves).
	PermHandoff Permission = "handoff"
	// PermWorkLeads: accept, reject, touch, snooze leads (sales' moves).
	PermWorkLeads Permission = "work_leads"
	// PermManageTeamLeads: reassign, act on a rep's behalf.
	PermManageTeamLeads Permission = "manage_team_leads"
	// PermManageContent: create, edit and archive content assets.
	PermManageContent Permission = "manage_content"
	// PermManageWebhooks: register, change and remove webhook endpoints.
	PermManageWebhooks Permission = "manage_webhooks"
)

var rolePerms = map[tenant.Role][]Permission{
	tenant.RoleAdmin: {PermRead, PermReference, PermIngest, PermManageUsers, PermManageTeams, PermManageTokens,
		PermEditAgreement, PermHandoff, PermWorkLeads, PermManageTeamLeads, PermManageContent, PermManageWebhooks},
	tenant.RoleMarketing: {PermRead, PermReference, PermHandoff, PermManageContent},
	tenant.RoleManager:   {PermRead, PermReference, PermWorkLeads, PermManageTeamLeads},
	tenant.RoleRep:       {PermRead, PermReference, PermWorkLeads},
	tenant.RoleViewer:    {PermRead, PermReference},
}

var scopePerms = map[Scope][]Permission{
	ScopeRead:   {PermRead, PermReference},
	ScopeIngest: {PermReference, PermIngest, PermHandoff, PermWorkLeads},
	ScopeAdmin: {PermRead, PermReference, PermIngest, PermManageUsers, PermManageTeams, PermManageTokens,
		PermEditAgreement, PermHandoff, PermWorkLeads, PermManageTeamLeads, PermManageContent, PermManageWebhooks},
}

// Can reports whether p holds permission perm: by role for users, by scope
// for API tokens, always for the system.
func (p Principal) Can(perm Permission) bool {
	var perms []Permission
	switch p.Type {
	case ActorSystem:
		return true
	case ActorUser:
		perms = rolePerms[p.Role]
	case ActorToken:
		perms = scopePerms[p.Scope]
	}
	for _, q := range perms {
		if q == perm {
			return true
		}
	}
	return false
}
