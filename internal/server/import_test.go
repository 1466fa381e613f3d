package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
)

// part is one part of a multipart body; file parts have a filename.
type part struct{ name, filename, value string }

func multipartBody(t testing.TB, parts ...part) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.filename != "" {
			w, err = mw.CreateFormFile(p.name, p.filename)
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		require.NoError(t, err)
		_, err = io.WriteString(w, p.value)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return &buf, mw.FormDataContentType()
}

// apiImport posts a multipart import with a bearer token.
func (h *harness) apiImport(token string, parts ...part) (int, map[string]any, http.Header) {
	h.t.Helper()
	body, ct := multipartBody(h.t, parts...)
	return h.rawAPI(http.MethodPost, "/imports", token, body, ct)
}

func (h *harness) rawAPI(method, path, token string, body io.Reader, contentType string, headers ...string) (int, map[string]any, http.Header) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+"/api/v1"+path, body)
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(h.t, json.Unmarshal(raw, &out), "body: %s", raw)
	}
	return resp.StatusCode, out, resp.Header
}

// upload posts a multipart form from the browser session.
func (b *browser) upload(path string, parts []part, headers ...string) page {
	b.t.Helper()
	body, ct := multipartBody(b.t, parts...)
	req, err := http.NewRequest(http.MethodPost, b.h.ts.URL+path, body)
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// runImports runs the import job of id to its end, as the worker would.
func (h *harness) runImport(tn postgrestest.Tenant, id string) postgres.Import {
	h.t.Helper()
	im, err := h.db.Store.RunImport(context.Background(), tn.ID, uuid.MustParse(id), postgres.RunImportOptions{Now: h.clock.Now})
	require.NoError(h.t, err)
	return im
}

const accordCSV = "external_id,email,first_name,company,segment,stage,notes\n" +
	"a-1,ana@example.com,Ana,Example GmbH,enterprise,mql,hello\n" +
	"a-2,not-an-email,Bo,,,,\n" +
	"a-3,cy@example.com,Cy,,,,\n" +
	"a-1,ana2@example.com,Again,,,,\n"

func TestAPI_ImportCreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ingest := h.token(h.a, auth.ScopeIngest)

	t.Run("OK", func(t *testing.T) {
		status, body, hdr := h.apiImport(ingest, part{name: "preset", value: "accord"}, part{name: "file", filename: "leads.csv", value: accordCSV})
		require.Equal(t, http.StatusAccepted, status, "%v", body)
		id, _ := body["id"].(string)
		require.NotEmpty(t, id)
		require.Equal(t, "/api/v1/imports/"+id, hdr.Get("Location"))
		require.Equal(t, "running", body["status"])
		require.EqualValues(t, 4, body["rows_total"])
		require.EqualValues(t, 0, body["rows_done"])
		require.Equal(t, "leads.csv", body["filename"])

		h.runImport(h.a, id)
		status, body, _ = h.api(http.MethodGet, "/imports/"+id, h.token(h.a, auth.ScopeRead), nil)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "done", body["status"])
		require.EqualValues(t, 4, body["rows_done"])
		require.EqualValues(t, 2, body["created"])
		require.EqualValues(t, 0, body["updated"])
		require.EqualValues(t, 2, body["skipped"])
		require.EqualValues(t, 2, body["errors_total"])
		require.Nil(t, body["failure"])
		errs := body["errors"].([]any)
		require.Len(t, errs, 2)
		first := errs[0].(map[string]any)
		require.EqualValues(t, 3, first["line"])
		require.Contains(t, first["message"], "email: must be a valid address")
		second := errs[1].(map[string]any)
		require.EqualValues(t, 5, second["line"])
		require.Contains(t, second["message"], "repeats line 2")
	})

	t.Run("FileBeforePreset", func(t *testing.T) {
		status, body, _ := h.apiImport(ingest, part{name: "file", filename: "hs.csv", value: "Record ID,Email\n9,z@example.com\n"},
			part{name: "preset", value: "hubspot"})
		require.Equal(t, http.StatusAccepted, status, "%v", body)
		require.Equal(t, "hubspot", body["preset"])
	})

	t.Run("Invalid", func(t *testing.T) {
		for name, tc := range map[string]struct {
			parts []part
			field string
			want  string
		}{
			"NoPreset":      {[]part{{name: "file", filename: "a.csv", value: accordCSV}}, "preset", "accord, hubspot or salesforce"},
			"BadPreset":     {[]part{{name: "preset", value: "pipedrive"}, {name: "file", filename: "a.csv", value: accordCSV}}, "preset", "must be one of accord, hubspot, salesforce"},
			"NoFile":        {[]part{{name: "preset", value: "accord"}}, "file", "attach the CSV file"},
			"EmptyFile":     {[]part{{name: "preset", value: "accord"}, {name: "file", filename: "a.csv", value: ""}}, "file", "the file is empty"},
			"NoKeyColumn":   {[]part{{name: "preset", value: "accord"}, {name: "file", filename: "a.csv", value: "name,phone\nAna,1\n"}}, "file", `neither a "external_id" nor an "email" column`},
			"WrongPreset":   {[]part{{name: "preset", value: "accord"}, {name: "file", filename: "a.csv", value: "Lead ID,Last Name\n00Q1,Ruiz\n"}}, "file", "choose the salesforce preset"},
			"Spreadsheet":   {[]part{{name: "preset", value: "accord"}, {name: "file", filename: "a.xlsx", value: "PK\x03\x04rest"}}, "file", "spreadsheet workbook"},
			"UTF16":         {[]part{{name: "preset", value: "accord"}, {name: "file", filename: "a.csv", value: "\xff\xfee\x00m\x00"}}, "file", "UTF-16"},
			"TwoFiles":      {[]part{{name: "preset", value: "accord"}, {name: "file", filename: "a.csv", value: accordCSV}, {name: "file", filename: "b.csv", value: accordCSV}}, "file", "one file"},
			"HeaderControl": {[]part{{name: "preset", value: "accord"}, {name: "file", filename: "a.csv", value: "email\x00,x\n"}}, "file", "control characters"},
		} {
			t.Run(name, func(t *testing.T) {
				status, body, _ := h.apiImport(ingest, tc.parts...)
				require.Equal(t, http.StatusUnprocessableEntity, status, "%v", body)
				require.Equal(t, "invalid", errCode(body))
				require.Contains(t, errFields(body)[tc.field], tc.want)
			})
		}
		list, err := h.db.Store.FindImports(context.Background(), h.a.ID, 100)
		require.NoError(t, err)
		for _, im := range list {
			require.NotEqual(t, "a.csv", im.Filename, "a refused upload leaves nothing behind")
		}
		require.Zero(t, countRefusedChunks(t, h, h.a), "no orphaned chunks")
	})

	t.Run("NotMultipart", func(t *testing.T) {
		status, body, _ := h.api(http.MethodPost, "/imports", ingest, map[string]any{"preset": "accord"})
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "bad_request", errCode(body))
		require.Contains(t, body["error"].(map[string]any)["message"], "multipart/form-data")
	})

	t.Run("TooLarge", func(t *testing.T) {
		big := "email\n" + strings.Repeat("someone@example.com\n", 11<<20/20)
		status, body, _ := h.apiImport(ingest, part{name: "preset", value: "accord"}, part{name: "file", filename: "big.csv", value: big})
		require.Equal(t, http.StatusRequestEntityTooLarge, status, "%v", body)
		require.Equal(t, "too_large", errCode(body))
	})

	t.Run("Scope", func(t *testing.T) {
		status, body, _ := h.apiImport(h.token(h.a, auth.ScopeRead), part{name: "preset", value: "accord"}, part{name: "file", filename: "a.csv", value: accordCSV})
		require.Equal(t, http.StatusForbidden, status)
		require.Equal(t, "forbidden", errCode(body))
	})

	t.Run("Idempotent", func(t *testing.T) {
		body, ct := multipartBody(t, part{name: "preset", value: "accord"}, part{name: "file", filename: "idem.csv", value: accordCSV})
		raw := body.Bytes()
		s1, b1, _ := h.rawAPI(http.MethodPost, "/imports", ingest, bytes.NewReader(raw), ct, "Idempotency-Key", "imp-1")
		s2, b2, hdr := h.rawAPI(http.MethodPost, "/imports", ingest, bytes.NewReader(raw), ct, "Idempotency-Key", "imp-1")
		require.Equal(t, http.StatusAccepted, s1)
		require.Equal(t, http.StatusAccepted, s2)
		require.Equal(t, b1["id"], b2["id"])
		require.Equal(t, "true", hdr.Get("Idempotent-Replayed"))
	})
}

// countRefusedChunks counts the stored chunks of uploads named a.csv, the
// name the refused uploads of the tests use.
func countRefusedChunks(t *testing.T, h *harness, tn postgrestest.Tenant) int {
	t.Helper()
	ctx := context.Background()
	tx, err := h.db.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, true)`, tn.ID.String())
	require.NoError(t, err)
	var n int
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM import_chunks c
		JOIN imports i ON i.tenant_id = c.tenant_id AND i.id = c.import_id WHERE i.filename = 'a.csv'`).Scan(&n))
	return n
}

// TestImport_OtherTenantNotFound: every import endpoint that takes an id
// answers 404 for another tenant's import and for a malformed id, and
// changes nothing.
func TestImport_OtherTenantNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	status, body, _ := h.apiImport(h.token(h.a, auth.ScopeIngest), part{name: "preset", value: "accord"}, part{name: "file", filename: "a.csv", value: accordCSV})
	require.Equal(t, http.StatusAccepted, status)
	running := body["id"].(string)

	br := h.browser()
	br.login(h.a.AdminEmail, postgrestest.Password)
	br.get("/import")
	p := br.upload("/import", []part{{name: "csrf_token", value: br.csrf}, {name: "preset", value: "accord"}, {name: "file", filename: "w.csv", value: accordCSV}})
	require.Equal(t, http.StatusSeeOther, p.status, p.text("#form-errors"))
	uploaded := strings.TrimPrefix(p.header.Get("Location"), "/import/")

	other := h.token(h.b, auth.ScopeAdmin)
	for _, id := range []string{running, uploaded, "not-a-uuid", uuid.NewString()} {
		status, body, _ := h.api(http.MethodGet, "/imports/"+id, other, nil)
		require.Equal(t, http.StatusNotFound, status, id)
		require.Equal(t, "not_found", errCode(body))
	}

	ob := h.browser()
	ob.login(h.b.AdminEmail, postgrestest.Password)
	ob.get("/import")
	for _, id := range []string{running, uploaded, "not-a-uuid"} {
		require.Equal(t, http.StatusNotFound, ob.get("/import/"+id).status, id)
		require.Equal(t, http.StatusNotFound, ob.get("/import/"+id+"/progress").status, id)
		require.Equal(t, http.StatusNotFound, ob.post("/import/"+id+"/start", nil).status, id)
	}
	im, err := h.db.Store.FindImport(context.Background(), h.a.ID, uuid.MustParse(uploaded))
	require.NoError(t, err)
	require.Equal(t, lead.ImportUploaded, im.Status, "another tenant cannot start it")
}

func TestWeb_Import(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	br := h.browser()
	br.login(h.a.AdminEmail, postgrestest.Password)

	form := br.get("/import")
	require.Equal(t, http.StatusOK, form.status)
	first := form.doc.Find("#import-form input").First()
	name, _ := first.Attr("name")
	require.Equal(t, "csrf_token", name, "the token is the form's first field")
	enctype, _ := form.doc.Find("#import-form").Attr("enctype")
	require.Equal(t, "multipart/form-data", enctype)
	require.Equal(t, 3, form.doc.Find(`#import-form input[name=preset]`).Length())

	t.Run("CSRF", func(t *testing.T) {
		noToken := br.upload("/import", []part{{name: "preset", value: "accord"}, {name: "file", filename: "x.csv", value: accordCSV}})
		require.Equal(t, http.StatusForbidden, noToken.status)
		wrong := br.upload("/import", []part{{name: "csrf_token", value: "nope"}, {name: "preset", value: "accord"}, {name: "file", filename: "x.csv", value: accordCSV}})
		require.Equal(t, http.StatusForbidden, wrong.status)
		late := br.upload("/import", []part{{name: "preset", value: "accord"}, {name: "csrf_token", value: br.csrf}, {name: "file", filename: "x.csv", value: accordCSV}})
		require.Equal(t, http.StatusForbidden, late.status, "the token must come before anything else")
		list, err := h.db.Store.FindImports(context.Background(), h.a.ID, 10)
		require.NoError(t, err)
		require.Empty(t, list)
		header := br.upload("/import", []part{{name: "preset", value: "accord"}, {name: "file", filename: "x.csv", value: accordCSV}},
			"X-CSRF-Token", br.csrf)
		require.Equal(t, http.StatusSeeOther, header.status, "the header works too")
	})

	t.Run("MissingKeyColumn", func(t *testing.T) {
		br.get("/import")
		p := br.upload("/import", []part{{name: "csrf_token", value: br.csrf}, {name: "preset", value: "hubspot"},
			{name: "file", filename: "bad.csv", value: "Name,Phone\nAna,1\n"}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		require.Contains(t, p.text("#err-file"), `neither a "Record ID" nor an "Email" column`)
		_, checked := p.doc.Find(`#preset-hubspot`).Attr("checked")
		require.True(t, checked, "the form keeps the chosen preset")
	})

	t.Run("PreviewStartResult", func(t *testing.T) {
		br.get("/import")
		p := br.upload("/import", []part{{name: "csrf_token", value: br.csrf}, {name: "preset", value: "accord"},
			{name: "file", filename: "leads.csv", value: accordCSV}})
		require.Equal(t, http.StatusSeeOther, p.status)
		loc := p.header.Get("Location")
		require.True(t, strings.HasPrefix(loc, "/import/"), loc)
		id := strings.TrimPrefix(loc, "/import/")

		pv := br.get(loc)
		require.Equal(t, http.StatusOK, pv.status)
		require.Equal(t, "4", pv.text("#import-rows-total"))
		notes := pv.doc.Find(`#import-mapping tr[data-column="notes"]`)
		require.Contains(t, notes.Text(), "not imported")
		email := pv.doc.Find(`#import-mapping tr[data-column="email"]`)
		require.Contains(t, email.Text(), "email")
		rows := pv.doc.Find("#import-sample tbody tr")
		require.Equal(t, 4, rows.Length())
		require.Contains(t, rows.Eq(0).Text(), "mql")
		require.Contains(t, rows.Eq(1).Text(), "must be a valid address")
		require.Contains(t, rows.Eq(3).Text(), "repeats line 2")
		require.Equal(t, 0, pv.doc.Find("#import-progress").Length(), "nothing runs before it is started")
		require.Contains(t, pv.text("#import-start"), "Import 4 rows")

		started := br.post(loc+"/start", nil)
		require.Equal(t, http.StatusSeeOther, started.status)
		running := br.get(loc)
		status := running.doc.Find("#import-status")
		trigger, _ := status.Attr("hx-trigger")
		require.Equal(t, "every 1s", trigger)
		get, _ := status.Attr("hx-get")
		require.Equal(t, loc+"/progress", get)
		require.Equal(t, 1, running.doc.Find("progress#import-progress").Length())

		h.runImport(h.a, id)
		frag := br.getHX(loc + "/progress")
		require.Equal(t, http.StatusOK, frag.status)
		require.NotContains(t, frag.body, "<html", "a fragment, not a page")
		done := frag.doc.Find("#import-status")
		_, polling := done.Attr("hx-trigger")
		require.False(t, polling, "polling stops when the import is done")
		require.Equal(t, "done", attr(frag.doc, "#import-result", "data-status"))
		require.Equal(t, attr(frag.doc, "#import-progress", "max"), attr(frag.doc, "#import-progress", "value"))
		require.Equal(t, "2", frag.text("#import-created"))
		require.Equal(t, "2", frag.text("#import-skipped"))
		require.Equal(t, 2, frag.doc.Find("#import-errors tbody tr").Length())
		require.Contains(t, frag.text(`#import-errors tr[data-line="5"]`), "repeats line 2")

		list := br.get("/import")
		require.Contains(t, list.text("#import-list"), "leads.csv")
	})

	t.Run("Roles", func(t *testing.T) {
		postgrestest.CreateMember(t, h.db.Store, h.a, "mkt@alpha.test", "Marketer", tenant.RoleMarketing, h.clock.Now())
		postgrestest.CreateMember(t, h.db.Store, h.a, "rep@alpha.test", "Rep", tenant.RoleRep, h.clock.Now())
		mkt := h.browser()
		mkt.login("mkt@alpha.test", postgrestest.Password)
		require.Equal(t, http.StatusOK, mkt.get("/import").status)
		rep := h.browser()
		rep.login("rep@alpha.test", postgrestest.Password)
		require.Equal(t, http.StatusForbidden, rep.get("/import").status)
		rep.get("/")
		p := rep.upload("/import", []part{{name: "csrf_token", value: rep.csrf}, {name: "preset", value: "accord"}, {name: "file", filename: "r.csv", value: accordCSV}})
		require.Equal(t, http.StatusForbidden, p.status)
	})
}

func attr(doc *goquery.Document, sel, name string) string {
	v, _ := doc.Find(sel).Attr(name)
	return v
}

// getHX is a GET as htmx sends it.
func (b *browser) getHX(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.h.ts.URL+path, nil)
	require.NoError(b.t, err)
	req.Header.Set("HX-Request", "true")
	return b.do(req)
}
