package server

// leadOperations documents the lead endpoints.
var leadOperations = []apiOperation{
	{Method: "POST", Path: "/leads", Summary: "Create a lead, or update the one with the same external_id (else email); 201 created, 200 updated",
		Scope: "ingest", Request: "LeadInput", Response: "Lead", Status: 201},
	{Method: "POST", Path: "/leads/batch", Summary: "Create or update up to 1000 leads; valid items are applied, invalid ones reported",
		Scope: "ingest", Request: "LeadBatch", Response: "LeadBatchResult", Status: 200},
	{Method: "GET", Path: "/leads", Summary: "List leads, newest first (with updated_since: oldest change first). " +
		"handoff_from and handoff_to (YYYY-MM-DD in the tenant zone, to exclusive) keep the leads handed off then, as the " +
		"figures count them, optionally by decision (accepted, rejected, undecided), reached (accepted, sql, opportunity, " +
		"won) and touched (true, false) before the lead's next handoff; team_id then means the handoff's team. " +
		"segment, source or campaign (none) selects leads without one", Scope: "read",
		Response: "Lead", Status: 200, List: true,
		Query: []string{"stage", "owner_id", "team_id", "segment", "source", "campaign", "updated_since", "q",
			"handoff_from", "handoff_to", "decision", "reached", "touched"}},
	{Method: "GET", Path: "/leads/{id}", Summary: "A lead with its timers", Scope: "read", Response: "Lead", Status: 200},
	{Method: "GET", Path: "/leads/{id}/timeline", Summary: "A lead's events, oldest first", Scope: "read", Response: "Timeline", Status: 200},
	{Method: "POST", Path: "/leads/{id}/transitions", Summary: "Move a lead to another stage (DESIGN.md §3); illegal moves list the allowed targets",
		Scope: "ingest", Request: "TransitionInput", Response: "Lead", Status: 200},
	{Method: "POST", Path: "/leads/{id}/activities", Summary: "Log a touch or signal on a lead, at its event time", Scope: "ingest",
		Request: "ActivityInput", Response: "Activity", Status: 201},
	{Method: "POST", Path: "/leads/{id}/assign", Summary: "Give a lead to another owner", Scope: "admin", Request: "AssignInput", Response: "Lead", Status: 200},
}

func stages() schema {
	return enum("new", "mql", "accepted", "rejected", "sql", "opportunity", "won", "lost", "recycled")
}

func number() schema  { return schema{"type": "number"} }
func nnumber() schema { return schema{"type": "number", "nullable": true} }
func ndateTime() schema {
	return schema{"type": "string", "format": "date-time", "nullable": true}
}

var leadFields = map[string]any{
	"external_id": nstr(), "email": nstr(), "first_name": str(), "last_name": str(), "company": str(), "title": str(),
	"phone": str(), "country": schema{"type": "string", "description": "ISO 3166 two-letter code"},
	"segment": schema{"type": "string", "nullable": true, "description": "one of GET /segments"},
	"source":  str(), "campaign": str(), "score": schema{"type": "integer", "minimum": 0, "maximum": 100, "nullable": true},
	"icp_fit": boolean(),
}

func withFields(extra map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range leadFields {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

var leadSchemas = map[string]schema{
	"Lead": obj(nil, withFields(map[string]any{
		"id": uuidS(), "stage": stages(), "owner_id": nuuid(), "team_id": nuuid(), "amount": nnumber(), "currency": str(),
		"created_at": dateTime(), "stage_changed_at": dateTime(), "updated_at": dateTime(), "snoozed_until": ndateTime(),
		"version": integer(), "timers": schema{"type": "array", "items": schema{"$ref": "#/components/schemas/Timer"}},
	})),
	"LeadInput": obj(nil, withFields(map[string]any{
		"created_at": schema{"type": "string", "format": "date-time", "description": "defaults to now; at most 5 minutes ahead; never changes after creation"},
	})),
	"LeadBatch": obj([]string{"leads"}, map[string]any{
		"leads": schema{"type": "array", "maxItems": 1000, "items": schema{"$ref": "#/components/schemas/LeadInput"}},
	}),
	"LeadBatchResult": obj(nil, map[string]any{
		"created": integer(), "updated": integer(),
		"errors": schema{"type": "array", "items": obj(nil, map[string]any{
			"index": integer(), "code": enum("invalid", "conflict"), "message": str(),
			"fields": schema{"type": "object", "additionalProperties": str()},
		})},
	}),
	"TransitionInput": obj([]string{"to"}, map[string]any{
		"to": stages(), "reason": schema{"type": "string", "nullable": true, "description": "a code of GET /rejection-reasons"},
		"note": nstr(), "at": ndateTime(), "amount": nnumber(), "owner_id": nuuid(), "expected_version": schema{"type": "integer", "nullable": true},
	}),
	"ActivityInput": obj([]string{"kind"}, map[string]any{
		"kind": enum("call", "email", "meeting", "linkedin", "note", "nurture", "page_view", "content_shared"),
		"at":   ndateTime(), "note": nstr(), "url": nstr(), "asset_id": nuuid(),
	}),
	"Activity": obj(nil, map[string]any{
		"id": integer(), "lead_id": uuidS(), "kind": str(), "at": dateTime(), "note": str(), "url": nstr(), "asset_id": nuuid(),
		"actor": schema{"$ref": "#/components/schemas/Actor"},
	}),
	"AssignInput": obj([]string{"owner_id"}, map[string]any{"owner_id": uuidS()}),
	"Actor":       obj(nil, map[string]any{"type": enum("user", "token", "system"), "id": nuuid(), "name": str()}),
	"Timeline": obj([]string{"data"}, map[string]any{"data": schema{"type": "array", "items": obj(nil, map[string]any{
		"type": enum("transition", "activity", "timer", "assignment", "pause", "content_open"), "at": dateTime(),
		"actor": schema{"$ref": "#/components/schemas/Actor"}, "from": nstr(), "to": str(), "reason": nstr(), "note": nstr(),
		"amount": nnumber(), "kind": str(), "url": nstr(), "asset_id": nuuid(), "owner_id": nuuid(), "team_id": nuuid(),
		"why": str(), "until": ndateTime(), "status": str(), "due_at": ndateTime(),
	})}}),
	"Timer": obj(nil, map[string]any{
		"id": uuidS(), "lead_id": uuidS(), "clause_id": uuidS(), "agreement_version": integer(), "side": enum("marketing", "sales"),
		"kind": str(), "status": enum("running", "at_risk", "met", "breached", "cancelled"), "started_at": dateTime(),
		"due_at": dateTime(), "stopped_at": ndateTime(), "breached_at": ndateTime(), "holder_id": nuuid(), "paused_minutes": number(),
	}),
}
