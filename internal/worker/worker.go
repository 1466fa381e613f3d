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
	// Digests e-mails the weekly pipeline review and the monthly
	// performance report (at start, then hourly); it needs a Mailer. Off
	// unless asked for, so that tests which count e-mails get only theirs.
	Digests bool
	// SweepBatch is how many due timers one sweep transaction claims
	// (default 500).
	SweepBatch int
	// Name identifies the worker in River's tables (its client id, as in
	// river_leader); empty: River's default, the host name and start time.
	// Two running workers must not share a name.
	Name string
	// WebhookBackoff is the wait after a failed delivery attempt (1 for the
	// first) before the next; nil: 10 seconds, doubling, at most 30 minutes.
	WebhookBackoff func(attempt int) time.Duration
	// JobTimeout cancels a job attempt that runs longer (default 1 minute;
	// imports take longer and set their own).
	JobTimeout time.Duration
	// RescueStuckJobsAfter is how long a job may stay running before it is
	// taken for abandoned (its worker died) and retried; default 5 minutes.
	// It must not be shorter than JobTimeout.
	RescueStuckJobsAfter time.Duration
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
	if opts.SweepBatch <= 0 {
		opts.SweepBatch = sweepBatch
	}
	if opts.WebhookBackoff == nil {
		opts.WebhookBackoff = webhookBackoff
	}
	if opts.JobTimeout == 0 {
		opts.JobTimeout = time.Minute
	}
	if opts.RescueStuckJobsAfter == 0 {
		// A job whose worker died is retried after this long; no job here
		// runs longer in one attempt except an import, which resumes.
		opts.RescueStuckJobsAfter = 5 * time.Minute
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &mailWorker{mailer: opts.Mailer, logger: opts.Logger})
	addImportWorkers(workers, opts)
	addSLAWorkers(workers, opts)
	client, err := river.NewClient(riverpgxv5.New(opts.Store.Pool()), &river.Config{
		ID:      opts.Name,
		Schema:  postgres.RiverSchema,
		Logger:  opts.Logger,
		Workers: workers,
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Concurrency}},
		// Completed jobs may carry invitation links: keep them briefly.
		CompletedJobRetentionPeriod: time.Hour,
		JobTimeout:                  opts.JobTimeout,
		RescueStuckJobsAfter:        opts.RescueStuckJobsAfter,
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
	compactDone := make(chan struct{})
	go func() {
		defer close(compactDone)
		w.runCompaction(ctx)
	}()
	digestsDone := make(chan struct{})
	if w.opts.Digests && w.opts.Mailer != nil {
		go func() {
			defer close(digestsDone)
			w.runDigests(ctx)
		}()
	} else {
		close(digestsDone)
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
			<-digestsDone
			<-compactDone
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
	msg := job.Args.Message
	if msg.MessageID == "" {
		// A job keeps its id through retries and rescues, so a message sent
		// again (its worker died between the SMTP send and marking the job
		// done) carries the same Message-ID and reads as a duplicate.
		msg.MessageID = jobMessageID(job.ID, job.Args.TenantID)
	}
	if err := m.mailer.Send(msg); err != nil {
		if errors.Is(err, mail.ErrNotConfigured) {
			return river.JobCancel(err)
		}
		return fmt.Errorf("send mail: %w", err)
	}
	m.logger.Info("mail sent", "tenant_id", job.Args.TenantID, "subject", job.Args.Message.Subject, "attempt", job.Attempt)
	return nil
}

// jobMessageID is the Message-ID (left of the @) of the e-mail that job id
// of tenant tid sends: unique across installations sharing a sender
// domain, because tenant ids are random.
func jobMessageID(id int64, tid string) string {
	if tid == "" {
		return fmt.Sprintf("accord-job-%d", id)
	}
	return fmt.Sprintf("accord-job-%d.%s", id, tid)
}
