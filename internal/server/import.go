package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/validator"
	"github.com/accordhq/accord/web/view"
)

// CSV import: the upload form and preview (web), POST /api/v1/imports, and
// the progress and result of each import. The upload streams: each part is
// read as it arrives and the file goes to the database chunk by chunk,
// counted on the way, so even a 1 GiB file never sits in memory.

// Problems with an upload request that are not about its fields.
var (
	errUploadNotMultipart = errors.New("the request is not multipart/form-data")
	errUploadCSRF         = errors.New("the upload's CSRF token is missing or wrong")
	errUploadCutOff       = errors.New("the upload ended early or is malformed")
)

// importSamples is how many rows the preview shows.
const importSamples = 10

// importErrorsShown is how many skipped rows an import's page lists.
const importErrorsShown = 500

// storeWriter remembers the error of the writer the upload is teed into,
// so a database failure is told apart from a broken upload.
type storeWriter struct {
	w   io.Writer
	err error
}

func (sw *storeWriter) Write(p []byte) (int, error) {
	n, err := sw.w.Write(p)
	if err != nil && sw.err == nil {
		sw.err = err
	}
	return n, err
}

// receiveImport streams a multipart upload (parts preset and file, in any
// order) into a new import and reports its id and preset. With web set the
// request must carry the session's CSRF token, in the X-CSRF-Token header
// or as the first part, csrf_token, which is checked before anything is
// stored. With start the import is queued at once. Field problems come
// back as errs, and nothing of the upload is kept.
func (s *Server) receiveImport(r *http.Request, p auth.Principal, web, start bool) (_ uuid.UUID, _ lead.Preset, errs validator.Errors, err error) {
	mr, merr := r.MultipartReader()
	if merr != nil {
		return uuid.Nil, "", nil, errUploadNotMultipart
	}
	csrfOK := !web || (r.Header.Get("X-CSRF-Token") != "" && s.checkCSRF(r, ""))
	var up *postgres.ImportUpload
	defer func() {
		if up != nil && (err != nil || errs != nil) {
			if aerr := up.Abort(); aerr != nil {
				s.logger.ErrorContext(r.Context(), "delete aborted import upload", "request_id", requestIDFrom(r.Context()), "error", aerr.Error())
			}
		}
	}()
	var presetRaw string
	presetSet, checked, first := false, false, true
	var header []string
	rows := 0
	for {
		part, perr := mr.NextPart()
		if perr == io.EOF {
			break
		}
		if perr != nil {
			return uuid.Nil, "", nil, uploadReadError(perr)
		}
		name := part.FormName()
		if !csrfOK {
			if first && name == "csrf_token" {
				tok, rerr := readPart(part, 256)
				if rerr != nil {
					return uuid.Nil, "", nil, uploadReadError(rerr)
				}
				csrfOK = s.checkCSRF(r, tok)
			}
			if !csrfOK {
				return uuid.Nil, "", nil, errUploadCSRF
			}
			first = false
			continue
		}
		first = false
		switch name {
		case "preset":
			v, rerr := readPart(part, 100)
			if rerr != nil {
				return uuid.Nil, "", nil, uploadReadError(rerr)
			}
			presetRaw, presetSet = strings.ToLower(strings.TrimSpace(v)), true
		case "file":
			if up != nil {
				errs.Add("file", "send one file per import")
				return uuid.Nil, lead.Preset(presetRaw), errs, nil
			}
			if up, err = s.store.BeginImportUpload(r.Context(), p.TenantID(), p.Actor(), lead.ImportFilename(part.FileName()), s.now()); err != nil {
				return uuid.Nil, "", nil, err
			}
			var check func([]string) error
			if pr := lead.Preset(presetRaw); presetSet && pr.Valid() {
				// The preset came first (as the form sends it): a file it cannot
				// import is refused before the rest is stored.
				check = func(h []string) error { _, err := lead.NewMapping(pr, h); return err }
				checked = true
			}
			sw := &storeWriter{w: up}
			var serr error
			header, rows, serr = lead.ScanCSV(io.TeeReader(part, sw), check)
			var fe *lead.FileError
			var he *lead.HeaderError
			switch {
			case serr == nil:
			case sw.err != nil:
				return uuid.Nil, "", nil, sw.err
			case errors.As(serr, &fe):
				errs.Add("file", fe.Msg)
				return uuid.Nil, lead.Preset(presetRaw), errs, nil
			case errors.As(serr, &he):
				errs.Add("file", he.Msg)
				return uuid.Nil, lead.Preset(presetRaw), errs, nil
			default:
				return uuid.Nil, "", nil, uploadReadError(serr)
			}
		}
	}
	if !csrfOK {
		return uuid.Nil, "", nil, errUploadCSRF
	}
	preset := lead.Preset(presetRaw)
	switch {
	case !presetSet || presetRaw == "":
		errs.Add("preset", "choose where the file comes from: accord, hubspot or salesforce")
	case !preset.Valid():
		errs.Add("preset", "must be one of accord, hubspot, salesforce")
	}
	if up == nil {
		errs.Add("file", "attach the CSV file (the part named file)")
	}
	if errs != nil {
		return uuid.Nil, lead.Preset(presetRaw), errs, nil
	}
	if !checked {
		if _, herr := lead.NewMapping(preset, header); herr != nil {
			errs.Add("file", herr.Error())
			return uuid.Nil, lead.Preset(presetRaw), errs, nil
		}
	}
	if err := up.Finish(preset, rows, start, s.now()); err != nil {
		return uuid.Nil, "", nil, err
	}
	return up.ID(), preset, nil, nil
}

// readPart reads a small form field, refusing one longer than max bytes.
func readPart(part io.Reader, max int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, max+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > max {
		return "", errUploadCutOff
	}
	return string(b), nil
}

// uploadReadError sorts a failure to read the request body: too large, or
// cut off (the client went away or sent a broken body).
func uploadReadError(err error) error {
	if isTooLarge(err) {
		return err
	}
	return errUploadCutOff
}

// drainUpload reads what is left of a refused upload (a bounded amount), so
// the browser gets to read the answer instead of a reset connection.
func drainUpload(r *http.Request) {
	_, _ = io.CopyN(io.Discard, r.Body, 32<<20)
}

// importID parses the {id} of an import URL; a malformed id is not found.
func importID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		return uuid.Nil, postgres.ErrNotFound
	}
	return id, nil
}

func (s *Server) importNewView(ctx context.Context, p auth.Principal, preset lead.Preset, errs validator.Errors) (view.ImportNewView, error) {
	v := view.ImportNewView{Errors: errs}
	if !preset.Valid() {
		preset = lead.PresetAccord
	}
	for _, pr := range lead.Presets {
		v.Presets = append(v.Presets, view.ImportPresetOption{Value: string(pr), Label: pr.Label(), Headers: pr.Headers(), Selected: pr == preset})
	}
	recent, err := s.store.FindImports(ctx, p.TenantID(), 20)
	if err != nil {
		return v, err
	}
	for _, im := range recent {
		v.Recent = append(v.Recent, view.ImportSummary{ID: im.ID.String(), Filename: im.Filename, Preset: im.Preset.Label(),
			Status: string(im.Status), RowsTotal: im.RowsTotal, Created: im.Created, Updated: im.Updated, Skipped: im.Skipped,
			CreatedAt: im.CreatedAt, By: im.Actor.Name})
	}
	return v, nil
}

func (s *Server) handleImportNew(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.importNewView(r.Context(), p, "", nil)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.ImportNewPage(s.page(r, "Import", "import"), v))
}

// handleImportUpload receives the form's file and shows its preview. The
// route skips the CSRF middleware (it would buffer the body): the token
// is checked here, before anything is stored.
func (s *Server) handleImportUpload(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, preset, errs, err := s.receiveImport(r, p, true, false)
	switch {
	case errors.Is(err, errUploadCSRF):
		drainUpload(r)
		s.errorPage(w, r, http.StatusForbidden, "Form expired",
			"This form is out of date or did not come from Accord, so nothing was uploaded. Reload the page and try again.")
	case errors.Is(err, errUploadNotMultipart):
		s.errorPage(w, r, http.StatusBadRequest, "No file", "Choose a CSV file in the upload form and send it from there.")
	case isTooLarge(err):
		s.errorPage(w, r, http.StatusRequestEntityTooLarge, "File too large", "The file is larger than 1 GB: split it into smaller files and import each.")
	case errors.Is(err, errUploadCutOff):
		s.errorPage(w, r, http.StatusBadRequest, "Upload interrupted", "The file did not arrive completely, so nothing was kept. Please upload it again.")
	case err != nil:
		s.serverError(w, r, err)
	case errs != nil:
		drainUpload(r)
		v, verr := s.importNewView(r.Context(), p, preset, errs)
		if verr != nil {
			s.renderError(w, r, verr)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, view.ImportNewPage(s.page(r, "Import", "import"), v))
	default:
		s.redirect(w, r, "/import/"+id.String())
	}
}

// importView builds an import's page: the preview while it waits, the
// first skipped rows once it finished.
func (s *Server) importView(r *http.Request, p auth.Principal) (view.ImportView, error) {
	id, err := importID(r)
	if err != nil {
		return view.ImportView{}, err
	}
	im, err := s.store.FindImport(r.Context(), p.TenantID(), id)
	if err != nil {
		return view.ImportView{}, err
	}
	v := view.ImportView{ID: im.ID.String(), Filename: im.Filename, PresetLabel: im.Preset.Label(), Status: string(im.Status),
		SizeBytes: im.SizeBytes, RowsTotal: im.RowsTotal, RowsDone: im.RowsDone, Created: im.Created, Updated: im.Updated,
		Skipped: im.Skipped, Failure: im.Failure, By: im.Actor.Name, CreatedAt: im.CreatedAt, StartedAt: im.StartedAt,
		FinishedAt: im.FinishedAt, ExpiresAt: im.ExpiresAt(), ErrorsTotal: im.Skipped}
	switch {
	case im.Status == lead.ImportUploaded:
		if v.Preview, err = s.importPreview(r.Context(), p, im); err != nil {
			return v, err
		}
	case im.Status.Finished():
		errs, err := s.store.FindImportErrors(r.Context(), p.TenantID(), im.ID, importErrorsShown)
		if err != nil {
			return v, err
		}
		for _, e := range errs {
			v.Errors = append(v.Errors, view.ImportErrorView{Line: e.Line, Message: e.Message})
		}
	}
	return v, nil
}

// importPreview reads the header and the first rows of an uploaded file
// and checks them as the import will.
func (s *Server) importPreview(ctx context.Context, p auth.Principal, im postgres.Import) (*view.ImportPreviewView, error) {
	f, err := s.store.OpenImportFile(ctx, p.TenantID(), im.ID)
	if err != nil {
		return nil, err
	}
	segments, err := s.store.FindSegments(ctx, p.TenantID())
	if err != nil {
		return nil, err
	}
	rd := lead.NewCSVReader(f)
	header, err := lead.ReadHeader(rd)
	var fe *lead.FileError
	if errors.As(err, &fe) {
		return &view.ImportPreviewView{Problem: fe.Msg}, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := lead.NewMapping(im.Preset, header)
	if err != nil {
		return &view.ImportPreviewView{Problem: err.Error()}, nil
	}
	pv := &view.ImportPreviewView{}
	var imported []int
	for i, c := range m.Columns {
		pv.Columns = append(pv.Columns, view.ImportColumnView{Number: i + 1, Header: c.Header, Field: string(c.Field), Note: c.Note, Imported: c.Imported()})
		if c.Imported() {
			imported = append(imported, i)
			if c.Field != lead.FieldStage {
				pv.SampleHeaders = append(pv.SampleHeaders, c.Header)
			}
		} else {
			pv.NotImported++
		}
	}
	parser := lead.NewImportParser(m, segments, p.Tenant.Location())
	now := s.now()
	for len(pv.Samples) < importSamples {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		var le *lead.LineError
		if err != nil && !errors.As(err, &le) {
			return nil, err
		}
		row := parser.Parse(rec, le, now)
		sample := view.ImportSampleRow{Line: row.Line, Problem: row.Err}
		if le == nil && len(rec.Fields) == m.Width() {
			for _, i := range imported {
				if m.Columns[i].Field != lead.FieldStage {
					sample.Cells = append(sample.Cells, strings.TrimSpace(rec.Fields[i]))
				}
			}
			sample.Stage = string(row.Row.Stage)
			if row.Err != "" {
				sample.Stage = "—"
			}
		}
		pv.Samples = append(pv.Samples, sample)
	}
	return pv, nil
}

func (s *Server) handleImportShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.importView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.ImportShowPage(s.page(r, "Import "+v.Filename, "import"), v))
}

// handleImportProgress is what the progress bar polls: the status fragment
// (the whole page without htmx).
func (s *Server) handleImportProgress(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	v, err := s.importView(r, p)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if !isHTMX(r) {
		s.render(w, r, http.StatusOK, view.ImportShowPage(s.page(r, "Import "+v.Filename, "import"), v))
		return
	}
	s.render(w, r, http.StatusOK, view.ImportStatus(s.page(r, "Import", "import"), v))
}

// handleImportStart starts an uploaded import after its preview.
func (s *Server) handleImportStart(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, err := importID(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if _, err := s.store.StartImport(r.Context(), p.TenantID(), id, s.now()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.redirect(w, r, "/import/"+id.String())
}
