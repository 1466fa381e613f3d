// Package mail sends e-mail over SMTP: invitations, breach notifications and
// digests. Messages are queued as durable jobs (SendArgs) and sent by the
// worker, so a crash between the cause and the send loses nothing.
package mail

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Message is one e-mail with a plain-text body and an optional HTML body.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
	// MessageID, when set, is the left part of the Message-ID header (the
	// sender's domain is the right part): the same for every send of one
	// message, so a resend after a crash reads as a duplicate. Letters,
	// digits and ".-_+=" only. Empty: a random one.
	MessageID string `json:"message_id,omitempty"`
}

// SendArgs is the durable job that sends one message.
type SendArgs struct {
	TenantID string  `json:"tenant_id"`
	Message  Message `json:"message"`
}

// Kind names the job for the queue.
func (SendArgs) Kind() string { return "mail.send" }

// Config is how to reach the SMTP server.
type Config struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
	// TLS: "starttls" (default: upgrade when the server offers it), "tls"
	// (implicit TLS, port 465) or "none".
	TLS string
}

// Enabled reports whether a server is configured.
func (c Config) Enabled() bool { return c.Host != "" }

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	if c.Port <= 0 || c.Port > 65535 {
		return fmt.Errorf("SMTP_PORT must be a port number")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("SMTP_FROM must be an address such as \"Accord <accord@example.com>\": %w", err)
	}
	switch c.TLS {
	case "", "starttls", "tls", "none":
	default:
		return fmt.Errorf("SMTP_TLS must be starttls, tls or none")
	}
	return nil
}

// Sender delivers messages to an SMTP server.
type Sender struct {
	cfg     Config
	timeout time.Duration
	now     func() time.Time
}

// NewSender returns a sender for cfg.
func NewSender(cfg Config, now func() time.Time) *Sender {
	return &Sender{cfg: cfg, timeout: 30 * time.Second, now: now}
}

// ErrNotConfigured reports a send without an SMTP server configured.
var ErrNotConfigured = errors.New("no SMTP server is configured (set SMTP_HOST)")

// Send delivers msg.
func (s *Sender) Send(msg Message) error {
	if !s.cfg.Enabled() {
		return ErrNotConfigured
	}
	to, err := mail.ParseAddress(msg.To)
	if err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	if !validMessageID(msg.MessageID) {
		return fmt.Errorf("message id %q: use letters, digits and .-_+= only", msg.MessageID)
	}
	from, err := mail.ParseAddress(s.cfg.From)
	if err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	body, err := s.compose(from, to, msg)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	var conn net.Conn
	dialer := &net.Dialer{Timeout: s.timeout}
	if s.cfg.TLS == "tls" {
		conn, err = tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{ServerName: s.cfg.Host})
	} else {
		conn, err = dialer.Dial("tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("connect to smtp %s: %w", addr, err)
	}
	// A network deadline is wall-clock time, not the (injectable) business clock.
	_ = conn.SetDeadline(time.Now().Add(s.timeout))
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp hello: %w", err)
	}
	defer c.Close()
	if s.cfg.TLS == "" || s.cfg.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(&tls.Config{ServerName: s.cfg.Host}); err != nil {
				return fmt.Errorf("smtp starttls: %w", err)
			}
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("smtp rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("smtp write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end data: %w", err)
	}
	return c.Quit()
}

// compose renders msg as a MIME message: text only, or multipart/alternative
// with text and HTML so every mail client shows something readable.
func (s *Sender) compose(from, to *mail.Address, msg Message) ([]byte, error) {
	var b bytes.Buffer
	h := textproto.MIMEHeader{}
	h.Set("From", from.String())
	h.Set("To", to.String())
	h.Set("Subject", mime.QEncoding.Encode("utf-8", msg.Subject))
	h.Set("Date", s.now().Format(time.RFC1123Z))
	id := msg.MessageID
	if id == "" {
		id = randomID()
	}
	h.Set("Message-ID", "<"+id+"@"+domainOf(from.Address)+">")
	h.Set("MIME-Version", "1.0")
	writeHeader := func() {
		for _, k := range []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"} {
			if v := h.Get(k); v != "" {
				fmt.Fprintf(&b, "%s: %s\r\n", k, v)
			}
		}
		b.WriteString("\r\n")
	}
	if msg.HTML == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		writeHeader()
		if err := writeQP(&b, msg.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	var parts bytes.Buffer
	mw := multipart.NewWriter(&parts)
	for _, p := range []struct{ ctype, body string }{{"text/plain; charset=utf-8", msg.Text}, {"text/html; charset=utf-8", msg.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, fmt.Errorf("mime part: %w", err)
		}
		var qp bytes.Buffer
		if err := writeQP(&qp, p.body); err != nil {
			return nil, err
		}
		if _, err := w.Write(qp.Bytes()); err != nil {
			return nil, fmt.Errorf("mime part: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mime close: %w", err)
	}
	h.Set("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	writeHeader()
	b.Write(parts.Bytes())
	return b.Bytes(), nil
}

func writeQP(b *bytes.Buffer, s string) error {
	w := quotedprintable.NewWriter(b)
	if _, err := w.Write([]byte(strings.ReplaceAll(s, "\n", "\r\n"))); err != nil {
		return fmt.Errorf("encode body: %w", err)
	}
	return w.Close()
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "accord.invalid"
}

// validMessageID reports whether id may stand left of the @ in a
// Message-ID (a dot-atom, conservatively): nothing that could end the
// header or start another.
func validMessageID(id string) bool {
	if len(id) > 200 || strings.HasPrefix(id, ".") || strings.HasSuffix(id, ".") || strings.Contains(id, "..") {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_+=", r)
		if !ok {
			return false
		}
	}
	return true
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
