// Package worker runs Accord's background work: durable jobs from River
// (e-mail, later webhooks, imports and digests) and periodic maintenance.
// Any number of workers may run at once; each job runs once however many.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/webhook"
)

// Mailer delivers e-mail; *mail.Sender is the real one.
type Mailer interface {
	Send(msg mail.Message) error
}

// Options configures a worker.
type Options struct {
	Logger *slog.Logger
	Store  *postgres.Store
	Now    func() time.Time
	Mailer Mailer
	// MaintenanceEvery is how often expired sessions and old sign-in
	// failures are cleared.
	MaintenanceEvery time.Duration
	// Concurrency is how many jobs run at once.
	Concurrency int
	// BaseURL is the address links in e-mails and webhooks point to.
	BaseURL string
	// Webhooks delivers webhook events; nil builds a client that allows
	// private addresses (development and tests).
	Webhooks *webhook.Client
	// NoBreachLoop leaves the SLA sweep to the caller (tests call sweepOnce).
	NoBreachLoop bool
}

// Worker runs jobs and maintenance until its context ends.
type Worker struct {
	opts  Options
	river *river.Client[pgx.Tx]
}

// New returns a worker; Run starts it.
func New(opts Options) (*Worker, error) {
	if opts.MaintenanceEvery == 0 {
		opts.MaintenanceEvery = 10 * time.Minute
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Webhooks == nil {
		opts.Webhooks = webhook.NewClient(false, opts.Now)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &mailWorker{mailer: opts.Mailer, logger: opts.Logger})
	addImportWorkers(workers, opts)
	addSLAWorkers(workers, opts)
	client, err := river.NewClient(riverpgxv5.New(opts.Store.Pool()), &river.Config{
		Schema:  postgres.RiverSchema,
		Logger:  opts.Logger,
		Workers: workers,
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Concurrency}},
		// Completed jobs may carry invitation links: keep them briefly.
		CompletedJobRetentionPeriod: time.Hour,
		// A job whose worker died is retried after this long; no job here
		// runs longer in one attempt except an import, which resumes.
		RescueStuckJobsAfter: 5 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return &Worker{opts: opts, river: client}, nil
}

// Run works until ctx ends, then stops: jobs in flight get a few seconds to
// finish; unfinished ones are retried by the next worker.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.river.Start(ctx); err != nil {
		return fmt.Errorf("start job runner: %w", err)
	}
	w.opts.Logger.Info("worker started")
	slaDone := make(chan struct{})
	if w.opts.NoBreachLoop {
		close(slaDone)
	} else {
		go func() {
			defer close(slaDone)
			w.runSLA(ctx)
		}()
	}
	ticker := time.NewTicker(w.opts.MaintenanceEvery)
	defer ticker.Stop()
	if _, err := w.runMaintenance(ctx, w.opts.Now()); err != nil {
		w.opts.Logger.Error("maintenance", "error", err.Error())
	}
	for {
		select {
		case <-ctx.Done():
			<-slaDone
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			err := w.river.Stop(stopCtx)
			if errors.Is(err, context.DeadlineExceeded) {
				err = w.river.StopAndCancel(stopCtx)
			}
			w.opts.Logger.Info("worker stopped")
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("stop job runner: %w", err)
			}
			return nil
		case <-ticker.C:
			if _, err := w.runMaintenance(ctx, w.opts.Now()); err != nil {
				w.opts.Logger.Error("maintenance", "error", err.Error())
			}
		}
	}
}

// maintenanceResult says what one maintenance pass cleared.
type maintenanceResult struct {
	sessionsDeleted int64
}

// runMaintenance clears expired sessions and sign-in failures past their window.
func (w *Worker) runMaintenance(ctx context.Context, now time.Time) (maintenanceResult, error) {
	var res maintenanceResult
	n, err := w.opts.Store.DeleteExpiredSessions(ctx, now)
	if err != nil {
		return res, err
	}
	res.sessionsDeleted = n
	if err := w.opts.Store.DeleteOldLoginFailures(ctx, postgres.DefaultThrottle, now); err != nil {
		return res, err
	}
	if _, err := w.opts.Store.DeleteOldIdempotencyKeys(ctx, now); err != nil {
		return res, err
	}
	return res, nil
}

// mailWorker sends one queued e-mail; River retries failures with backoff.
type mailWorker struct {
	river.WorkerDefaults[mail.SendArgs]
	mailer Mailer
	logger *slog.Logger
}

// Work sends the message.
func (m *mailWorker) Work(ctx context.Context, job *river.Job[mail.SendArgs]) error {
	if m.mailer == nil {
		return river.JobCancel(mail.ErrNotConfigured)
	}
	if err := m.mailer.Send(job.Args.Message); err != nil {
		if errors.Is(err, mail.ErrNotConfigured) {
			return river.JobCancel(err)
		}
		return fmt.Errorf("send mail: %w", err)
	}
	m.logger.Info("mail sent", "tenant_id", job.Args.TenantID, "subject", job.Args.Message.Subject, "attempt", job.Attempt)
	return nil
}
