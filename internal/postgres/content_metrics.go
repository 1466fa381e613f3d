package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/tenant"
)

// contentUsageQuery is DESIGN.md §5's content usage over metricArgs: the
// assets active in the period (added before it ended, not archived before
// it began), those of them used at least once in it (a content_shared
// activity at a time in the period), and the period's wins (with the
// lead filter, like every win figure) whose lead had a use before winning.
// The library page, the dashboard, the API and the digest all read it.
const contentUsageQuery = `
	WITH active AS (
	  SELECT a.id FROM content_assets a
	  WHERE a.tenant_id = $1 AND a.created_at < $3 AND (a.archived_at IS NULL OR a.archived_at >= $2)
	)
	SELECT (SELECT count(*) FROM active),
	       (SELECT count(*) FROM active WHERE EXISTS (
	          SELECT 1 FROM lead_activities u WHERE u.tenant_id = $1 AND u.asset_id = active.id AND u.at >= $2 AND u.at < $3)),
	       (SELECT count(*) FROM lead_transitions x JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id
	        WHERE x.tenant_id = $1 AND x.to_stage = 'won' AND x.at >= $2 AND x.at < $3 AND ` + leadFilter + `
	          AND EXISTS (SELECT 1 FROM lead_activities u
	                      WHERE u.tenant_id = $1 AND u.lead_id = x.lead_id AND u.asset_id IS NOT NULL AND u.at < x.at))`

func contentUsage(ctx context.Context, tx pgx.Tx, args []any) (metric.Content, error) {
	var c metric.Content
	if err := tx.QueryRow(ctx, contentUsageQuery, args...).Scan(&c.ActiveAssets, &c.UsedAssets, &c.WonWithContent); err != nil {
		return c, fmt.Errorf("content usage: %w", err)
	}
	c.UsageShare = metric.Rate(c.UsedAssets, c.ActiveAssets)
	return c, nil
}

// ContentUsage is the content usage of tenant tid over period p, for the
// library page: the same figure as the dashboard's, unfiltered.
func (s *Store) ContentUsage(ctx context.Context, tid tenant.ID, p metric.Period, now time.Time) (metric.Content, RequestFigures, error) {
	var c metric.Content
	var rf RequestFigures
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		if c, err = contentUsage(ctx, tx, metricArgs(tid, p, metric.Filter{})); err != nil {
			return err
		}
		rf, err = requestFigures(ctx, tx, tid, p.From, p.To)
		return err
	})
	return c, rf, err
}
