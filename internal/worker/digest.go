package worker

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/web/view"
)

// digestEvery is how often the worker looks for digests to send. A digest
// is due from postgres.DigestSendHour on the morning after its period, so
// it goes out within the hour; looking at start catches up after downtime.
const digestEvery = time.Hour

// runDigests sends due digests at start and then every digestEvery, until
// ctx ends.
func (w *Worker) runDigests(ctx context.Context) {
	ticker := time.NewTicker(digestEvery)
	defer ticker.Stop()
	for {
		if _, err := w.sendDigests(ctx, w.opts.Now()); err != nil && ctx.Err() == nil {
			w.opts.Logger.Error("digests", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// sendDigests sends the digests due at now. Several workers may run it at
// once: each period's digest is recorded, and its e-mails queued, once.
func (w *Worker) sendDigests(ctx context.Context, now time.Time) (postgres.DigestResult, error) {
	res, err := w.opts.Store.SendDueDigests(ctx, now, postgres.DigestOptions{BaseURL: w.opts.BaseURL, Compose: composeDigest})
	if res.Sent > 0 || res.Silent > 0 {
		w.opts.Logger.Info("digests", "sent", res.Sent, "recorded_silently", res.Silent, "emails", res.Emails)
	}
	if err != nil {
		return res, fmt.Errorf("send digests: %w", err)
	}
	return res, nil
}

// composeDigest renders a digest as an e-mail with an HTML body and its
// text alternative, both from the same view model.
func composeDigest(ctx context.Context, d postgres.Digest) (mail.Message, error) {
	e := view.NewDigestEmail(view.DigestInput{
		Monthly: d.Kind == postgres.DigestMonthly, TenantName: d.Tenant.Name, Currency: d.Tenant.Currency,
		Period: d.Period, Figures: d.Figures, Scorecard: d.Scorecard, Clauses: d.Clauses,
		Running: d.Running, AtRisk: d.AtRisk, DashboardURL: d.DashboardURL, BaseURL: d.BaseURL,
	})
	var html bytes.Buffer
	if err := view.DigestEmailHTML(e).Render(ctx, &html); err != nil {
		return mail.Message{}, fmt.Errorf("render digest: %w", err)
	}
	return mail.Message{Subject: e.Subject, Text: view.DigestEmailText(e), HTML: html.String()}, nil
}
