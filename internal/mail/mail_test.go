package mail_test

import (
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/mail/mailtest"
)

func TestSender_Send(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t)
	host, port := srv.Addr()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	s := mail.NewSender(mail.Config{Host: host, Port: port, From: "Accord <accord@acme.test>", TLS: "none"}, func() time.Time { return now })

	err := s.Send(mail.Message{To: "ana@example.com", Subject: "Grüße from Accord", Text: "Plain body\nline two", HTML: "<p>HTML body</p>"})
	require.NoError(t, err)
	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	m := msgs[0]
	require.Equal(t, "accord@acme.test", m.From)
	require.Equal(t, []string{"ana@example.com"}, m.To)
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header("Subject"))
	require.NoError(t, err)
	require.Equal(t, "Grüße from Accord", subject)
	require.True(t, strings.HasPrefix(m.Header("Content-Type"), "multipart/alternative"))
	require.Contains(t, m.Data, "Plain body")
	require.Contains(t, m.Data, "<p>HTML body</p>")
	require.Equal(t, now.Format(time.RFC1123Z), m.Header("Date"))

	t.Run("TemporaryFailure", func(t *testing.T) {
		srv.FailNext(1)
		err := s.Send(mail.Message{To: "ana@example.com", Subject: "x", Text: "y"})
		require.Error(t, err)
		require.Contains(t, err.Error(), "451")
	})

	t.Run("NotConfigured", func(t *testing.T) {
		err := mail.NewSender(mail.Config{}, time.Now).Send(mail.Message{To: "a@b.c"})
		require.ErrorIs(t, err, mail.ErrNotConfigured)
	})

	t.Run("BadRecipient", func(t *testing.T) {
		require.Error(t, s.Send(mail.Message{To: "not an address", Subject: "x", Text: "y"}))
	})
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	require.NoError(t, mail.Config{}.Validate(), "no SMTP host: mail is off")
	require.NoError(t, mail.Config{Host: "smtp.example.com", Port: 587, From: "a@example.com"}.Validate())
	require.ErrorContains(t, mail.Config{Host: "h", Port: 0, From: "a@example.com"}.Validate(), "SMTP_PORT")
	require.ErrorContains(t, mail.Config{Host: "h", Port: 25, From: "nope"}.Validate(), "SMTP_FROM")
	require.ErrorContains(t, mail.Config{Host: "h", Port: 25, From: "a@b.c", TLS: "ssl3"}.Validate(), "SMTP_TLS")
}
