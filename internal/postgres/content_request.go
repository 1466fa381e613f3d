package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/content"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

const requestColumns = `r.id, r.title, r.objection, r.segment, r.lead_id,
	coalesce(nullif(trim(l.first_name || ' ' || l.last_name), ''), l.email, ''), r.requester_id, r.requester_name,
	r.status, r.asset_id, coalesce(a.title, ''), r.created_at, r.updated_at, r.closed_at`

const requestFrom = ` FROM content_requests r
	LEFT JOIN leads l ON l.tenant_id = r.tenant_id AND l.id = r.lead_id
	LEFT JOIN content_assets a ON a.tenant_id = r.tenant_id AND a.id = r.asset_id`

// scanRequest reads requestColumns, then any extra columns into extra.
func scanRequest(r pgx.Row, extra ...any) (content.Request, error) {
	var q content.Request
	var status string
	var requester *uuid.UUID
	err := r.Scan(append([]any{&q.ID, &q.Title, &q.Objection, &q.Segment, &q.LeadID, &q.LeadName, &requester, &q.RequesterName,
		&status, &q.AssetID, &q.AssetTitle, &q.CreatedAt, &q.UpdatedAt, &q.ClosedAt}, extra...)...)
	q.Status = content.RequestStatus(status)
	if requester != nil {
		q.RequesterID = *requester
	}
	return q, err
}

func findRequest(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID, lock bool) (content.Request, error) {
	q := `SELECT ` + requestColumns + requestFrom + ` WHERE r.tenant_id = $1 AND r.id = $2`
	if lock {
		q += ` FOR UPDATE OF r`
	}
	req, err := scanRequest(tx.QueryRow(ctx, q, tid, id))
	if err != nil {
		return req, fmt.Errorf("find content request: %w", mapErr(err))
	}
	return req, nil
}

// CreateRequest records sales asking for a missing asset and tells
// marketing (and admins) in the app.
func (s *Store) CreateRequest(ctx context.Context, tid tenant.ID, p auth.Principal, in content.RequestInput, now time.Time) (content.Request, error) {
	in.Normalize()
	if errs := in.Validate(); errs != nil {
		return content.Request{}, errs
	}
	var out content.Request
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var errs validator.Errors
		if in.Segment != nil {
			segs, err := findSegments(ctx, tx, tid)
			if err != nil {
				return err
			}
			errs.Check(slices.Contains(segs, *in.Segment), "segment", "is not one of this tenant's segments: "+strings.Join(segs, ", "))
		}
		if in.LeadID != nil {
			if _, err := findLead(ctx, tx, tid, *in.LeadID, false); err != nil {
				if !isNotFound(err) {
					return err
				}
				errs.Add("lead_id", "is not a lead of this tenant")
			}
		}
		if errs != nil {
			return errs
		}
		actor := p.Actor()
		// The requester hears back in the app; an API token has no inbox.
		var requester *uuid.UUID
		if actor.Type == auth.ActorUser {
			requester = nullUUID(actor.ID)
		}
		id := uuid.New()
		if _, err := tx.Exec(ctx, `
			INSERT INTO content_requests (tenant_id, id, title, objection, segment, lead_id, requester_id, requester_name, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $9)`,
			tid, id, in.Title, in.Objection, in.Segment, in.LeadID, requester, actor.Name, now); err != nil {
			return fmt.Errorf("insert content request: %w", mapErr(err))
		}
		rows, err := tx.Query(ctx, `SELECT user_id FROM memberships WHERE tenant_id = $1 AND active AND role IN ('admin', 'marketing')`, tid)
		if err != nil {
			return fmt.Errorf("find marketing: %w", err)
		}
		users, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return fmt.Errorf("scan marketing: %w", err)
		}
		for _, u := range users {
			if u == actor.ID {
				continue
			}
			if err := insertNotification(ctx, tx, tid, Notification{UserID: u, Kind: "content.requested",
				Title: "Content requested: " + in.Title, Body: actor.Name + " asks: " + clip(in.Objection, 200),
				Link: "/content/requests/" + id.String()}, now); err != nil {
				return err
			}
		}
		out, err = findRequest(ctx, tx, tid, id, false)
		return err
	})
	return out, err
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// RequestFilter selects requests; an empty status lists the open queue
// (open and in progress) first, then the closed ones.
type RequestFilter struct {
	Status      content.RequestStatus
	RequesterID *uuid.UUID
}

// RequestPage is one page of requests.
type RequestPage struct {
	Requests   []content.Request
	NextCursor string
}

// FindRequests lists tenant tid's content requests, oldest open first (the
// queue marketing works), then the closed ones newest first.
func (s *Store) FindRequests(ctx context.Context, tid tenant.ID, f RequestFilter, cursor string, limit int) (RequestPage, error) {
	var page RequestPage
	if f.Status != "" && !f.Status.Valid() {
		return page, validator.Errors{"status": "must be one of open, in_progress, fulfilled, declined"}
	}
	args := []any{tid}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := []string{"r.tenant_id = $1"}
	if f.Status != "" {
		where = append(where, "r.status = "+arg(string(f.Status)))
	}
	if f.RequesterID != nil {
		where = append(where, "r.requester_id = "+arg(*f.RequesterID))
	}
	// The order key: closed requests after open ones; open by age, closed
	// newest first. The cursor carries (closed, key time, id).
	const closed = `(r.closed_at IS NOT NULL)`
	const key = `CASE WHEN r.closed_at IS NULL THEN r.created_at ELSE '9999-12-31'::timestamptz - (r.closed_at - '1970-01-01'::timestamptz) END`
	if cursor != "" {
		at, id, err := decodeLeadCursor(cursor)
		if err != nil {
			return page, validator.Errors{"cursor": "is not a cursor this list gave out"}
		}
		where = append(where, "("+key+", r.id) > ("+arg(at)+", "+arg(id)+")")
	}
	q := `SELECT ` + requestColumns + `, ` + key + requestFrom + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + closed + `, ` + key + `, r.id LIMIT ` + arg(limit+1)
	var keys []time.Time
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("query content requests: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k time.Time
			req, err := scanRequest(rows, &k)
			if err != nil {
				return fmt.Errorf("scan content request: %w", err)
			}
			page.Requests = append(page.Requests, req)
			keys = append(keys, k)
		}
		return rows.Err()
	})
	if len(page.Requests) > limit {
		page.Requests = page.Requests[:limit]
		page.NextCursor = encodeLeadCursor(keys[limit-1], page.Requests[limit-1].ID)
	}
	return page, err
}

// FindRequest returns request id of tenant tid with its comments.
func (s *Store) FindRequest(ctx context.Context, tid tenant.ID, id uuid.UUID) (content.Request, error) {
	var out content.Request
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		if out, err = findRequest(ctx, tx, tid, id, false); err != nil {
			return err
		}
		out.Comments, err = findComments(ctx, tx, tid, id)
		return err
	})
	return out, err
}

func findComments(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID) ([]content.Comment, error) {
	rows, err := tx.Query(ctx, `SELECT id, author_id, author_name, body, created_at FROM content_request_comments
		WHERE tenant_id = $1 AND request_id = $2 ORDER BY created_at, id`, tid, id)
	if err != nil {
		return nil, fmt.Errorf("query comments: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (content.Comment, error) {
		var c content.Comment
		err := r.Scan(&c.ID, &c.AuthorID, &c.AuthorName, &c.Body, &c.CreatedAt)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("scan comments: %w", err)
	}
	return out, nil
}

// UpdateRequest changes a request's status, links the asset that fulfils
// it and adds a comment, in one go. Marketing (and admins) change status
// and asset; anyone who may see the request comments. The requester is
// told in the app of every change someone else makes.
func (s *Store) UpdateRequest(ctx context.Context, tid tenant.ID, p auth.Principal, id uuid.UUID, u content.RequestUpdate, now time.Time) (content.Request, error) {
	u.Comment = strings.TrimSpace(u.Comment)
	var out content.Request
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		cur, err := findRequest(ctx, tx, tid, id, true)
		if err != nil {
			return err
		}
		if errs := u.Validate(cur); errs != nil {
			return errs
		}
		if (u.Status != nil || u.AssetID != nil) && !p.Can(auth.PermManageContent) {
			return fmt.Errorf("change content request: %w", auth.ErrForbidden)
		}
		next := cur
		if u.AssetID != nil {
			var archived bool
			if err := tx.QueryRow(ctx, `SELECT archived FROM content_assets WHERE tenant_id = $1 AND id = $2`, tid, *u.AssetID).Scan(&archived); err != nil {
				if isNotFound(mapErr(err)) {
					return validator.Errors{"asset_id": "is not a content asset of this tenant"}
				}
				return fmt.Errorf("find asset: %w", err)
			}
			if archived {
				return validator.Errors{"asset_id": "is archived: link an asset of the current library"}
			}
			next.AssetID = u.AssetID
		}
		if u.Status != nil {
			next.Status = *u.Status
		}
		if next.Status.Closed() && next.ClosedAt == nil {
			next.ClosedAt = &now
		}
		if !next.Status.Closed() {
			next.ClosedAt = nil
		}
		if next.Status != cur.Status || !sameUUID(next.AssetID, cur.AssetID) || !sameTime(next.ClosedAt, cur.ClosedAt) {
			if _, err := tx.Exec(ctx, `UPDATE content_requests SET status = $3, asset_id = $4, closed_at = $5, updated_at = $6
				WHERE tenant_id = $1 AND id = $2`, tid, id, string(next.Status), next.AssetID, next.ClosedAt, now); err != nil {
				return fmt.Errorf("update content request: %w", mapErr(err))
			}
		}
		actor := p.Actor()
		if u.Comment != "" {
			if _, err := tx.Exec(ctx, `INSERT INTO content_request_comments (tenant_id, request_id, author_id, author_name, body, created_at)
				VALUES ($1, $2, $3, $4, $5, $6)`, tid, id, nullUUID(actor.ID), actor.Name, u.Comment, now); err != nil {
				return fmt.Errorf("insert comment: %w", err)
			}
			if _, err := tx.Exec(ctx, `UPDATE content_requests SET updated_at = $3 WHERE tenant_id = $1 AND id = $2`, tid, id, now); err != nil {
				return fmt.Errorf("touch content request: %w", err)
			}
		}
		if cur.RequesterID != uuid.Nil && cur.RequesterID != actor.ID {
			if n, ok := requestNotice(cur, next, actor, u.Comment); ok {
				n.UserID = cur.RequesterID
				n.Link = "/content/requests/" + id.String()
				if err := insertNotification(ctx, tx, tid, n, now); err != nil {
					return err
				}
			}
		}
		if out, err = findRequest(ctx, tx, tid, id, false); err != nil {
			return err
		}
		out.Comments, err = findComments(ctx, tx, tid, id)
		return err
	})
	return out, err
}

func sameTime(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

func sameUUID(a, b *uuid.UUID) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// requestNotice is what the requester is told about a change.
func requestNotice(cur, next content.Request, actor auth.Actor, comment string) (Notification, bool) {
	switch {
	case next.Status == content.RequestFulfilled && cur.Status != content.RequestFulfilled:
		return Notification{Kind: "content.fulfilled", Title: "Your content request is fulfilled: " + cur.Title,
			Body: actor.Name + " linked the asset that answers it."}, true
	case next.Status == content.RequestDeclined && cur.Status != content.RequestDeclined:
		return Notification{Kind: "content.declined", Title: "Your content request was declined: " + cur.Title,
			Body: actor.Name + " declined it" + commentSuffix(comment)}, true
	case next.Status != cur.Status:
		return Notification{Kind: "content.status", Title: "Your content request is " + strings.ToLower(next.Status.Label()) + ": " + cur.Title,
			Body: actor.Name + " changed its status" + commentSuffix(comment)}, true
	case comment != "":
		return Notification{Kind: "content.comment", Title: "New comment on your content request: " + cur.Title,
			Body: actor.Name + ": " + clip(comment, 200)}, true
	}
	return Notification{}, false
}

func commentSuffix(c string) string {
	if c == "" {
		return "."
	}
	return ": " + clip(c, 200)
}

// RequestFigures are the request queue's figures for a period.
type RequestFigures struct {
	Open              int64    // open or in progress now
	Fulfilled         int64    // fulfilled in the period
	MedianFulfilHours *float64 // median hours from request to fulfilment, of those
}

// requestFigures counts tenant tid's open requests and the time to fulfil
// those fulfilled in [from, to).
func requestFigures(ctx context.Context, tx pgx.Tx, tid tenant.ID, from, to time.Time) (RequestFigures, error) {
	var f RequestFigures
	err := tx.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM content_requests WHERE tenant_id = $1 AND status IN ('open', 'in_progress')),
		       count(*),
		       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at) / 3600)
		FROM content_requests WHERE tenant_id = $1 AND status = 'fulfilled' AND closed_at >= $2 AND closed_at < $3`,
		tid, from, to).Scan(&f.Open, &f.Fulfilled, &f.MedianFulfilHours)
	if err != nil {
		return f, fmt.Errorf("count request figures: %w", err)
	}
	return f, nil
}
