package server

import "net/http"

// Reference data and provisioning: stubs until they are built.

func (s *Server) notBuiltAPI(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, http.StatusNotImplemented, "not_implemented", "this endpoint is not built yet", nil)
}

func (s *Server) handleAPICalendarCreate(w http.ResponseWriter, r *http.Request) { s.notBuiltAPI(w, r) }
func (s *Server) handleAPIReasonList(w http.ResponseWriter, r *http.Request)     { s.notBuiltAPI(w, r) }
func (s *Server) handleAPIReasonCreate(w http.ResponseWriter, r *http.Request)   { s.notBuiltAPI(w, r) }
func (s *Server) handleAPISegmentList(w http.ResponseWriter, r *http.Request)    { s.notBuiltAPI(w, r) }
func (s *Server) handleAPISegmentReplace(w http.ResponseWriter, r *http.Request) { s.notBuiltAPI(w, r) }
func (s *Server) handleAPIRoutingShow(w http.ResponseWriter, r *http.Request)    { s.notBuiltAPI(w, r) }
func (s *Server) handleAPIRoutingReplace(w http.ResponseWriter, r *http.Request) { s.notBuiltAPI(w, r) }
func (s *Server) handleAPITargetList(w http.ResponseWriter, r *http.Request)     { s.notBuiltAPI(w, r) }
func (s *Server) handleAPITargetReplace(w http.ResponseWriter, r *http.Request)  { s.notBuiltAPI(w, r) }
func (s *Server) handleAPIQualificationShow(w http.ResponseWriter, r *http.Request) {
	s.notBuiltAPI(w, r)
}
func (s *Server) handleAPIQualificationReplace(w http.ResponseWriter, r *http.Request) {
	s.notBuiltAPI(w, r)
}

func (s *Server) settingsTabNotBuilt(w http.ResponseWriter, r *http.Request, key string) {
	r = withURLParam(r, "tab", key)
	s.handleSettingsNotBuilt(w, r)
}

func (s *Server) handleSegmentsShow(w http.ResponseWriter, r *http.Request) {
	s.settingsTabNotBuilt(w, r, "segments")
}
func (s *Server) handleSegmentsSave(w http.ResponseWriter, r *http.Request) {
	s.settingsTabNotBuilt(w, r, "segments")
}
func (s *Server) handleReasonsShow(w http.ResponseWriter, r *http.Request) {
	s.settingsTabNotBuilt(w, r, "reasons")
}
func (s *Server) handleReasonCreate(w http.ResponseWriter, r *http.Request) {
	s.settingsTabNotBuilt(w, r, "reasons")
}
func (s *Server) handleRoutingShow(w http.ResponseWriter, r *http.Request) {
	s.settingsTabNotBuilt(w, r, "routing")
}
func (s *Server) handleRoutingSave(w http.ResponseWriter, r *http.Request) {
	s.settingsTabNotBuilt(w, r, "routing")
}
func (s *Server) handleQualificationShow(w http.ResponseWriter, r *http.Request) {
	s.settingsTabNotBuilt(w, r, "qualification")
}
func (s *Server) handleQualificationSave(w http.ResponseWriter, r *http.Request) {
	s.settingsTabNotBuilt(w, r, "qualification")
}
func (s *Server) handleTargetsShow(w http.ResponseWriter, r *http.Request) {
	s.settingsTabNotBuilt(w, r, "targets")
}
func (s *Server) handleTargetsSave(w http.ResponseWriter, r *http.Request) {
	s.settingsTabNotBuilt(w, r, "targets")
}
