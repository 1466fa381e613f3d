package server

// contentOperations documents the content library, its figures and the
// requests from sales. A use of an asset is an activity (POST
// /leads/{id}/activities with kind content_shared).
var contentOperations = []apiOperation{
	{Method: "GET", Path: "/content-assets", Summary: "List assets, newest first (archived=false by default; true or any)",
		Scope: "read", Response: "ContentAsset", Status: 200, List: true, Query: []string{"kind", "stage", "segment", "q", "archived"}},
	{Method: "GET", Path: "/content-assets/{id}", Summary: "One asset with its figures: uses, leads, opens, accepted, opportunities, won, and the same segment's leads without it",
		Scope: "read", Response: "ContentAssetFigures", Status: 200},
	{Method: "POST", Path: "/content-assets", Summary: "Add an asset (http or https URL only)",
		Scope: "admin", Request: "ContentAssetInput", Response: "ContentAsset", Status: 201},
	{Method: "PATCH", Path: "/content-assets/{id}", Summary: "Change fields or archive (archived: true); fields left out stay",
		Scope: "admin", Request: "ContentAssetInput", Response: "ContentAsset", Status: 200},
	{Method: "GET", Path: "/content-requests", Summary: "List requests: open ones oldest first, then closed ones newest first",
		Scope: "read", Response: "ContentRequest", Status: 200, List: true, Query: []string{"status"}},
	{Method: "GET", Path: "/content-requests/{id}", Summary: "One request with its comments",
		Scope: "read", Response: "ContentRequest", Status: 200},
	{Method: "POST", Path: "/content-requests", Summary: "Ask marketing for a missing asset; marketing is notified",
		Scope: "ingest", Request: "ContentRequestInput", Response: "ContentRequest", Status: 201},
	{Method: "PATCH", Path: "/content-requests/{id}", Summary: "Change status, link the asset that fulfils it (required for fulfilled), comment; the requester is notified",
		Scope: "admin", Request: "ContentRequestUpdate", Response: "ContentRequest", Status: 200},
}

var assetKinds = []string{"case_study", "one_pager", "deck", "comparison", "roi_tool", "video", "whitepaper", "demo", "email_template", "other"}

var assetStages = []string{"new", "mql", "accepted", "sql", "opportunity", "won"}

func assetProps() map[string]any {
	return map[string]any{
		"id": uuidS(), "title": withDesc(schema{"type": "string", "maxLength": 200}, "1–200 characters"),
		"kind": enum(assetKinds...), "stage": withDesc(enum(assetStages...), "the funnel stage it serves"),
		"segment":  withDesc(nstr(), "one of the tenant's segments; null: every segment"),
		"url":      withDesc(schema{"type": "string", "format": "uri", "maxLength": 2000}, "absolute http:// or https:// address"),
		"owner_id": nuuid(), "tags": arrayOf(str()), "archived": boolean(),
		"archived_at": schema{"type": "string", "format": "date-time", "nullable": true},
		"created_at":  dateTime(), "updated_at": dateTime(),
	}
}

var contentSchemas = map[string]schema{
	"ContentAsset": obj([]string{"id", "title", "kind", "stage", "url", "tags", "archived"}, func() map[string]any {
		p := assetProps()
		p["uses"] = withDesc(integer(), "in lists: times used on leads, all time")
		return p
	}()),
	"ContentAssetFigures": obj([]string{"id", "title", "uses", "leads", "accepted", "opportunities", "won"}, func() map[string]any {
		p := assetProps()
		p["uses"], p["leads"], p["opens"] = integer(), withDesc(integer(), "distinct leads it was used on"), withDesc(integer(), "counted tracked-link opens (once per prospect per hour)")
		p["accepted"] = withDesc(integer(), "of those leads, accepted at some point (or moved past it)")
		p["opportunities"] = withDesc(integer(), "reached opportunity (or won)")
		p["won"] = integer()
		p["without_asset"] = withDesc(obj(nil, map[string]any{
			"segment": nstr(), "leads": integer(), "accepted": integer(), "opportunities": integer(), "won": integer(),
		}), "handed-off leads of the asset's segment (every segment when it has none) it was never used on")
		return p
	}()),
	"ContentAssetInput": obj(nil, map[string]any{
		"title": str(), "kind": enum(assetKinds...), "stage": enum(assetStages...), "segment": nstr(), "url": str(),
		"owner_id": nuuid(), "tags": arrayOf(str()), "archived": withDesc(boolean(), "PATCH only"),
	}),
	"ContentRequest": obj([]string{"id", "title", "objection", "status"}, map[string]any{
		"id": uuidS(), "title": str(), "objection": str(), "segment": nstr(), "lead_id": withDesc(nuuid(), "the example deal"),
		"requester_id": nuuid(), "requester_name": str(), "status": enum("open", "in_progress", "fulfilled", "declined"),
		"asset_id": withDesc(nuuid(), "the asset that fulfils it"), "created_at": dateTime(), "updated_at": dateTime(),
		"closed_at": schema{"type": "string", "format": "date-time", "nullable": true},
		"age_hours": withDesc(schema{"type": "number"}, "hours waited: until now while open, until closed once closed"),
		"comments":  arrayOf(obj(nil, map[string]any{"author_name": str(), "body": str(), "created_at": dateTime()})),
	}),
	"ContentRequestInput": obj([]string{"title", "objection"}, map[string]any{
		"title": withDesc(str(), "what is missing, 1–200 characters"), "objection": withDesc(str(), "the objection it must answer, 1–2000 characters"),
		"segment": nstr(), "lead_id": nuuid(),
	}),
	"ContentRequestUpdate": obj(nil, map[string]any{
		"status": enum("open", "in_progress", "fulfilled", "declined"), "asset_id": nuuid(),
		"comment": withDesc(str(), "added to the thread, up to 4000 characters"),
	}),
}
