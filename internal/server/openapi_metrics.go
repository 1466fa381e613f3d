package server

// metricQueryKeys are the query keys of the figures endpoints.
var metricQueryKeys = []string{"period", "from", "to", "segment", "source", "campaign", "team_id"}

// metricOperations documents the figures (API.md Figures, DESIGN.md §5).
var metricOperations = []apiOperation{
	{Method: "GET", Path: "/metrics",
		Summary: "The figures of a period (from and to as YYYY-MM-DD in the tenant's zone, to exclusive; or period: " +
			"this_week, last_week, this_month, last_month, this_quarter, last_quarter, 2026-10, 2026-Q4; default this " +
			"month; at most 366 days) and of the previous period of equal length, under optional filters. Rates are null " +
			"where the denominator is 0; amounts are in the tenant currency",
		Scope: "read", Response: "Figures", Status: 200, Query: metricQueryKeys},
	{Method: "GET", Path: "/metrics.csv",
		Summary: "The same figures as CSV: header figure,value,previous, one row per figure, dotted names for breakdowns",
		Scope:   "read", Status: 200, Query: metricQueryKeys},
	{Method: "GET", Path: "/scorecard",
		Summary: "Every clause of the agreement, both sides, for a period (period=2026-10, a preset, or from and to; " +
			"default this month): target, actual, status met|missed|on_track|at_risk and pace. A period clause is judged " +
			"on its own week, month or quarter holding the period's last day lived; a lead clause by the compliance of " +
			"its timers resolved in the period (target 100 %)",
		Scope: "read", Response: "Scorecard", Status: 200, Query: []string{"period", "from", "to"}},
}

var rate = withDesc(schema{"type": "number", "nullable": true}, "a fraction 0–1; null when the denominator is 0")

var metricSchemas = map[string]schema{
	"Scorecard": obj([]string{"period", "clauses"}, map[string]any{
		"period": str(),
		"clauses": schema{"type": "array", "items": obj(nil, map[string]any{
			"clause_id": uuidS(), "side": enum("marketing", "sales"), "kind": enum(clauseKinds...),
			"scope":  schema{"type": "object", "nullable": true},
			"unit":   enum("count", "percent", "amount"),
			"target": number(), "target_minutes": integer(),
			"actual": schema{"type": "number", "nullable": true},
			"status": enum("met", "missed", "on_track", "at_risk"),
			"pace":   str(), "from": str(), "to": str(),
		})},
	}),
	"Figures": withDesc(schema{"type": "object", "properties": map[string]any{
		"from": str(), "to": str(), "handoffs": integer(), "accepted": integer(), "rejected": integer(), "undecided": integer(),
		"lead_acceptance_rate": rate, "lead_to_opportunity_rate": rate, "win_rate": rate,
		"median_days_to_close": schema{"type": "number", "nullable": true},
		"speed_to_lead":        schema{"type": "object"},
		"sla_compliance":       schema{"type": "object"},
		"pipeline_created":     number(), "revenue_won": number(),
		"pipeline_coverage": schema{"type": "number", "nullable": true},
		"funnel":            schema{"type": "array", "items": obj(nil, map[string]any{"stage": str(), "count": integer()})},
		"by_source":         schema{"type": "array", "items": schema{"type": "object"}},
		"by_campaign":       schema{"type": "array", "items": schema{"type": "object"}},
		"rejection_reasons": schema{"type": "array", "items": schema{"type": "object"}},
		"content":           schema{"type": "object"},
		"previous":          withDesc(schema{"type": "object"}, "the same figures for the previous period of equal length"),
	}}, "DESIGN.md §5 defines every figure; fields beyond API.md's are the counts behind its rates"),
}
