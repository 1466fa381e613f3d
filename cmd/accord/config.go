package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/accordhq/accord/internal/mail"
)

// config is everything Accord reads from the environment, read once here.
type config struct {
	DatabaseURL     string // owner role: migrations; with AppDatabaseURL unset the app SET ROLEs from it
	AppDatabaseURL  string // the application role
	DataDir         string // ACCORD_DATA: the embedded cluster's home
	PGBin           string
	Addr            string
	BaseURL         string
	LogLevel        slog.Level
	LogFormat       string
	TLSCertFile     string
	TLSKeyFile      string
	TrustProxy      bool
	Production      bool
	Mail            mail.Config
	DBMaxConns      int32
	DBWait          time.Duration
	ShutdownTimeout time.Duration
	NoWorker        bool
}

// loadConfig reads and checks the configuration; every problem is reported
// with the variable to fix.
func loadConfig(getenv func(string) string) (config, error) {
	env := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	var problems []string
	c := config{
		DatabaseURL:    env("DATABASE_URL", ""),
		AppDatabaseURL: env("APP_DATABASE_URL", ""),
		DataDir:        env("ACCORD_DATA", ".accord"),
		PGBin:          env("ACCORD_PG_BIN", ""),
		Addr:           env("ADDR", "localhost:8080"),
		LogFormat:      env("LOG_FORMAT", "text"),
		TLSCertFile:    env("TLS_CERT_FILE", ""),
		TLSKeyFile:     env("TLS_KEY_FILE", ""),
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		problems = append(problems, fmt.Sprintf("ADDR=%q must be host:port, e.g. localhost:8080", c.Addr))
	}
	switch strings.ToLower(env("LOG_LEVEL", "info")) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		problems = append(problems, "LOG_LEVEL must be debug, info, warn or error")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, "LOG_FORMAT must be text or json")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		problems = append(problems, "set both TLS_CERT_FILE and TLS_KEY_FILE, or neither")
	}
	scheme := "http"
	if c.TLSCertFile != "" {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(c.Addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	c.BaseURL = strings.TrimRight(env("BASE_URL", scheme+"://"+net.JoinHostPort(host, port)), "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("BASE_URL=%q must be an http(s) URL such as https://accord.example.com", c.BaseURL))
	}
	var err error
	if c.TrustProxy, err = parseBool(env("TRUST_PROXY", "false")); err != nil {
		problems = append(problems, "TRUST_PROXY must be true or false")
	}
	switch env("ACCORD_ENV", "development") {
	case "production":
		c.Production = true
	case "development":
	default:
		problems = append(problems, "ACCORD_ENV must be development or production")
	}
	if c.NoWorker, err = parseBool(env("ACCORD_NO_WORKER", "false")); err != nil {
		problems = append(problems, "ACCORD_NO_WORKER must be true or false")
	}
	maxConns, err := strconv.Atoi(env("DB_MAX_CONNS", "20"))
	if err != nil || maxConns < 2 || maxConns > 1000 {
		problems = append(problems, "DB_MAX_CONNS must be a number from 2 to 1000")
	}
	c.DBMaxConns = int32(maxConns)
	if c.DBWait, err = time.ParseDuration(env("DB_WAIT", "10s")); err != nil || c.DBWait < 0 {
		problems = append(problems, "DB_WAIT must be a duration such as 10s")
	}
	if c.ShutdownTimeout, err = time.ParseDuration(env("SHUTDOWN_TIMEOUT", "12s")); err != nil || c.ShutdownTimeout <= 0 {
		problems = append(problems, "SHUTDOWN_TIMEOUT must be a duration such as 12s")
	}
	smtpPort, err := strconv.Atoi(env("SMTP_PORT", "587"))
	if err != nil {
		problems = append(problems, "SMTP_PORT must be a port number")
	}
	c.Mail = mail.Config{
		Host:     env("SMTP_HOST", ""),
		Port:     smtpPort,
		Username: env("SMTP_USERNAME", ""),
		Password: getenv("SMTP_PASSWORD"),
		From:     env("SMTP_FROM", "Accord <accord@localhost>"),
		TLS:      env("SMTP_TLS", "starttls"),
	}
	if err := c.Mail.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	if c.AppDatabaseURL != "" && c.DatabaseURL == "" {
		problems = append(problems, "APP_DATABASE_URL needs DATABASE_URL too (the owner role that runs migrations)")
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(problems, "; "))
	}
	return c, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off", "":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", s)
}

func newLogger(c config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
