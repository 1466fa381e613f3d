package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
)

// importJobTimeout bounds one attempt of an import job. It is generous (a
// 1 GiB file takes minutes), and harmless when reached: the next attempt
// resumes after the last batch stored.
const importJobTimeout = 30 * time.Minute

// addImportWorkers registers the CSV import jobs.
func addImportWorkers(workers *river.Workers, opts Options) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	river.AddWorker(workers, &importWorker{store: opts.Store, now: opts.Now, logger: opts.Logger})
	river.AddWorker(workers, &importExpireWorker{store: opts.Store, logger: opts.Logger})
}

// importWorker runs one CSV import (postgres.Store.RunImport). A retry, a
// restart or a second worker picking the job up resumes after the last
// batch committed; nothing is stored twice.
type importWorker struct {
	river.WorkerDefaults[postgres.ImportArgs]
	store  *postgres.Store
	now    func() time.Time
	logger *slog.Logger
}

// Timeout lets an import run longer than River's default minute.
func (w *importWorker) Timeout(*river.Job[postgres.ImportArgs]) time.Duration {
	return importJobTimeout
}

// Work runs the import to its end.
func (w *importWorker) Work(ctx context.Context, job *river.Job[postgres.ImportArgs]) error {
	tid, id, err := importJobIDs(job.Args.TenantID, job.Args.ImportID)
	if err != nil {
		return river.JobCancel(err)
	}
	log := w.logger.With("tenant_id", job.Args.TenantID, "import_id", job.Args.ImportID, "attempt", job.Attempt)
	im, err := w.store.RunImport(ctx, tid, id, postgres.RunImportOptions{
		Now: w.now,
		AfterBatch: func(im postgres.Import) error {
			log.Debug("import batch stored", "rows_done", im.RowsDone, "rows_total", im.RowsTotal)
			return nil
		},
	})
	switch {
	case err == nil:
		log.Info("import finished", "status", im.Status, "rows", im.RowsDone, "created", im.Created, "updated", im.Updated,
			"skipped", im.Skipped)
		return nil
	case errors.Is(err, postgres.ErrImportBusy):
		// Another worker has it (a rescued job whose first run still goes on).
		return river.JobSnooze(30 * time.Second)
	case errors.Is(err, postgres.ErrNotFound):
		return river.JobCancel(fmt.Errorf("import is gone: %w", err))
	}
	if job.Attempt >= job.MaxAttempts {
		// The last attempt: say so on the import's page rather than leave it running.
		if ferr := w.store.FailImport(context.WithoutCancel(ctx), tid, id,
			"the import stopped after repeated errors; the rows stored so far are kept: upload the rest again", w.now()); ferr != nil {
			log.Error("mark import failed", "error", ferr.Error())
		}
	}
	return fmt.Errorf("run import: %w", err)
}

// importExpireWorker deletes an upload nobody started within its TTL.
type importExpireWorker struct {
	river.WorkerDefaults[postgres.ImportExpireArgs]
	store  *postgres.Store
	logger *slog.Logger
}

// Work deletes the import if it is still waiting.
func (w *importExpireWorker) Work(ctx context.Context, job *river.Job[postgres.ImportExpireArgs]) error {
	tid, id, err := importJobIDs(job.Args.TenantID, job.Args.ImportID)
	if err != nil {
		return river.JobCancel(err)
	}
	deleted, err := w.store.ExpireImport(ctx, tid, id)
	if err != nil {
		return fmt.Errorf("expire import: %w", err)
	}
	if deleted {
		w.logger.Info("unstarted import expired", "tenant_id", job.Args.TenantID, "import_id", job.Args.ImportID)
	}
	return nil
}

func importJobIDs(tenantID, importID string) (tenant.ID, uuid.UUID, error) {
	tid, err := tenant.ParseID(tenantID)
	if err != nil {
		return tenant.ID{}, uuid.Nil, fmt.Errorf("import job: %w", err)
	}
	id, err := uuid.Parse(importID)
	if err != nil {
		return tenant.ID{}, uuid.Nil, fmt.Errorf("import job: parse import id: %w", err)
	}
	return tid, id, nil
}
