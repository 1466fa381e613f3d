package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/content"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/validator"
)

// assetJSON is a content asset as the API returns it.
type assetJSON struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Kind       string     `json:"kind"`
	Stage      string     `json:"stage"`
	Segment    *string    `json:"segment"`
	URL        string     `json:"url"`
	OwnerID    *string    `json:"owner_id"`
	Tags       []string   `json:"tags"`
	Archived   bool       `json:"archived"`
	ArchivedAt *time.Time `json:"archived_at"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	// In lists: uses in the whole history.
	Uses *int64 `json:"uses,omitempty"`
}

// assetFiguresJSON is an asset with its figures (GET /content-assets/{id}).
type assetFiguresJSON struct {
	assetJSON
	Uses          int64            `json:"uses"`
	Leads         int64            `json:"leads"`
	Opens         int64            `json:"opens"`
	Accepted      int64            `json:"accepted"`
	Opportunities int64            `json:"opportunities"`
	Won           int64            `json:"won"`
	Comparison    assetCompareJSON `json:"without_asset"`
}

// assetCompareJSON is the same segment's handed-off leads without the asset.
type assetCompareJSON struct {
	Segment       *string `json:"segment"`
	Leads         int64   `json:"leads"`
	Accepted      int64   `json:"accepted"`
	Opportunities int64   `json:"opportunities"`
	Won           int64   `json:"won"`
}

func toAssetJSON(a content.Asset) assetJSON {
	tags := a.Tags
	if tags == nil {
		tags = []string{}
	}
	return assetJSON{ID: a.ID.String(), Title: a.Title, Kind: string(a.Kind), Stage: string(a.Stage), Segment: a.Segment, URL: a.URL,
		OwnerID: idPtr(a.OwnerID), Tags: tags, Archived: a.Archived, ArchivedAt: a.ArchivedAt, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// queryLimit reads ?limit= (default 50), answering a bad one with 422.
func (s *Server) queryLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 50, true
	}
	n, ok := parseLimit(v)
	if !ok {
		s.apiFail(w, r, validator.Errors{"limit": "must be a whole number from 1 to 500"})
	}
	return n, ok
}

func (s *Server) handleAPIAssetList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	q := r.URL.Query()
	limit, ok := s.queryLimit(w, r)
	if !ok {
		return
	}
	f := content.Filter{Q: strings.TrimSpace(q.Get("q")), Kind: content.Kind(q.Get("kind")), Stage: lead.Stage(q.Get("stage")), Segment: q.Get("segment")}
	switch q.Get("archived") {
	case "":
	case "true", "false":
		b := q.Get("archived") == "true"
		f.Archived = &b
	case "any":
		f.All = true
	default:
		s.apiFail(w, r, validator.Errors{"archived": "must be true, false or any"})
		return
	}
	page, err := s.store.FindAssets(r.Context(), p.TenantID(), f, time.Time{}, time.Time{}, q.Get("cursor"), limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	resp := listResponse[assetJSON]{Data: []assetJSON{}}
	for _, a := range page.Assets {
		j := toAssetJSON(a.Asset)
		uses := a.Uses
		j.Uses = &uses
		resp.Data = append(resp.Data, j)
	}
	if page.NextCursor != "" {
		resp.NextCursor = &page.NextCursor
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleAPIAssetShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	d, err := s.store.FindAsset(r.Context(), p.TenantID(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	f := d.Figures
	writeJSON(w, http.StatusOK, assetFiguresJSON{assetJSON: toAssetJSON(d.Asset), Uses: f.Uses, Leads: f.Leads, Opens: f.Opens,
		Accepted: f.Accepted, Opportunities: f.Opportunities, Won: f.Won,
		Comparison: assetCompareJSON{Segment: d.Asset.Segment, Leads: f.BaseLeads, Accepted: f.BaseAccepted, Opportunities: f.BaseOpportunities, Won: f.BaseWon}})
}

// assetBody is the body of POST and PATCH /content-assets.
type assetBody struct {
	Title    optional[string]   `json:"title"`
	Kind     optional[string]   `json:"kind"`
	Stage    optional[string]   `json:"stage"`
	Segment  optional[string]   `json:"segment"`
	URL      optional[string]   `json:"url"`
	OwnerID  optional[string]   `json:"owner_id"`
	Tags     optional[[]string] `json:"tags"`
	Archived optional[bool]     `json:"archived"`
}

// input turns the body into an asset input; null is "not given" for the
// required fields and "none" for segment and owner.
func (b assetBody) input() (content.AssetInput, validator.Errors) {
	var in content.AssetInput
	var errs validator.Errors
	str := func(o optional[string], field string) *string {
		if !o.Set {
			return nil
		}
		if o.Null {
			errs.Add(field, "must not be null")
			return nil
		}
		v := o.Value
		return &v
	}
	in.Title, in.URL = str(b.Title, "title"), str(b.URL, "url")
	if k := str(b.Kind, "kind"); k != nil {
		kind := content.Kind(*k)
		in.Kind = &kind
	}
	if st := str(b.Stage, "stage"); st != nil {
		stage := lead.Stage(*st)
		in.Stage = &stage
	}
	if b.Segment.Set {
		var seg *string
		if !b.Segment.Null && b.Segment.Value != "" {
			v := b.Segment.Value
			seg = &v
		}
		in.Segment = &seg
	}
	if b.OwnerID.Set {
		var owner *uuid.UUID
		if !b.OwnerID.Null {
			v := b.OwnerID.Value
			owner = parseIDField(&errs, "owner_id", &v)
		}
		in.OwnerID = &owner
	}
	if b.Tags.Set {
		in.Tags = []string{}
		if !b.Tags.Null {
			in.Tags = b.Tags.Value
		}
	}
	if b.Archived.Set {
		if b.Archived.Null {
			errs.Add("archived", "must be true or false")
		} else {
			v := b.Archived.Value
			in.Archived = &v
		}
	}
	return in, errs.OrNil()
}

func (s *Server) handleAPIAssetCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var b assetBody
	if !decodeJSON(w, r, &b) {
		return
	}
	in, errs := b.input()
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	if in.Archived != nil {
		s.apiFail(w, r, validator.Errors{"archived": "a new asset is not archived; archive it with PATCH"})
		return
	}
	a, err := s.store.CreateAsset(r.Context(), p.TenantID(), p.Actor(), in, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toAssetJSON(a))
}

func (s *Server) handleAPIAssetUpdate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	var b assetBody
	if !decodeJSON(w, r, &b) {
		return
	}
	in, errs := b.input()
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	a, err := s.store.UpdateAsset(r.Context(), p.TenantID(), p.Actor(), id, in, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAssetJSON(a))
}

// requestJSON is a content request as the API returns it.
type requestJSON struct {
	ID          string        `json:"id"`
	Title       string        `json:"title"`
	Objection   string        `json:"objection"`
	Segment     *string       `json:"segment"`
	LeadID      *string       `json:"lead_id"`
	RequesterID *string       `json:"requester_id"`
	Requester   string        `json:"requester_name"`
	Status      string        `json:"status"`
	AssetID     *string       `json:"asset_id"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
	ClosedAt    *time.Time    `json:"closed_at"`
	AgeHours    float64       `json:"age_hours"`
	Comments    []commentJSON `json:"comments,omitempty"`
}

type commentJSON struct {
	Author    string    `json:"author_name"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

func toRequestJSON(q content.Request, now time.Time) requestJSON {
	j := requestJSON{ID: q.ID.String(), Title: q.Title, Objection: q.Objection, Segment: q.Segment, LeadID: idPtr(q.LeadID),
		RequesterID: idPtr(nonNil(q.RequesterID)), Requester: q.RequesterName, Status: string(q.Status), AssetID: idPtr(q.AssetID),
		CreatedAt: q.CreatedAt, UpdatedAt: q.UpdatedAt, ClosedAt: q.ClosedAt}
	j.AgeHours, _ = strconv.ParseFloat(strconv.FormatFloat(q.Age(now).Hours(), 'f', 2, 64), 64)
	for _, c := range q.Comments {
		j.Comments = append(j.Comments, commentJSON{Author: c.AuthorName, Body: c.Body, CreatedAt: c.CreatedAt})
	}
	return j
}

func (s *Server) handleAPIRequestList(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	q := r.URL.Query()
	limit, ok := s.queryLimit(w, r)
	if !ok {
		return
	}
	page, err := s.store.FindRequests(r.Context(), p.TenantID(), postgres.RequestFilter{Status: content.RequestStatus(q.Get("status"))}, q.Get("cursor"), limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	resp := listResponse[requestJSON]{Data: []requestJSON{}}
	for _, x := range page.Requests {
		resp.Data = append(resp.Data, toRequestJSON(x, s.now()))
	}
	if page.NextCursor != "" {
		resp.NextCursor = &page.NextCursor
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleAPIRequestShow(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	q, err := s.store.FindRequest(r.Context(), p.TenantID(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRequestJSON(q, s.now()))
}

type requestBody struct {
	Title     string  `json:"title"`
	Objection string  `json:"objection"`
	Segment   *string `json:"segment"`
	LeadID    *string `json:"lead_id"`
}

func (s *Server) handleAPIRequestCreate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var b requestBody
	if !decodeJSON(w, r, &b) {
		return
	}
	var errs validator.Errors
	in := content.RequestInput{Title: b.Title, Objection: b.Objection, Segment: b.Segment, LeadID: parseIDField(&errs, "lead_id", b.LeadID)}
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	q, err := s.store.CreateRequest(r.Context(), p.TenantID(), p, in, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toRequestJSON(q, s.now()))
}

type requestPatchBody struct {
	Status  *string `json:"status"`
	AssetID *string `json:"asset_id"`
	Comment string  `json:"comment"`
}

func (s *Server) handleAPIRequestUpdate(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := leadIDParam(r)
	if !ok {
		s.apiFail(w, r, postgres.ErrNotFound)
		return
	}
	var b requestPatchBody
	if !decodeJSON(w, r, &b) {
		return
	}
	var errs validator.Errors
	u := content.RequestUpdate{Comment: b.Comment, AssetID: parseIDField(&errs, "asset_id", b.AssetID)}
	if b.Status != nil {
		st := content.RequestStatus(*b.Status)
		u.Status = &st
	}
	if errs != nil {
		s.apiFail(w, r, errs)
		return
	}
	q, err := s.store.UpdateRequest(r.Context(), p.TenantID(), p, id, u, s.now())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRequestJSON(q, s.now()))
}
