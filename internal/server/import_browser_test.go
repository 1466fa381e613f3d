package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/browsertest"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/worker"
)

// TestBrowser_Import drives headless Chromium through a CSV import: choose
// the file, read the preview, start it, watch the progress bar (the job is
// queued while no worker runs), then start a worker and see the bar run to
// completion and the result replace it, without reloading the page.
func TestBrowser_Import(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := browsertest.New(t, 90*time.Second)

	var csv strings.Builder
	csv.WriteString("Record ID,First Name,Last Name,Email,Company Name,Lifecycle Stage,Favorite Color\n")
	for i := 1; i <= 300; i++ {
		fmt.Fprintf(&csv, "hs-%d,First%d,Last%d,user%d@example.com,Company %d,lead,blue\n", i, i, i, i, i)
	}
	csv.WriteString("hs-301,Bad,Email,not-an-email,,lead,\n")
	csv.WriteString("hs-1,Again,Dup,again@example.com,,lead,\n")
	file := filepath.Join(t.TempDir(), "hubspot-contacts.csv")
	require.NoError(t, os.WriteFile(file, []byte(csv.String()), 0o644))

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), h.a.AdminEmail),
		chromedp.SendKeys(chromedp.ID("password"), postgrestest.Password),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(chromedp.ID("dashboard")),
		chromedp.Navigate(h.ts.URL+"/import"),
		chromedp.WaitVisible(chromedp.ID("import-form")),
		chromedp.Click(chromedp.ID("preset-hubspot")),
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{file}),
	))
	browsertest.Screenshot(t, ctx, "import-form")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("import-submit")),
		chromedp.WaitVisible(chromedp.ID("import-preview")),
	))
	browsertest.Screenshot(t, ctx, "import-preview")
	mapping, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("import-mapping")))
	require.NoError(t, err)
	require.Contains(t, mapping, "Favorite Color")
	require.Contains(t, mapping, "not imported")
	total, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("import-rows-total")))
	require.NoError(t, err)
	require.Equal(t, "302", total)

	// Started, but no worker yet: the page shows the bar and polls.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("import-start")),
		chromedp.WaitVisible(chromedp.ID("import-progress")),
	))
	browsertest.Screenshot(t, ctx, "import-running")
	trigger, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("import-status"), "hx-trigger"))
	require.NoError(t, err)
	require.Equal(t, "every 1s", trigger.Value)

	w, err := worker.New(worker.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: h.db.Store, Now: h.clock.Now})
	require.NoError(t, err)
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
	})

	// The poll swaps the result in when the job is done.
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("import-result"))))
	browsertest.Screenshot(t, ctx, "import-done")
	status, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("import-result"), "data-status"))
	require.NoError(t, err)
	require.Equal(t, "done", status.Value)
	value, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("import-progress"), "value"))
	require.NoError(t, err)
	maxv, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("import-progress"), "max"))
	require.NoError(t, err)
	require.Equal(t, "302", maxv.Value)
	require.Equal(t, maxv.Value, value.Value, "the bar is full")
	percent, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("import-percent")))
	require.NoError(t, err)
	require.Equal(t, "100%", percent)
	created, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("import-created")))
	require.NoError(t, err)
	require.Equal(t, "300", created)
	skipped, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("import-skipped")))
	require.NoError(t, err)
	require.Equal(t, "2", skipped)
	errs, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("import-errors")))
	require.NoError(t, err)
	require.Contains(t, errs, "line 302: Email: must be a valid address")
	require.Contains(t, errs, "line 303 repeats line 2")
	polling, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("import-status"), "hx-trigger"))
	require.NoError(t, err)
	require.False(t, polling.Exists, "polling stopped")
}
