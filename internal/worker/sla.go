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
	"github.com/accordhq/accord/internal/webhook"
)

// addSLAWorkers registers webhook delivery and timer recomputation.
func addSLAWorkers(workers *river.Workers, opts Options) {
	river.AddWorker(workers, &webhookWorker{store: opts.Store, client: opts.Webhooks, logger: opts.Logger, backoff: opts.WebhookBackoff})
	river.AddWorker(workers, &recomputeWorker{store: opts.Store, logger: opts.Logger, now: opts.Now})
}

// sweepBatch is how many due timers one sweep transaction claims, unless
// Options.SweepBatch says otherwise.
const sweepBatch = 500

// maxSleep bounds how long the breach loop sleeps without looking again: a
// timer created meanwhile with an earlier due time is found within it.
const maxSleep = time.Second

// runSLA is the breach loop: sweep what is due, then sleep until the next
// timer needs looking at (at most maxSleep). Asking for the next time is one
// index read, so the loop's cost follows the timers that are due, not the
// timers that exist.
func (w *Worker) runSLA(ctx context.Context) {
	var periodsAt time.Time
	for {
		now := w.opts.Now()
		if _, err := w.sweepOnce(ctx, now); err != nil && ctx.Err() == nil {
			w.opts.Logger.Error("sla sweep", "error", err.Error())
		}
		// Periods end at the tenant's midnight; looking once a minute (and
		// at start, to catch up after downtime) records them on time
		// without reading every agreement every second.
		if periodsAt.IsZero() || now.Sub(periodsAt) >= periodEvery || now.Before(periodsAt) {
			if _, err := w.closePeriods(ctx, now); err != nil && ctx.Err() == nil {
				w.opts.Logger.Error("sla periods", "error", err.Error())
			}
			periodsAt = now
		}
		sleep := maxSleep
		if next, ok, err := w.opts.Store.NextTimerCheck(ctx); err == nil && ok {
			if d := next.Sub(w.opts.Now()); d < sleep {
				sleep = max(d, 0)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(sleep):
		}
	}
}

// periodEvery is how often the breach loop looks for ended periods.
const periodEvery = time.Minute

// closePeriods records the results of the periods ended by now. Several
// workers may run it at once: a result is recorded once.
func (w *Worker) closePeriods(ctx context.Context, now time.Time) (postgres.ClosePeriodsResult, error) {
	res, err := w.opts.Store.ClosePeriods(ctx, now, postgres.SweepOptions{Email: w.opts.Mailer != nil, BaseURL: w.opts.BaseURL})
	if err != nil {
		return res, fmt.Errorf("close periods: %w", err)
	}
	if res.Recorded > 0 {
		w.opts.Logger.Info("sla periods", "recorded", res.Recorded, "missed", res.Missed)
	}
	return res, nil
}

// sweepOnce sweeps until nothing due at now is left.
func (w *Worker) sweepOnce(ctx context.Context, now time.Time) (postgres.SweepResult, error) {
	var total postgres.SweepResult
	for {
		res, err := w.opts.Store.SweepDueTimers(ctx, now, w.opts.SweepBatch, postgres.SweepOptions{
			Email: w.opts.Mailer != nil, BaseURL: w.opts.BaseURL, StaleAfter: 24 * time.Hour,
		})
		total.Claimed += res.Claimed
		total.AtRisk += res.AtRisk
		total.Breached += res.Breached
		total.Escalations += res.Escalations
		total.Notifications += res.Notifications
		if err != nil {
			return total, err
		}
		if res.Breached > 0 || res.AtRisk > 0 {
			w.opts.Logger.Info("sla sweep", "claimed", res.Claimed, "at_risk", res.AtRisk, "breached", res.Breached,
				"escalations", res.Escalations, "notifications", res.Notifications)
		}
		if res.Claimed < w.opts.SweepBatch {
			return total, nil
		}
	}
}

// webhookRetention: deliveries are retried for 24 hours (API.md).
const webhookRetention = 24 * time.Hour

// webhookWorker delivers one event to one endpoint.
type webhookWorker struct {
	river.WorkerDefaults[webhook.DeliverArgs]
	store   *postgres.Store
	client  *webhook.Client
	logger  *slog.Logger
	backoff func(attempt int) time.Duration
}

// Work delivers; a non-2xx answer fails the attempt so River retries it.
func (ww *webhookWorker) Work(ctx context.Context, job *river.Job[webhook.DeliverArgs]) error {
	tid, err := tenant.ParseID(job.Args.TenantID)
	if err != nil {
		return river.JobCancel(fmt.Errorf("webhook job: %w", err))
	}
	id, err := uuid.Parse(job.Args.EndpointID)
	if err != nil {
		return river.JobCancel(fmt.Errorf("webhook job: %w", err))
	}
	ep, err := ww.store.FindWebhookEndpoint(ctx, tid, id)
	if errors.Is(err, postgres.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("webhook endpoint %s is gone", id))
	}
	if err != nil {
		return err
	}
	if !ep.Active {
		return river.JobCancel(fmt.Errorf("webhook endpoint %s is switched off", id))
	}
	err = ww.client.Deliver(ctx, webhook.Endpoint{URL: ep.URL, Format: ep.Format, Secret: ep.Secret}, job.Args)
	if err != nil && givenUp(job.CreatedAt, job.AttemptedAt) {
		return river.JobCancel(fmt.Errorf("gave up after 24 hours: %w", err))
	}
	if err == nil {
		ww.logger.Info("webhook delivered", "tenant_id", job.Args.TenantID, "type", job.Args.Event.Type, "event_id", job.Args.Event.ID, "attempt", job.Attempt)
	}
	return err
}

// givenUp reports a delivery whose attempt started more than 24 hours after
// the job was queued. Both instants are River's, on the database's wall
// clock, so the business clock (Options.Now) does not move the deadline.
func givenUp(createdAt time.Time, attemptedAt *time.Time) bool {
	at := time.Now()
	if attemptedAt != nil {
		at = *attemptedAt
	}
	return at.Sub(createdAt) > webhookRetention
}

// NextRetry waits the worker's backoff after a failed attempt. River
// schedules on the wall clock and ignores a retry time in its past, so this
// is wall-clock time too, not the business clock.
func (ww *webhookWorker) NextRetry(job *river.Job[webhook.DeliverArgs]) time.Time {
	return time.Now().Add(ww.backoff(job.Attempt))
}

// webhookBackoff backs off from 10 seconds, doubling, to at most 30 minutes.
func webhookBackoff(attempt int) time.Duration {
	d := 10 * time.Second << min(max(attempt-1, 0), 8)
	return min(d, 30*time.Minute)
}

// recomputeWorker recomputes a tenant's running timers (an agreement applied
// to them, a calendar edited), or with All every lead's (history stored
// without its timers).
type recomputeWorker struct {
	river.WorkerDefaults[postgres.RecomputeArgs]
	store  *postgres.Store
	logger *slog.Logger
	now    func() time.Time
}

// Work recomputes in batches; a retry starts over harmlessly (recomputing is
// idempotent).
func (rw *recomputeWorker) Work(ctx context.Context, job *river.Job[postgres.RecomputeArgs]) error {
	tid, err := tenant.ParseID(job.Args.TenantID)
	if err != nil {
		return river.JobCancel(fmt.Errorf("recompute job: %w", err))
	}
	var n int
	if job.Args.All {
		n, err = rw.store.BackfillTimers(ctx, tid, rw.now())
	} else {
		n, err = rw.store.RecomputeTimers(ctx, tid, job.Args.Repin, rw.now())
	}
	if err != nil {
		return err
	}
	rw.logger.Info("timers recomputed", "tenant_id", job.Args.TenantID, "leads", n, "reason", job.Args.Reason)
	return nil
}
