package view

import "github.com/accordhq/accord/internal/validator"

// ContentLibraryView is the content library: assets with their use in the
// period, the unused share and the request queue's figures.
type ContentLibraryView struct {
	Filter       ContentFilterView
	Periods      []Option
	PeriodLabel  string
	Kinds        []Option
	Stages       []Option
	Segments     []Option
	Assets       []AssetRowView
	CanManage    bool
	Active       int64  // active assets in the list's scope
	Used         int64  // of those, used in the period
	UnusedShare  string // "40 %" of active assets unused, or "no data"
	OpenReqs     int64
	MedianFulfil string // "2.5 days" or "no data"
	NextURL      string
}

// ContentFilterView is the library's filter form as submitted.
type ContentFilterView struct {
	Q, Kind, Stage, Segment, Period string
	Archived                        bool
}

// AssetRowView is one asset in the library.
type AssetRowView struct {
	ID, Title, Kind, Stage, Segment, Owner, URL string
	Tags                                        []string
	Uses, Leads                                 int64
	Archived                                    bool
}

// AssetView is one asset's page: details, figures, uses, and the edit form.
type AssetView struct {
	Asset     AssetRowView
	Created   string
	Figures   []AssetFigureRow
	Uses      []AssetUseView
	Opens     int64
	CanManage bool
	Form      AssetFormView
}

// AssetFigureRow compares the asset's leads with the leads of its segment
// that went without it.
type AssetFigureRow struct {
	Label         string
	With, Without string // "12 of 40 (30 %)"
}

// AssetUseView is one use of an asset on a lead.
type AssetUseView struct {
	LeadID, LeadName, Stage, At, Actor string
	Opens                              int64
}

// AssetFormView is the create/edit form of an asset.
type AssetFormView struct {
	Action                                 string
	Title, Kind, Stage, Segment, URL, Tags string
	Kinds, Stages, Segments                []Option
	Errors                                 validator.Errors
	Edit                                   bool
}

// ContentRequestsView is the request queue with the form for a new one.
type ContentRequestsView struct {
	Status    string
	Statuses  []Option
	Requests  []RequestRowView
	CanCreate bool
	Form      RequestFormView
	NextURL   string
}

// RequestRowView is one request in the queue.
type RequestRowView struct {
	ID, Title, Objection, Requester, Segment, Status, StatusLabel, Age, Asset, AssetID, Lead, LeadID string
}

// RequestFormView is the form for a new request.
type RequestFormView struct {
	Title, Objection, Segment, LeadID string
	Segments                          []Option
	Errors                            validator.Errors
}

// ContentRequestView is one request's page: its thread and, for marketing,
// the controls to work it.
type ContentRequestView struct {
	Request   RequestRowView
	Created   string
	Comments  []CommentView
	CanManage bool
	Statuses  []Option
	Assets    []Option
	Errors    validator.Errors
}

// CommentView is one comment of a request's thread.
type CommentView struct {
	Author, At, Body string
}

// LeadContentView is an asset used on a lead, on the lead page.
type LeadContentView struct {
	AssetID, Title, Kind, TrackedURL, LastOpened string
	Opens                                        int64
	Archived                                     bool
}

func segmentText(s string) string {
	if s == "" {
		return "every segment"
	}
	return s
}

func joinTags(tags []string) string {
	out := ""
	for i, t := range tags {
		if i > 0 {
			out += ", "
		}
		out += t
	}
	return out
}
