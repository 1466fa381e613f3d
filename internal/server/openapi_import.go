package server

// importOperations documents the CSV import endpoints.
var importOperations = []apiOperation{
	{Method: "POST", Path: "/imports", Summary: "Start a CSV import (not built yet)", Scope: "ingest", Status: 202},
	{Method: "GET", Path: "/imports/{id}", Summary: "An import's progress and errors (not built yet)", Scope: "any", Status: 200},
}

var importSchemas = map[string]schema{}
