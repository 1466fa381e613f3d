package server

// leadOperations documents the lead endpoints.
var leadOperations = []apiOperation{
	{Method: "POST", Path: "/leads", Summary: "Create or update a lead", Scope: "ingest", Status: 201},
	{Method: "POST", Path: "/leads/batch", Summary: "Create or update up to 1000 leads", Scope: "ingest", Status: 200},
	{Method: "GET", Path: "/leads", Summary: "List leads", Scope: "read", Status: 200, List: true},
	{Method: "GET", Path: "/leads/{id}", Summary: "A lead with its timers", Scope: "read", Status: 200},
	{Method: "GET", Path: "/leads/{id}/timeline", Summary: "A lead's timeline", Scope: "read", Status: 200},
	{Method: "POST", Path: "/leads/{id}/transitions", Summary: "Move a lead to another stage", Scope: "ingest", Status: 200},
	{Method: "POST", Path: "/leads/{id}/activities", Summary: "Log an activity on a lead", Scope: "ingest", Status: 201},
	{Method: "POST", Path: "/leads/{id}/assign", Summary: "Reassign a lead", Scope: "admin", Status: 200},
}

var leadSchemas = map[string]schema{}
