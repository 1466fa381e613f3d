package server

// referenceOperations documents reference data and provisioning endpoints.
var referenceOperations = []apiOperation{
	{Method: "POST", Path: "/calendars", Summary: "Create a calendar (not built yet)", Scope: "admin", Status: 201},
	{Method: "GET", Path: "/rejection-reasons", Summary: "List rejection reasons (not built yet)", Scope: "any", Status: 200},
	{Method: "POST", Path: "/rejection-reasons", Summary: "Create a rejection reason (not built yet)", Scope: "admin", Status: 201},
	{Method: "GET", Path: "/segments", Summary: "List segments (not built yet)", Scope: "any", Status: 200},
	{Method: "PUT", Path: "/segments", Summary: "Replace segments (not built yet)", Scope: "admin", Status: 200},
	{Method: "GET", Path: "/routing-rules", Summary: "Routing rules (not built yet)", Scope: "any", Status: 200},
	{Method: "PUT", Path: "/routing-rules", Summary: "Replace routing rules (not built yet)", Scope: "admin", Status: 200},
	{Method: "GET", Path: "/targets", Summary: "List targets (not built yet)", Scope: "any", Status: 200},
	{Method: "PUT", Path: "/targets", Summary: "Replace targets (not built yet)", Scope: "admin", Status: 200},
	{Method: "GET", Path: "/qualification-rule", Summary: "Qualification rule (not built yet)", Scope: "any", Status: 200},
	{Method: "PUT", Path: "/qualification-rule", Summary: "Set the qualification rule (not built yet)", Scope: "admin", Status: 200},
}

var referenceSchemas = map[string]schema{}
