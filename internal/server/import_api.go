package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
)

// apiImportErrors is how many skipped rows GET /imports/{id} lists (the
// first by line); errors_total says how many there are.
const apiImportErrors = 1000

// importJSON is an import as the API shows it (API.md imports).
type importJSON struct {
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Preset      string            `json:"preset"`
	Filename    string            `json:"filename"`
	SizeBytes   int64             `json:"size_bytes"`
	RowsTotal   int               `json:"rows_total"`
	RowsDone    int               `json:"rows_done"`
	Created     int               `json:"created"`
	Updated     int               `json:"updated"`
	Skipped     int               `json:"skipped"`
	Errors      []importErrorJSON `json:"errors"`
	ErrorsTotal int               `json:"errors_total"`
	Failure     *string           `json:"failure"`
	CreatedAt   time.Time         `json:"created_at"`
	StartedAt   *time.Time        `json:"started_at"`
	FinishedAt  *time.Time        `json:"finished_at"`
}

type importErrorJSON struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

func toImportJSON(im postgres.Import, errs []postgres.ImportError) importJSON {
	j := importJSON{ID: im.ID.String(), Status: string(im.Status), Preset: string(im.Preset), Filename: im.Filename,
		SizeBytes: im.SizeBytes, RowsTotal: im.RowsTotal, RowsDone: im.RowsDone, Created: im.Created, Updated: im.Updated,
		Skipped: im.Skipped, Errors: make([]importErrorJSON, 0, len(errs)), ErrorsTotal: im.Skipped,
		CreatedAt: im.CreatedAt, StartedAt: im.StartedAt, FinishedAt: im.FinishedAt}
	for _, e := range errs {
		j.Errors = append(j.Errors, importErrorJSON{Line: e.Line, Message: e.Message})
	}
	if im.Failure != "" {
		j.Failure = &im.Failure
	}
	return j
}

// handleAPIImportCreate takes a multipart upload (file, preset), stores the
// file as it streams in and starts the import at once: 202 with the import.
func (s *Server) handleAPIImportCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, _, errs, err := s.receiveImport(r, p, false, true)
	switch {
	case errors.Is(err, errUploadNotMultipart):
		writeAPIError(w, http.StatusBadRequest, "bad_request",
			"send the file as multipart/form-data with the parts preset (accord, hubspot or salesforce) and file", nil)
		return
	case errors.Is(err, errUploadCutOff):
		writeAPIError(w, http.StatusBadRequest, "bad_request", "the multipart body is malformed or ended early: send it again", nil)
		return
	case err != nil:
		s.apiFail(w, r, err)
		return
	case errs != nil:
		writeAPIError(w, http.StatusUnprocessableEntity, "invalid", "the import cannot start: "+errs.Error(), errs)
		return
	}
	im, err := s.store.FindImport(r.Context(), p.TenantID(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/imports/"+id.String())
	writeJSON(w, http.StatusAccepted, toImportJSON(im, nil))
}

// handleAPIImportShow reports an import's progress and its skipped rows.
func (s *Server) handleAPIImportShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, err := importID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	im, err := s.store.FindImport(r.Context(), p.TenantID(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	errs, err := s.store.FindImportErrors(r.Context(), p.TenantID(), id, apiImportErrors)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toImportJSON(im, errs))
}
