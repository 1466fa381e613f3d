package worker

import (
	"context"
	"time"
)

// compactEvery is how often the worker folds the funnel deltas into the
// rollups. A dashboard adds the deltas not folded yet, so this bounds
// what it reads beyond the rollups: at a thousand accepts a second, some
// twenty thousand rows.
const compactEvery = 10 * time.Second

// runCompaction folds the funnel deltas into the rollups until ctx ends.
func (w *Worker) runCompaction(ctx context.Context) {
	t := time.NewTicker(compactEvery)
	defer t.Stop()
	for {
		if _, err := w.opts.Store.CompactRollups(ctx); err != nil && ctx.Err() == nil {
			w.opts.Logger.Error("compact rollups", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
