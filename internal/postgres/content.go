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
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

const assetColumns = `a.id, a.title, a.kind, a.stage, a.segment, a.url, a.owner_id, coalesce(u.name, ''), a.tags,
	a.archived, a.archived_at, a.created_at, a.updated_at`

const assetFrom = ` FROM content_assets a LEFT JOIN users u ON u.id = a.owner_id`

func scanAsset(r pgx.Row) (content.Asset, error) {
	var a content.Asset
	var kind, stage string
	err := r.Scan(&a.ID, &a.Title, &kind, &stage, &a.Segment, &a.URL, &a.OwnerID, &a.OwnerName, &a.Tags,
		&a.Archived, &a.ArchivedAt, &a.CreatedAt, &a.UpdatedAt)
	a.Kind, a.Stage = content.Kind(kind), lead.Stage(stage)
	return a, err
}

func findAsset(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID, lock bool) (content.Asset, error) {
	q := `SELECT ` + assetColumns + assetFrom + ` WHERE a.tenant_id = $1 AND a.id = $2`
	if lock {
		q += ` FOR UPDATE OF a`
	}
	a, err := scanAsset(tx.QueryRow(ctx, q, tid, id))
	if err != nil {
		return a, fmt.Errorf("find content asset: %w", mapErr(err))
	}
	return a, nil
}

// checkAssetRefs checks the segment and owner an asset input names against
// the tenant, as field errors a form can show.
func checkAssetRefs(ctx context.Context, tx pgx.Tx, tid tenant.ID, in content.AssetInput) (validator.Errors, error) {
	var errs validator.Errors
	if in.Segment != nil && *in.Segment != nil {
		segs, err := findSegments(ctx, tx, tid)
		if err != nil {
			return nil, err
		}
		errs.Check(slices.Contains(segs, **in.Segment), "segment", "is not one of this tenant's segments: "+strings.Join(segs, ", "))
	}
	if in.OwnerID != nil && *in.OwnerID != nil {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = $1 AND user_id = $2)`, tid, **in.OwnerID).Scan(&ok); err != nil {
			return nil, fmt.Errorf("find owner: %w", err)
		}
		errs.Check(ok, "owner_id", "is not a user of this tenant")
	}
	return errs.OrNil(), nil
}

// CreateAsset adds an asset to tenant tid's library. Its owner is the
// input's, or else the user who creates it.
func (s *Store) CreateAsset(ctx context.Context, tid tenant.ID, actor auth.Actor, in content.AssetInput, now time.Time) (content.Asset, error) {
	in.Normalize()
	if errs := in.Validate(true); errs != nil {
		return content.Asset{}, errs
	}
	var out content.Asset
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if errs, err := checkAssetRefs(ctx, tx, tid, in); err != nil || errs != nil {
			if err != nil {
				return err
			}
			return errs
		}
		var owner *uuid.UUID
		if actor.Type == auth.ActorUser {
			owner = nullUUID(actor.ID) // an API token owns nothing
		}
		if in.OwnerID != nil {
			owner = *in.OwnerID
		}
		var segment *string
		if in.Segment != nil {
			segment = *in.Segment
		}
		tags := in.Tags
		if tags == nil {
			tags = []string{}
		}
		id := uuid.New()
		if _, err := tx.Exec(ctx, `
			INSERT INTO content_assets (tenant_id, id, title, kind, stage, segment, url, owner_id, tags, archived, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, false, $10, $10)`,
			tid, id, *in.Title, string(*in.Kind), string(*in.Stage), segment, *in.URL, owner, tags, now); err != nil {
			return fmt.Errorf("insert content asset: %w", mapErr(err))
		}
		var err error
		if out, err = findAsset(ctx, tx, tid, id, false); err != nil {
			return err
		}
		return insertAudit(ctx, tx, tid, actor, now, "content.asset_created", "content_asset", id.String(), nil, assetAudit(out))
	})
	return out, err
}

func assetAudit(a content.Asset) map[string]any {
	return map[string]any{"title": a.Title, "kind": a.Kind, "stage": a.Stage, "segment": a.Segment, "url": a.URL,
		"owner_id": a.OwnerID, "tags": a.Tags, "archived": a.Archived}
}

// UpdateAsset changes asset id; nil input fields stay. Archiving keeps the
// asset and its history: it leaves the library and cannot be shared again.
func (s *Store) UpdateAsset(ctx context.Context, tid tenant.ID, actor auth.Actor, id uuid.UUID, in content.AssetInput, now time.Time) (content.Asset, error) {
	in.Normalize()
	if errs := in.Validate(false); errs != nil {
		return content.Asset{}, errs
	}
	var out content.Asset
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		before, err := findAsset(ctx, tx, tid, id, true)
		if err != nil {
			return err
		}
		if errs, err := checkAssetRefs(ctx, tx, tid, in); err != nil || errs != nil {
			if err != nil {
				return err
			}
			return errs
		}
		a := before
		if in.Title != nil {
			a.Title = *in.Title
		}
		if in.Kind != nil {
			a.Kind = *in.Kind
		}
		if in.Stage != nil {
			a.Stage = *in.Stage
		}
		if in.Segment != nil {
			a.Segment = *in.Segment
		}
		if in.URL != nil {
			a.URL = *in.URL
		}
		if in.OwnerID != nil {
			a.OwnerID = *in.OwnerID
		}
		if in.Tags != nil {
			a.Tags = in.Tags
		}
		if in.Archived != nil && *in.Archived != a.Archived {
			a.Archived = *in.Archived
			a.ArchivedAt = nil
			if a.Archived {
				a.ArchivedAt = &now
			}
		}
		if _, err := tx.Exec(ctx, `
			UPDATE content_assets SET title = $3, kind = $4, stage = $5, segment = $6, url = $7, owner_id = $8, tags = $9,
			       archived = $10, archived_at = $11, updated_at = $12
			WHERE tenant_id = $1 AND id = $2`,
			tid, id, a.Title, string(a.Kind), string(a.Stage), a.Segment, a.URL, a.OwnerID, a.Tags, a.Archived, a.ArchivedAt, now); err != nil {
			return fmt.Errorf("update content asset: %w", mapErr(err))
		}
		if out, err = findAsset(ctx, tx, tid, id, false); err != nil {
			return err
		}
		return insertAudit(ctx, tx, tid, actor, now, "content.asset_updated", "content_asset", id.String(), assetAudit(before), assetAudit(out))
	})
	return out, err
}

// AssetRow is an asset in the library with its use in a period.
type AssetRow struct {
	content.Asset
	Uses  int64 // content_shared activities in the period
	Leads int64 // distinct leads they were on
}

// AssetPage is one page of the library.
type AssetPage struct {
	Assets     []AssetRow
	NextCursor string // "" on the last page
}

// FindAssets lists tenant tid's assets matching f, newest first, with each
// one's uses in [from, to) (zero times: every use). cursor continues a
// previous page; limit bounds the page.
func (s *Store) FindAssets(ctx context.Context, tid tenant.ID, f content.Filter, from, to time.Time, cursor string, limit int) (AssetPage, error) {
	var page AssetPage
	if errs := f.Validate(); errs != nil {
		return page, errs
	}
	args := []any{tid}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := []string{"a.tenant_id = $1"}
	switch {
	case f.All:
	case f.Archived != nil:
		where = append(where, "a.archived = "+arg(*f.Archived))
	default:
		where = append(where, "NOT a.archived")
	}
	if f.Q != "" {
		like := "%" + escapeLike(strings.ToLower(f.Q)) + "%"
		p := arg(like)
		where = append(where, "(lower(a.title) LIKE "+p+" OR EXISTS (SELECT 1 FROM unnest(a.tags) t WHERE t LIKE "+p+"))")
	}
	if f.Kind != "" {
		where = append(where, "a.kind = "+arg(string(f.Kind)))
	}
	if f.Stage != "" {
		where = append(where, "a.stage = "+arg(string(f.Stage)))
	}
	if f.Segment != "" {
		where = append(where, "a.segment = "+arg(f.Segment))
	}
	if cursor != "" {
		at, id, err := decodeLeadCursor(cursor)
		if err != nil {
			return page, validator.Errors{"cursor": "is not a cursor this list gave out"}
		}
		where = append(where, "(a.created_at, a.id) < ("+arg(at)+", "+arg(id)+")")
	}
	useWhere := ""
	if !from.IsZero() {
		useWhere = " AND x.at >= " + arg(from) + " AND x.at < " + arg(to)
	}
	lim := arg(limit + 1)
	q := `SELECT ` + assetColumns + `, coalesce(use.uses, 0), coalesce(use.leads, 0)` + assetFrom + `
		LEFT JOIN LATERAL (
			SELECT count(*) AS uses, count(DISTINCT x.lead_id) AS leads FROM lead_activities x
			WHERE x.tenant_id = a.tenant_id AND x.asset_id = a.id` + useWhere + `
		) use ON true
		WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY a.created_at DESC, a.id DESC LIMIT ` + lim
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("query content assets: %w", err)
		}
		page.Assets, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (AssetRow, error) {
			var row AssetRow
			var kind, stage string
			a := &row.Asset
			err := r.Scan(&a.ID, &a.Title, &kind, &stage, &a.Segment, &a.URL, &a.OwnerID, &a.OwnerName, &a.Tags,
				&a.Archived, &a.ArchivedAt, &a.CreatedAt, &a.UpdatedAt, &row.Uses, &row.Leads)
			a.Kind, a.Stage = content.Kind(kind), lead.Stage(stage)
			return row, err
		})
		if err != nil {
			return fmt.Errorf("scan content assets: %w", err)
		}
		return nil
	})
	if len(page.Assets) > limit {
		page.Assets = page.Assets[:limit]
		last := page.Assets[limit-1]
		page.NextCursor = encodeLeadCursor(last.CreatedAt, last.ID)
	}
	return page, err
}

// AssetUse is one use of an asset on a lead.
type AssetUse struct {
	LeadID    uuid.UUID
	LeadName  string
	Stage     lead.Stage
	At        time.Time
	ActorName string
	Opens     int64
}

// AssetDetail is an asset with its figures and latest uses.
type AssetDetail struct {
	Asset   content.Asset
	Figures content.Figures
	Uses    []AssetUse // newest first, at most 50
}

// FindAsset returns asset id of tenant tid with its figures.
func (s *Store) FindAsset(ctx context.Context, tid tenant.ID, id uuid.UUID) (AssetDetail, error) {
	var d AssetDetail
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		if d.Asset, err = findAsset(ctx, tx, tid, id, false); err != nil {
			return err
		}
		if d.Figures, err = assetFigures(ctx, tx, tid, d.Asset); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT x.lead_id, trim(l.first_name || ' ' || l.last_name), coalesce(l.email, ''), l.stage, x.at, x.actor_name,
			       coalesce((SELECT k.opens FROM content_links k WHERE k.tenant_id = x.tenant_id AND k.asset_id = x.asset_id AND k.lead_id = x.lead_id), 0)
			FROM lead_activities x JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id
			WHERE x.tenant_id = $1 AND x.asset_id = $2
			ORDER BY x.at DESC, x.id DESC LIMIT 50`, tid, id)
		if err != nil {
			return fmt.Errorf("query asset uses: %w", err)
		}
		d.Uses, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (AssetUse, error) {
			var u AssetUse
			var email, stage string
			err := r.Scan(&u.LeadID, &u.LeadName, &email, &stage, &u.At, &u.ActorName, &u.Opens)
			if u.LeadName == "" {
				u.LeadName = email
			}
			u.Stage = lead.Stage(stage)
			return u, err
		})
		if err != nil {
			return fmt.Errorf("scan asset uses: %w", err)
		}
		return nil
	})
	return d, err
}

// assetFigures counts what became of the leads asset a was used on, and of
// the handed-off leads of its segment it was not used on. Reaching a stage
// counts skipping past it (DESIGN.md §5): an opportunity is any lead with a
// transition to opportunity or won, an accepted lead any with a transition
// to accepted or a later stage.
func assetFigures(ctx context.Context, tx pgx.Tx, tid tenant.ID, a content.Asset) (content.Figures, error) {
	var f content.Figures
	err := tx.QueryRow(ctx, `
		WITH used AS (
			SELECT x.lead_id, count(*) AS uses FROM lead_activities x
			WHERE x.tenant_id = $1 AND x.asset_id = $2 GROUP BY x.lead_id
		), cohort AS (
			SELECT l.id, (u.lead_id IS NOT NULL) AS used,
			       EXISTS (SELECT 1 FROM lead_transitions t WHERE t.tenant_id = l.tenant_id AND t.lead_id = l.id
			               AND t.to_stage IN ('accepted', 'sql', 'opportunity', 'won')) AS accepted,
			       EXISTS (SELECT 1 FROM lead_transitions t WHERE t.tenant_id = l.tenant_id AND t.lead_id = l.id
			               AND t.to_stage IN ('opportunity', 'won')) AS opportunity,
			       EXISTS (SELECT 1 FROM lead_transitions t WHERE t.tenant_id = l.tenant_id AND t.lead_id = l.id
			               AND t.to_stage = 'won') AS won
			FROM leads l LEFT JOIN used u ON u.lead_id = l.id
			WHERE l.tenant_id = $1
			  AND (u.lead_id IS NOT NULL OR (($3::text IS NULL OR l.segment = $3)
			       AND EXISTS (SELECT 1 FROM lead_transitions h WHERE h.tenant_id = l.tenant_id AND h.lead_id = l.id AND h.to_stage = 'mql')))
		)
		SELECT (SELECT coalesce(sum(uses), 0) FROM used),
		       (SELECT coalesce(sum(k.opens), 0) FROM content_links k WHERE k.tenant_id = $1 AND k.asset_id = $2),
		       count(*) FILTER (WHERE used), count(*) FILTER (WHERE used AND accepted),
		       count(*) FILTER (WHERE used AND opportunity), count(*) FILTER (WHERE used AND won),
		       count(*) FILTER (WHERE NOT used), count(*) FILTER (WHERE NOT used AND accepted),
		       count(*) FILTER (WHERE NOT used AND opportunity), count(*) FILTER (WHERE NOT used AND won)
		FROM cohort`, tid, a.ID, a.Segment).Scan(&f.Uses, &f.Opens, &f.Leads, &f.Accepted, &f.Opportunities, &f.Won,
		&f.BaseLeads, &f.BaseAccepted, &f.BaseOpportunities, &f.BaseWon)
	if err != nil {
		return f, fmt.Errorf("count asset figures: %w", err)
	}
	return f, nil
}

// AssetOption is an asset a rep may share: active, with what it is for.
type AssetOption struct {
	ID    uuid.UUID
	Title string
	Kind  content.Kind
	Stage lead.Stage
}

// FindAssetOptions lists tenant tid's active assets for the share picker.
func (s *Store) FindAssetOptions(ctx context.Context, tid tenant.ID) ([]AssetOption, error) {
	var out []AssetOption
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		out, err = findAssetOptions(ctx, tx, tid)
		return err
	})
	return out, err
}

func findAssetOptions(ctx context.Context, tx pgx.Tx, tid tenant.ID) ([]AssetOption, error) {
	rows, err := tx.Query(ctx, `SELECT id, title, kind, stage FROM content_assets
		WHERE tenant_id = $1 AND NOT archived ORDER BY title, id LIMIT 500`, tid)
	if err != nil {
		return nil, fmt.Errorf("query asset options: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AssetOption, error) {
		var o AssetOption
		var kind, stage string
		err := r.Scan(&o.ID, &o.Title, &kind, &stage)
		o.Kind, o.Stage = content.Kind(kind), lead.Stage(stage)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("scan asset options: %w", err)
	}
	return out, nil
}

// shareAsset checks that asset id may be shared on lead leadID and makes
// sure the pair has its tracked link, returning the link's token.
func shareAsset(ctx context.Context, tx pgx.Tx, tid tenant.ID, leadID, id uuid.UUID, now time.Time) (string, error) {
	var archived bool
	err := tx.QueryRow(ctx, `SELECT archived FROM content_assets WHERE tenant_id = $1 AND id = $2`, tid, id).Scan(&archived)
	if err != nil {
		if mapped := mapErr(err); isNotFound(mapped) {
			return "", validator.Errors{"asset_id": "is not a content asset of this tenant"}
		}
		return "", fmt.Errorf("find shared asset: %w", err)
	}
	if archived {
		return "", validator.Errors{"asset_id": "is archived: pick an asset of the current library"}
	}
	var token string
	err = tx.QueryRow(ctx, `
		INSERT INTO content_links (tenant_id, id, token, asset_id, lead_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (tenant_id, asset_id, lead_id) DO UPDATE SET token = content_links.token
		RETURNING token`, tid, uuid.New(), content.NewLinkToken(tid), id, leadID, now).Scan(&token)
	if err != nil {
		return "", fmt.Errorf("insert content link: %w", err)
	}
	return token, nil
}

// LeadContent is an asset used on a lead, with its tracked link.
type LeadContent struct {
	AssetID    uuid.UUID
	Title      string
	Kind       content.Kind
	Token      string
	Opens      int64
	LastOpened *time.Time
	Archived   bool
}

// findLeadContent lists the assets used on lead id with their tracked
// links, for the lead page.
func findLeadContent(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID) ([]LeadContent, error) {
	rows, err := tx.Query(ctx, `
		SELECT a.id, a.title, a.kind, k.token, k.opens, k.last_counted_at, a.archived
		FROM content_links k JOIN content_assets a ON a.tenant_id = k.tenant_id AND a.id = k.asset_id
		WHERE k.tenant_id = $1 AND k.lead_id = $2 ORDER BY k.created_at, a.title`, tid, id)
	if err != nil {
		return nil, fmt.Errorf("query lead content: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LeadContent, error) {
		var c LeadContent
		var kind string
		err := r.Scan(&c.AssetID, &c.Title, &kind, &c.Token, &c.Opens, &c.LastOpened, &c.Archived)
		c.Kind = content.Kind(kind)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("scan lead content: %w", err)
	}
	return out, nil
}

// OpenLink counts a prospect's open of the tracked link token (at most
// once per link per hour) and returns the asset's stored URL, the only
// place the redirect may send anyone. Links of archived assets still
// redirect: the prospect got the link before it was archived.
func (s *Store) OpenLink(ctx context.Context, tid tenant.ID, token string, now time.Time) (string, error) {
	var url string
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var id uuid.UUID
		var last *time.Time
		err := tx.QueryRow(ctx, `
			SELECT k.id, k.last_counted_at, a.url FROM content_links k
			JOIN content_assets a ON a.tenant_id = k.tenant_id AND a.id = k.asset_id
			WHERE k.tenant_id = $1 AND k.token = $2 FOR UPDATE OF k`, tid, token).Scan(&id, &last, &url)
		if err != nil {
			return fmt.Errorf("find content link: %w", mapErr(err))
		}
		if !content.CountsOpen(last, now) {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE content_links SET opens = opens + 1, last_counted_at = $3 WHERE tenant_id = $1 AND id = $2`,
			tid, id, now); err != nil {
			return fmt.Errorf("count open: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO content_opens (tenant_id, link_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			tid, id, now); err != nil {
			return fmt.Errorf("record open: %w", err)
		}
		return nil
	})
	return url, err
}
