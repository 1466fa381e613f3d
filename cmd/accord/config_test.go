package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig_Defaults(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(envOf(nil))
	require.NoError(t, err)
	require.Equal(t, "localhost:8080", c.Addr)
	require.Equal(t, "http://localhost:8080", c.BaseURL)
	require.Equal(t, ".accord", c.DataDir)
	require.Equal(t, slog.LevelInfo, c.LogLevel)
	require.Equal(t, 12*time.Second, c.ShutdownTimeout)
	require.False(t, c.Mail.Enabled())
	require.False(t, c.Production)

	c, err = loadConfig(envOf(map[string]string{"ADDR": "0.0.0.0:9000", "TLS_CERT_FILE": "c.pem", "TLS_KEY_FILE": "k.pem"}))
	require.NoError(t, err)
	require.Equal(t, "https://localhost:9000", c.BaseURL)
}

func TestLoadConfig_Errors(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(envOf(map[string]string{
		"ADDR": "8080", "LOG_LEVEL": "loud", "BASE_URL": "ftp://x", "TLS_CERT_FILE": "c.pem",
		"DB_MAX_CONNS": "1", "SMTP_HOST": "smtp.example.com", "SMTP_FROM": "nobody", "ACCORD_ENV": "staging",
		"APP_DATABASE_URL": "postgres://app@db/accord",
	}))
	require.Error(t, err)
	for _, want := range []string{"ADDR", "LOG_LEVEL", "BASE_URL", "TLS_KEY_FILE", "DB_MAX_CONNS", "SMTP_FROM", "ACCORD_ENV", "APP_DATABASE_URL needs DATABASE_URL"} {
		require.Contains(t, err.Error(), want)
	}
}
