package server

import "net/http"

// Inbox, lead list and lead page: stubs while they are built.

func (s *Server) handleInboxShow(w http.ResponseWriter, r *http.Request) {
	s.handleSectionNotBuilt("inbox")(w, r)
}
func (s *Server) handleInboxAccept(w http.ResponseWriter, r *http.Request)   { s.handleInboxShow(w, r) }
func (s *Server) handleInboxReject(w http.ResponseWriter, r *http.Request)   { s.handleInboxShow(w, r) }
func (s *Server) handleInboxTouch(w http.ResponseWriter, r *http.Request)    { s.handleInboxShow(w, r) }
func (s *Server) handleInboxSnooze(w http.ResponseWriter, r *http.Request)   { s.handleInboxShow(w, r) }
func (s *Server) handleInboxReassign(w http.ResponseWriter, r *http.Request) { s.handleInboxShow(w, r) }
func (s *Server) handleLeadList(w http.ResponseWriter, r *http.Request) {
	s.handleSectionNotBuilt("leads")(w, r)
}
func (s *Server) handleLeadShow(w http.ResponseWriter, r *http.Request)       { s.handleLeadList(w, r) }
func (s *Server) handleLeadTransition(w http.ResponseWriter, r *http.Request) { s.handleLeadList(w, r) }
func (s *Server) handleLeadActivity(w http.ResponseWriter, r *http.Request)   { s.handleLeadList(w, r) }
func (s *Server) handleNotificationList(w http.ResponseWriter, r *http.Request) {
	s.handleSectionNotBuilt("inbox")(w, r)
}
func (s *Server) handleNotificationsRead(w http.ResponseWriter, r *http.Request) {
	s.handleNotificationList(w, r)
}
