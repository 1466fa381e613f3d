package server

import "net/http"

// CSV import: stubs until it is built.

func (s *Server) handleAPIImportCreate(w http.ResponseWriter, r *http.Request) { s.notBuiltAPI(w, r) }
func (s *Server) handleAPIImportShow(w http.ResponseWriter, r *http.Request)   { s.notBuiltAPI(w, r) }

func (s *Server) handleImportNew(w http.ResponseWriter, r *http.Request) {
	s.handleSectionNotBuilt("import")(w, r)
}
func (s *Server) handleImportUpload(w http.ResponseWriter, r *http.Request) { s.handleImportNew(w, r) }
func (s *Server) handleImportShow(w http.ResponseWriter, r *http.Request)   { s.handleImportNew(w, r) }
func (s *Server) handleImportProgress(w http.ResponseWriter, r *http.Request) {
	s.handleImportNew(w, r)
}
func (s *Server) handleImportStart(w http.ResponseWriter, r *http.Request) { s.handleImportNew(w, r) }
