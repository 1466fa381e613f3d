package worker

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/mail/mailtest"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
)

func TestMain(m *testing.M) { postgrestest.Main(m) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestWorker_InvitationMail: an invitation queued with the membership is
// delivered over SMTP by the worker, after a temporary failure, once.
func TestWorker_InvitationMail(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	now := time.Now()
	tn := postgrestest.CreateTenant(t, db.Store, "acme", now)
	smtp := mailtest.NewServer(t)
	smtp.FailNext(1)
	host, port := smtp.Addr()
	sender := mail.NewSender(mail.Config{Host: host, Port: port, From: "Accord <accord@acme.test>", TLS: "none"}, time.Now)

	_, hash := auth.NewInviteToken(tn.ID)
	msg := mail.Message{To: "new@acme.test", Subject: "You're invited", Text: "link: https://accord.test/invite/x"}
	_, err := db.Store.InviteUser(context.Background(), tn.ID, tn.Admin(),
		auth.InviteInput{Email: "new@acme.test", Name: "New", Role: tenant.RoleRep}, postgres.Invite{TokenHash: hash, Email: &msg}, now)
	require.NoError(t, err)

	w, err := New(Options{Logger: discard, Store: db.Store, Now: time.Now, Mailer: sender})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	select {
	case got := <-smtp.Received():
		require.Equal(t, []string{"new@acme.test"}, got.To)
		require.Equal(t, "You're invited", got.Header("Subject"))
		require.Contains(t, got.Data, "https://accord.test/invite/x")
	case <-time.After(30 * time.Second):
		t.Fatal("the invitation e-mail was not delivered")
	}
	cancel()
	require.NoError(t, <-done)
	require.Len(t, smtp.Messages(), 1, "delivered exactly once after the retry")
}

func TestWorker_Maintenance(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	ss := postgres.NewSessionStore(db.Pool, func() time.Time { return t0 })
	require.NoError(t, ss.CommitCtx(ctx, "old", []byte("x"), t0.Add(time.Hour)))
	require.NoError(t, ss.CommitCtx(ctx, "live", []byte("x"), t0.Add(48*time.Hour)))
	require.NoError(t, db.Store.RecordLoginFailure(ctx, "a@b.c", "1.2.3.4", t0))

	w, err := New(Options{Logger: discard, Store: db.Store, Now: func() time.Time { return t0 }})
	require.NoError(t, err)
	res, err := w.runMaintenance(ctx, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 1, res.sessionsDeleted)
	_, ok, err := ss.FindCtx(ctx, "live")
	require.NoError(t, err)
	require.True(t, ok)
	_, blocked, err := db.Store.LoginBlocked(ctx, postgres.Throttle{Window: time.Hour * 24 * 365, PerAccount: 1, PerClient: 1}, "a@b.c", "1.2.3.4", t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.False(t, blocked, "failures older than the window are gone")
}
