package server

// referenceOperations documents reference data and provisioning endpoints.
// Reads take a token of any scope; writes need admin.
var referenceOperations = []apiOperation{
	{Method: "POST", Path: "/calendars", Summary: "Create a business calendar: time zone, working hours per weekday, holidays",
		Scope: "admin", Request: "CalendarInput", Response: "Calendar", Status: 201},
	{Method: "GET", Path: "/rejection-reasons", Summary: "List the reason codes for rejections, disqualifications and losses",
		Scope: "any", Response: "Reason", Status: 200, List: true},
	{Method: "POST", Path: "/rejection-reasons", Summary: "Add a reason code (a code the tenant already has is 422)",
		Scope: "admin", Request: "Reason", Response: "Reason", Status: 201},
	{Method: "GET", Path: "/segments", Summary: "List the tenant's segments in order; data holds the codes as strings",
		Scope: "any", Response: "Segment", Status: 200, List: true},
	{Method: "PUT", Path: "/segments", Summary: "Replace the ordered segment list (removing a segment that leads, routing rules or targets use is 422)",
		Scope: "admin", Request: "Segments", Response: "Segments", Status: 200},
	{Method: "GET", Path: "/routing-rules", Summary: "The routing rules, in order (first match wins), and the default team",
		Scope: "any", Response: "Routing", Status: 200},
	{Method: "PUT", Path: "/routing-rules", Summary: "Replace the routing rules and the default team; answers them as stored",
		Scope: "admin", Request: "Routing", Response: "Routing", Status: 200},
	{Method: "GET", Path: "/targets", Summary: "List monthly revenue targets (segment null: all segments)",
		Scope: "any", Response: "Target", Status: 200, List: true},
	{Method: "PUT", Path: "/targets", Summary: "Set monthly revenue targets: each named month and segment is set (revenue null removes it); others stay",
		Scope: "admin", Request: "TargetsUpdate", Response: "Targets", Status: 200},
	{Method: "GET", Path: "/qualification-rule", Summary: "The qualification rule (a new tenant has none: every part null or false)",
		Scope: "any", Response: "QualificationRule", Status: 200},
	{Method: "PUT", Path: "/qualification-rule", Summary: "Change the qualification rule: null switches a part off, a part left out keeps its value",
		Scope: "admin", Request: "QualificationUpdate", Response: "QualificationRule", Status: 200},
}

func schemaRef(name string) schema { return schema{"$ref": "#/components/schemas/" + name} }

func withDesc(s schema, text string) schema {
	s["description"] = text
	return s
}

func arrayOf(items schema) schema { return schema{"type": "array", "items": items} }

// clockPair is one working interval: ["09:00", "17:00"].
func clockPair() schema {
	return schema{"type": "array", "minItems": 2, "maxItems": 2,
		"items": schema{"type": "string", "pattern": `^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`}}
}

var referenceSchemas = map[string]schema{
	"Reason": obj([]string{"code", "label"}, map[string]any{
		"code":  withDesc(schema{"type": "string", "pattern": `^[a-z0-9][a-z0-9_-]{0,49}$`}, "stable code, such as no_budget; stored lower-case"),
		"label": withDesc(schema{"type": "string", "maxLength": 100}, "what people see"),
	}),
	"Segment": withDesc(schema{"type": "string", "pattern": `^[a-z0-9][a-z0-9_-]{0,49}$`}, "a segment code, such as enterprise"),
	"Segments": withDesc(obj([]string{"segments"}, map[string]any{
		"segments": withDesc(schema{"type": "array", "maxItems": 50, "items": schemaRef("Segment")},
			"the whole ordered list; codes are trimmed and lower-cased; a code may appear once"),
	}), "The tenant's segments in order. A segment that leads, routing rules or targets still use cannot be removed (422 naming it)."),
	"RoutingMatch": withDesc(obj(nil, map[string]any{
		"segment": withDesc(nstr(), "one of the tenant's segments; null matches any"),
		"source":  withDesc(nstr(), "a lead source (case-insensitive); null matches any"),
		"country": withDesc(nstr(), "a two-letter ISO 3166 code; null matches any"),
	}), "What a lead must have for the rule to apply; every non-null field must match. Left out: every lead."),
	"RoutingRule": obj([]string{"team_id"}, map[string]any{
		"match":   schemaRef("RoutingMatch"),
		"team_id": withDesc(uuidS(), "one of the tenant's sales teams; inside it leads go round-robin to active reps who are not away"),
	}),
	"Routing": withDesc(obj([]string{"rules"}, map[string]any{
		"rules": withDesc(schema{"type": "array", "maxItems": 200, "items": schemaRef("RoutingRule")},
			"checked in order; the first rule that matches a lead wins; a rule an earlier one makes unreachable is 422"),
		"default_team_id": withDesc(nuuid(), "the sales team for leads no rule matches; null: such leads wait unassigned"),
	}), "How handed-off leads find their team. Unknown teams (another tenant's included), marketing teams and unknown segments are 422 on their field, such as rules.0.team_id."),
	"Target": obj([]string{"period", "segment", "revenue"}, map[string]any{
		"period":  withDesc(schema{"type": "string", "pattern": `^\d{4}-(0[1-9]|1[0-2])$`}, "a month, YYYY-MM"),
		"segment": withDesc(nstr(), "one of the tenant's segments; null for all segments"),
		"revenue": withDesc(schema{"type": "number", "minimum": 0, "multipleOf": 0.01}, "in the tenant's currency, at most two decimals"),
	}),
	"TargetChange": obj([]string{"period", "revenue"}, map[string]any{
		"period":  withDesc(schema{"type": "string", "pattern": `^\d{4}-(0[1-9]|1[0-2])$`}, "a month, YYYY-MM"),
		"segment": withDesc(nstr(), "one of the tenant's segments; null or left out for all segments"),
		"revenue": withDesc(schema{"type": "number", "minimum": 0, "multipleOf": 0.01, "nullable": true},
			"in the tenant's currency, at most two decimals; null removes the target of this month and segment"),
	}),
	"TargetsUpdate": withDesc(obj([]string{"targets"}, map[string]any{
		"targets": schema{"type": "array", "maxItems": 1000, "items": schemaRef("TargetChange")},
	}), "Targets to set or remove; a month and segment may appear once; targets the body does not name stay as they are."),
	"Targets": withDesc(obj([]string{"targets"}, map[string]any{
		"targets": arrayOf(schemaRef("Target")),
	}), "Every target of the tenant after the change, by month and segment."),
	"PageViews": obj([]string{"url_contains", "count", "within_hours"}, map[string]any{
		"url_contains": withDesc(schema{"type": "string", "maxLength": 500}, "page_view activities whose URL contains this (case-insensitive) count"),
		"count":        schema{"type": "integer", "minimum": 1, "maximum": 1000},
		"within_hours": schema{"type": "integer", "minimum": 1, "maximum": 2160},
	}),
	"QualificationRule": withDesc(obj([]string{"min_score", "require_icp_fit", "page_views"}, map[string]any{
		"min_score":       withDesc(schema{"type": "integer", "minimum": 0, "maximum": 100, "nullable": true}, "profile part: the lowest score that qualifies; null: score ignored"),
		"require_icp_fit": withDesc(boolean(), "profile part: the lead must fit the ideal customer profile"),
		"page_views":      withDesc(schema{"allOf": []any{schemaRef("PageViews")}, "nullable": true}, "intent part: count page views within hours; null: off"),
	}), "The rule that hands a new lead off by itself. A lead qualifies when either part that is set holds: the profile part (min_score and/or require_icp_fit) or the intent part (page_views)."),
	"QualificationUpdate": withDesc(obj(nil, map[string]any{
		"min_score":       schema{"type": "integer", "minimum": 0, "maximum": 100, "nullable": true},
		"require_icp_fit": schema{"type": "boolean", "nullable": true},
		"page_views":      schema{"allOf": []any{schemaRef("PageViews")}, "nullable": true},
	}), "The parts to change. null switches a part off (require_icp_fit null is false); a field left out keeps its value; page_views is replaced whole."),
	"Holiday": obj([]string{"date", "name"}, map[string]any{
		"date": withDesc(schema{"type": "string", "format": "date"}, "YYYY-MM-DD in the calendar's zone; closed the whole day"),
		"name": schema{"type": "string", "maxLength": 100},
	}),
	"CalendarHours": withDesc(obj(nil, map[string]any{
		"mon": arrayOf(clockPair()), "tue": arrayOf(clockPair()), "wed": arrayOf(clockPair()), "thu": arrayOf(clockPair()),
		"fri": arrayOf(clockPair()), "sat": arrayOf(clockPair()), "sun": arrayOf(clockPair()),
	}), `Working intervals per weekday, such as {"mon": [["09:00", "12:00"], ["13:00", "17:30"]]}: HH:MM pairs within one day (the end may be 24:00), in order, not overlapping. Days left out are closed.`),
	"CalendarInput": obj([]string{"name", "time_zone"}, map[string]any{
		"name":        schema{"type": "string", "maxLength": 100},
		"time_zone":   withDesc(str(), "an IANA time zone, such as Europe/Berlin"),
		"always_open": withDesc(boolean(), "24/7: hours and holidays are ignored; otherwise at least one day needs hours"),
		"hours":       schemaRef("CalendarHours"),
		"holidays":    schema{"type": "array", "maxItems": 1000, "items": schemaRef("Holiday")},
	}),
	"Calendar": obj(nil, map[string]any{
		"id": uuidS(), "name": str(), "time_zone": str(), "always_open": boolean(), "hours": schemaRef("CalendarHours"),
		"holidays": arrayOf(schemaRef("Holiday")), "is_default": boolean(), "updated_at": dateTime(),
	}),
}
