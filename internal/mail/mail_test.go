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

	require.Regexp(t, `^<[0-9a-f]{24}@acme\.test>$`, m.Header("Message-ID"), "a random Message-ID when the message names none")

	t.Run("MessageID", func(t *testing.T) {
		msg := mail.Message{To: "ana@example.com", Subject: "x", Text: "y", MessageID: "accord-job-7.t-1"}
		require.NoError(t, s.Send(msg))
		require.NoError(t, s.Send(msg), "sent again: a resend")
		got := srv.Messages()
		require.Equal(t, "<accord-job-7.t-1@acme.test>", got[len(got)-1].Header("Message-ID"))
		require.Equal(t, got[len(got)-2].Header("Message-ID"), got[len(got)-1].Header("Message-ID"))
		for _, bad := range []string{"a b", "x\r\nBcc: eve@example.com", "<x>", "a@b", ".x", "x..y"} {
			msg.MessageID = bad
			require.Error(t, s.Send(msg), "%q", bad)
		}
	})

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
