package server

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// apiOperation documents one endpoint of the API for the OpenAPI document.
// A test checks that every API route of the router appears here.
type apiOperation struct {
	Method   string
	Path     string // chi pattern under /api/v1, e.g. /users/{id}
	Summary  string
	Scope    string // "", "read", "ingest" or "admin"
	Request  string // schema name of the JSON body, "" for none
	Response string // schema name of the success body
	Status   int    // success status
	List     bool   // the response is a list of Response
	Query    []string
}

// operations lists every documented endpoint; each feature keeps its own
// list beside its handlers (openapi_*.go).
func operations() []apiOperation {
	return slices.Concat(userOperations, leadOperations, referenceOperations, importOperations, slaOperations, metricOperations, contentOperations)
}

// schemas merges every feature's schemas.
func schemas() map[string]schema {
	out := map[string]schema{}
	for _, m := range []map[string]schema{userSchemas, leadSchemas, referenceSchemas, importSchemas, slaSchemas, metricSchemas, contentSchemas} {
		maps.Copy(out, m)
	}
	return out
}

var userOperations = []apiOperation{
	{Method: "GET", Path: "/openapi.json", Summary: "This OpenAPI document", Response: "", Status: 200},
	{Method: "GET", Path: "/users", Summary: "List users of the tenant", Scope: "read", Response: "User", Status: 200, List: true},
	{Method: "POST", Path: "/users", Summary: "Invite a user; the answer carries invite_url", Scope: "admin", Request: "UserCreate", Response: "User", Status: 201},
	{Method: "PATCH", Path: "/users/{id}", Summary: "Change a user's role, team, manager or away flag", Scope: "admin", Request: "UserUpdate", Response: "User", Status: 200},
	{Method: "GET", Path: "/teams", Summary: "List teams", Scope: "read", Response: "Team", Status: 200, List: true},
	{Method: "POST", Path: "/teams", Summary: "Create a team", Scope: "admin", Request: "TeamCreate", Response: "Team", Status: 201},
}

type schema = map[string]any

func obj(required []string, props map[string]any) schema {
	s := schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func str() schema             { return schema{"type": "string"} }
func nstr() schema            { return schema{"type": "string", "nullable": true} }
func uuidS() schema           { return schema{"type": "string", "format": "uuid"} }
func nuuid() schema           { return schema{"type": "string", "format": "uuid", "nullable": true} }
func boolean() schema         { return schema{"type": "boolean"} }
func integer() schema         { return schema{"type": "integer"} }
func dateTime() schema        { return schema{"type": "string", "format": "date-time"} }
func enum(v ...string) schema { return schema{"type": "string", "enum": v} }

var userSchemas = map[string]schema{
	"Error": obj([]string{"error"}, map[string]any{"error": obj([]string{"code", "message"}, map[string]any{
		"code":    enum("bad_request", "unauthenticated", "forbidden", "not_found", "conflict", "too_large", "invalid", "rate_limited", "internal"),
		"message": str(),
		"fields":  schema{"type": "object", "additionalProperties": str()},
	})}),
	"User": obj(nil, map[string]any{
		"id": uuidS(), "email": str(), "name": str(), "role": enum("admin", "marketing", "manager", "rep", "viewer"),
		"team_id": nuuid(), "manager_id": nuuid(), "time_zone": nstr(), "away": boolean(), "active": boolean(),
		"invited": boolean(), "created_at": dateTime(), "last_login_at": schema{"type": "string", "format": "date-time", "nullable": true},
		"invite_url": str(),
	}),
	"UserCreate": obj([]string{"email", "name", "role"}, map[string]any{
		"email": str(), "name": str(), "role": enum("admin", "marketing", "manager", "rep", "viewer"),
		"team_id": nuuid(), "manager_id": nuuid(), "time_zone": str(),
	}),
	"UserUpdate": obj(nil, map[string]any{
		"role": enum("admin", "marketing", "manager", "rep", "viewer"), "team_id": nuuid(), "manager_id": nuuid(),
		"away": boolean(), "active": boolean(), "name": str(), "time_zone": str(),
	}),
	"Team": obj(nil, map[string]any{
		"id": uuidS(), "name": str(), "side": enum("marketing", "sales"), "manager_id": nuuid(), "calendar_id": nuuid(),
		"members": integer(), "created_at": dateTime(),
	}),
	"TeamCreate": obj([]string{"name", "side"}, map[string]any{
		"name": str(), "side": enum("marketing", "sales"), "manager_id": nuuid(), "calendar_id": nuuid(),
	}),
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

var openAPIDoc = sync.OnceValue(func() map[string]any {
	ref := func(name string) schema { return schema{"$ref": "#/components/schemas/" + name} }
	errResp := func(desc string) schema {
		return schema{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
	}
	paths := map[string]map[string]any{}
	for _, op := range operations() {
		p := paths[op.Path]
		if p == nil {
			p = map[string]any{}
			paths[op.Path] = p
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": str()})
		}
		if op.List {
			params = append(params,
				map[string]any{"name": "limit", "in": "query", "schema": schema{"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
				map[string]any{"name": "cursor", "in": "query", "schema": str()})
		}
		for _, q := range op.Query {
			params = append(params, map[string]any{"name": q, "in": "query", "schema": str()})
		}
		var body schema
		switch {
		case op.Response == "":
			body = schema{"type": "object"}
		case op.List:
			body = obj([]string{"data", "next_cursor"}, map[string]any{
				"data": schema{"type": "array", "items": ref(op.Response)}, "next_cursor": nstr()})
		default:
			body = ref(op.Response)
		}
		responses := map[string]any{
			strconv.Itoa(op.Status): map[string]any{"description": "success", "content": map[string]any{"application/json": map[string]any{"schema": body}}},
		}
		if op.Status == http.StatusNoContent {
			responses[strconv.Itoa(op.Status)] = map[string]any{"description": "done; no body"}
		}
		o := map[string]any{
			"summary":     op.Summary,
			"operationId": strings.ToLower(op.Method) + strings.ReplaceAll(pathParam.ReplaceAllString(op.Path, "By_$1"), "/", "_"),
			"responses":   responses,
		}
		if op.Scope != "" {
			o["security"] = []any{map[string]any{"bearer": []any{}}}
			switch op.Scope {
			case "any":
				o["description"] = "Any token scope may call this."
			case "admin":
				o["description"] = "Needs a token with scope admin."
			default:
				o["description"] = "Needs a token with scope " + op.Scope + " (or admin)."
			}
			responses["401"] = errResp("no or unknown token")
			responses["403"] = errResp("the token's scope does not allow this")
			responses["429"] = errResp("rate limited; see Retry-After")
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if op.Request != "" {
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(op.Request)}}}
			responses["400"] = errResp("malformed JSON")
			responses["413"] = errResp("body too large")
			responses["422"] = errResp("invalid fields")
		}
		if strings.Contains(op.Path, "{") {
			responses["404"] = errResp("no such resource in this tenant")
		}
		p[strings.ToLower(op.Method)] = o
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Accord API", "version": "1",
			"description": "The HTTP API of Accord: leads, the agreement and its timers, figures. Errors: {\"error\": {\"code\", \"message\", \"fields\"}}."},
		"servers":    []any{map[string]any{"url": "/api/v1"}},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas(), "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
	}
})

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, openAPIDoc())
}
