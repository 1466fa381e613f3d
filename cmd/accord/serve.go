package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/server"
	"github.com/accordhq/accord/internal/webhook"
	"github.com/accordhq/accord/internal/worker"
)

func runServe(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	noWorker := fs.Bool("no-worker", cfg.NoWorker, "serve HTTP only; run `accord worker` elsewhere")
	demo := fs.Bool("demo", false, "seed the demo tenant when the database has no tenants")
	if err := fs.Parse(args); err != nil {
		return err
	}
	started := time.Now()
	db, err := openDatabase(ctx, cfg, logger, true, "accord-serve")
	if err != nil {
		return err
	}
	defer db.close(logger)
	if *demo {
		n, err := db.store.CountTenants(ctx)
		if err != nil {
			return err
		}
		_, acmeErr := db.store.FindTenantBySlug(ctx, "acme")
		// Seed an empty database; on later starts print the demo logins again.
		if n == 0 || acmeErr == nil {
			if err := seedDemo(ctx, db.store, logger, stdout, time.Now); err != nil {
				return err
			}
		} else {
			logger.Info("the database has tenants but no demo tenant; --demo seeds only an empty database")
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := server.New(server.Config{
		BaseURL:       cfg.BaseURL,
		SecureCookies: cfg.TLSCertFile != "" || strings.HasPrefix(cfg.BaseURL, "https:"),
		MailEnabled:   cfg.Mail.Enabled(),
		TrustProxy:    cfg.TrustProxy,
		Production:    cfg.Production,
	}, logger, db.store, time.Now, reg)

	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	httpSrv.RegisterOnShutdown(srv.CloseStreams)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on ADDR=%s: %w", cfg.Addr, err)
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.RunLive(workCtx) // breaches to open dashboards, from any process
	}()
	if !*noWorker {
		w, err := newWorker(cfg, logger, db)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(workCtx); err != nil {
				logger.Error("worker", "error", err.Error())
			}
		}()
	}

	serveErr := make(chan error, 1)
	go func() {
		if cfg.TLSCertFile != "" {
			serveErr <- httpSrv.ServeTLS(ln, cfg.TLSCertFile, cfg.TLSKeyFile)
		} else {
			serveErr <- httpSrv.Serve(ln)
		}
	}()
	logger.Info("accord is serving", "url", cfg.BaseURL, "addr", ln.Addr().String(),
		"worker", !*noWorker, "startup_ms", time.Since(started).Milliseconds())
	fmt.Fprintf(stdout, "Accord is serving on %s\n", cfg.BaseURL)

	select {
	case err := <-serveErr:
		stopWork()
		wg.Wait()
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	// Graceful shutdown: stop accepting, let in-flight requests finish, stop
	// the worker, then (deferred) close the pool and stop the cluster.
	logger.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		logger.Error("http shutdown", "error", err.Error())
	}
	stopWork()
	wg.Wait()
	logger.Info("stopped")
	return nil
}

func newWorker(cfg config, logger *slog.Logger, db *database) (*worker.Worker, error) {
	var mailer worker.Mailer
	if cfg.Mail.Enabled() {
		mailer = mail.NewSender(cfg.Mail, time.Now)
	}
	return worker.New(worker.Options{Logger: logger, Store: db.store, Now: time.Now, Mailer: mailer, Digests: true,
		BaseURL: cfg.BaseURL, Webhooks: webhook.NewClient(cfg.Production, time.Now)})
}

func runWorker(ctx context.Context, cfg config, logger *slog.Logger, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("worker takes no arguments")
	}
	db, err := openDatabase(ctx, cfg, logger, true, "accord-worker")
	if err != nil {
		return err
	}
	defer db.close(logger)
	w, err := newWorker(cfg, logger, db)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}
