package server

import "github.com/accordhq/accord/internal/webhook"

// slaOperations documents the agreement, calendars, timers, breaches and
// webhook endpoints (API.md Agreement and timers, Webhooks).
var slaOperations = []apiOperation{
	{Method: "GET", Path: "/agreement", Summary: "The agreement version in force (version 0 with no clauses for a new tenant)",
		Scope: "read", Response: "Agreement", Status: 200},
	{Method: "PUT", Path: "/agreement",
		Summary: "Save a new agreement version. 409 when base_version is not the version in force; apply_to_running " +
			"recomputes running timers under the new version, otherwise they keep the version they started under",
		Scope: "admin", Request: "AgreementInput", Response: "Agreement", Status: 201},
	{Method: "POST", Path: "/agreement/preview",
		Summary: "Replay the last 90 days of handoffs under the proposed clauses; saves nothing (base_version optional)",
		Scope:   "admin", Request: "AgreementInput", Response: "Preview", Status: 200},
	{Method: "GET", Path: "/calendars", Summary: "List business calendars", Scope: "any", Response: "Calendar", Status: 200, List: true},
	{Method: "PUT", Path: "/calendars/{id}",
		Summary: "Replace a calendar; running timers on it are recomputed, keeping the business time already elapsed",
		Scope:   "admin", Request: "CalendarInput", Response: "Calendar", Status: 200},
	{Method: "GET", Path: "/timers", Summary: "List timers by due time", Scope: "read", Response: "Timer", Status: 200, List: true,
		Query: []string{"status", "side", "kind", "lead_id", "holder_id", "team_id", "clause_id"}},
	{Method: "GET", Path: "/breaches", Summary: "List breaches, newest first", Scope: "read", Response: "Breach", Status: 200, List: true,
		Query: []string{"since", "side", "kind", "lead_id", "holder_id", "team_id", "clause_id"}},
	{Method: "GET", Path: "/webhooks", Summary: "List webhook endpoints (secrets are not shown)", Scope: "admin",
		Response: "WebhookEndpoint", Status: 200, List: true},
	{Method: "POST", Path: "/webhooks",
		Summary: "Register a webhook endpoint; the answer carries its signing secret, shown only here",
		Scope:   "admin", Request: "WebhookCreate", Response: "WebhookEndpoint", Status: 201},
	{Method: "PATCH", Path: "/webhooks/{id}", Summary: "Change an endpoint's URL, events, format, or switch it off",
		Scope: "admin", Request: "WebhookUpdate", Response: "WebhookEndpoint", Status: 200},
	{Method: "DELETE", Path: "/webhooks/{id}", Summary: "Remove an endpoint; deliveries still queued for it are dropped",
		Scope: "admin", Status: 204},
}

var clauseKinds = []string{"respond", "first_touch", "attempts", "recycle", "volume", "icp_quality", "acceptance", "pipeline"}

var slaSchemas = map[string]schema{
	"Step": obj([]string{"after_minutes", "notify"}, map[string]any{
		"after_minutes": withDesc(integer(), "business minutes after the breach; steps in increasing order, the first usually 0"),
		"notify":        withDesc(schema{"type": "array", "items": str()}, "holder, manager, role:<role> or user:<id>"),
		"reassign":      withDesc(boolean(), "hand the lead to the next rep by routing at this step"),
	}),
	"Clause": obj([]string{"side", "kind"}, map[string]any{
		"id":                withDesc(uuidS(), "kept across versions while side, kind and scope stay"),
		"side":              enum("marketing", "sales"),
		"kind":              enum(clauseKinds...),
		"target_minutes":    withDesc(integer(), "lead clauses: business minutes on the calendar, 1 to 525600"),
		"attempts":          withDesc(integer(), "attempts clauses: touches required"),
		"target_count":      withDesc(integer(), "volume clauses"),
		"target_percent":    withDesc(number(), "icp_quality and acceptance clauses"),
		"target_amount":     withDesc(number(), "pipeline clauses, in the tenant currency"),
		"period":            enum("week", "month", "quarter"),
		"scope":             schemaRef("ClauseScope"),
		"calendar_id":       withDesc(nuuid(), "null: the holder's team calendar"),
		"warn_at_percent":   withDesc(integer(), "default 75"),
		"pause_cap_minutes": withDesc(integer(), "how much snoozing may extend the due time; default 2400"),
		"escalation":        schema{"type": "array", "items": schemaRef("Step")},
	}),
	"ClauseScope": withDesc(schema{"type": "object", "nullable": true, "properties": map[string]any{
		"segment": nstr(), "source": nstr(),
	}}, "null applies to every lead; the most specific matching clause of a kind wins"),
	"Agreement": obj([]string{"version", "clauses"}, map[string]any{
		"version": integer(), "effective_from": ndateTime(), "author": nstr(),
		"clauses": schema{"type": "array", "items": schemaRef("Clause")},
	}),
	"AgreementInput": obj([]string{"clauses"}, map[string]any{
		"base_version":     withDesc(integer(), "the version edited; required by PUT (0 for a new tenant)"),
		"clauses":          schema{"type": "array", "items": schemaRef("Clause")},
		"apply_to_running": boolean(),
	}),
	"Outcome": obj([]string{"met", "breached"}, map[string]any{"met": integer(), "breached": integer()}),
	"PreviewRow": obj([]string{"name", "current", "proposed"}, map[string]any{
		"id": nuuid(), "name": str(), "current": schemaRef("Outcome"), "proposed": schemaRef("Outcome"),
	}),
	"Preview": obj([]string{"days", "current", "proposed", "by_team", "by_rep"}, map[string]any{
		"days": integer(), "leads": integer(), "current": schemaRef("Outcome"), "proposed": schemaRef("Outcome"),
		"by_team":    schema{"type": "array", "items": schemaRef("PreviewRow")},
		"by_rep":     schema{"type": "array", "items": schemaRef("PreviewRow")},
		"elapsed_ms": integer(),
	}),
	"Breach": obj(nil, map[string]any{
		"id": uuidS(), "timer_id": uuidS(), "lead_id": uuidS(), "side": enum("marketing", "sales"), "kind": str(),
		"holder_id": nuuid(), "team_id": nuuid(), "due_at": dateTime(),
		"breached_at":      withDesc(dateTime(), "the due time: when the clause was broken"),
		"detected_at":      withDesc(dateTime(), "when the worker (or a late fact) recorded it"),
		"escalation_level": integer(), "acknowledged_at": ndateTime(),
		"excused":       withDesc(boolean(), "excused breaches (approved by a second person) leave compliance"),
		"excuse_reason": nstr(),
	}),
	"WebhookEndpoint": obj(nil, map[string]any{
		"id": uuidS(), "url": str(), "events": schema{"type": "array", "items": enum(webhookTypes()...)},
		"format": enum("accord", "slack"), "active": boolean(), "created_at": dateTime(),
		"secret": withDesc(str(), "only in the answer to POST: signs Accord-Signature"),
	}),
	"WebhookCreate": obj([]string{"url", "events"}, map[string]any{
		"url":    withDesc(str(), "http(s); in production not a private or loopback address"),
		"events": schema{"type": "array", "items": enum(webhookTypes()...)}, "format": enum("accord", "slack"),
	}),
	"WebhookUpdate": obj(nil, map[string]any{
		"url": str(), "events": schema{"type": "array", "items": enum(webhookTypes()...)},
		"format": enum("accord", "slack"), "active": boolean(),
	}),
}

func webhookTypes() []string { return webhook.Types }
