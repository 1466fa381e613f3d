package server

// importOperations documents the CSV import endpoints. POST /imports takes
// multipart/form-data (the ImportUpload schema), which apiOperation cannot
// express as a request body yet; its summary says so.
var importOperations = []apiOperation{
	{Method: "POST", Path: "/imports",
		Summary: "Start a CSV import: multipart/form-data with the parts preset (accord, hubspot or salesforce) and file " +
			"(see the ImportUpload schema); the file streams to storage and the import starts at once (202). " +
			"Bad preset or missing file: 422 with fields; a file the preset cannot read (no key column, not CSV): 422 on file; " +
			"over 10 MiB: 413",
		Scope: "ingest", Response: "Import", Status: 202},
	{Method: "GET", Path: "/imports/{id}",
		Summary: "An import's progress and its skipped rows (the first 1000 by line; errors_total counts them all). " +
			"status: running, then done or failed (uploaded: a browser upload waiting for its preview to be confirmed)",
		Scope: "any", Response: "Import", Status: 200},
}

var importSchemas = map[string]schema{
	"ImportUpload": {
		"type":        "object",
		"description": "The multipart/form-data body of POST /imports.",
		"required":    []string{"preset", "file"},
		"properties": map[string]any{
			"preset": enum("accord", "hubspot", "salesforce"),
			"file":   schema{"type": "string", "format": "binary", "description": "the CSV file, UTF-8; comma, semicolon or tab separated"},
		},
	},
	"Import": obj([]string{"id", "status", "rows_total", "rows_done", "created", "updated", "skipped", "errors"}, map[string]any{
		"id":           uuidS(),
		"status":       enum("uploaded", "running", "done", "failed"),
		"preset":       enum("accord", "hubspot", "salesforce"),
		"filename":     str(),
		"size_bytes":   integer(),
		"rows_total":   schema{"type": "integer", "description": "rows of the file after the header, counted when it was uploaded"},
		"rows_done":    schema{"type": "integer", "description": "rows read so far; created + updated + skipped"},
		"created":      integer(),
		"updated":      integer(),
		"skipped":      schema{"type": "integer", "description": "rows not stored: each has an error"},
		"errors":       schema{"type": "array", "items": importRef("ImportError"), "description": "the first 1000 skipped rows by line"},
		"errors_total": integer(),
		"failure":      schema{"type": "string", "nullable": true, "description": "why a failed import stopped"},
		"created_at":   dateTime(),
		"started_at":   schema{"type": "string", "format": "date-time", "nullable": true},
		"finished_at":  schema{"type": "string", "format": "date-time", "nullable": true},
	}),
	"ImportError": obj([]string{"line", "message"}, map[string]any{
		"line":    schema{"type": "integer", "description": "physical line of the file (the header is line 1)"},
		"message": str(),
	}),
}

func importRef(name string) schema { return schema{"$ref": "#/components/schemas/" + name} }
