package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/tenant"
)

// FindDashboardFigures is FindDashboard's figures and speed distribution
// alone, read through the rollups or, without rollups, from the facts
// alone: what the rollups' path must equal.
func (s *Store) FindDashboardFigures(ctx context.Context, tid tenant.ID, p metric.Period, f metric.Filter, rollups bool) (Dashboard, error) {
	var d Dashboard
	err := s.inTenantSnapshot(ctx, tid, func(tx pgx.Tx) error {
		var err error
		d.Figures, d.Speed, err = findMetricsWith(ctx, tx, tid, p, f, rollups)
		return err
	})
	return d, err
}

// SharedBuffers is the buffer cache sharedBuffers sizes for mem bytes.
func SharedBuffers(mem int64) string { return sharedBuffers(mem) }
