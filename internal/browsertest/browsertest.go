// Package browsertest starts headless Chromium for browser tests of Accord's
// pages. Where Chromium is missing the tests skip with a message saying what
// to install, unless ACCORD_REQUIRE_BROWSER=1 (as CI sets it), which turns the
// skip into a failure.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Find returns the path of a Chromium or Chrome binary, or "".
func Find() string {
	if p := os.Getenv("ACCORD_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New returns a chromedp context with a fresh headless browser and an
// empty profile, closed when t ends. Every action under it times out after
// timeout, so a broken page fails the test instead of hanging it.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	path := Find()
	if path == "" {
		msg := "Chromium is not installed (Debian: apt-get install chromium); set ACCORD_CHROME to its path"
		if os.Getenv("ACCORD_REQUIRE_BROWSER") == "1" {
			t.Fatal("browser tests are required: " + msg)
		}
		t.Skip("skipping browser test: " + msg)
	}
	profile := filepath.Join(t.TempDir(), "profile")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser now, so a start failure is reported as such.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	return ctx
}

// Screenshot saves a full-page PNG to ACCORD_SCREENSHOTS/name.png when that
// folder is set, for looking at pages a test visited.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("ACCORD_SCREENSHOTS")
	if dir == "" {
		return
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	}
}
