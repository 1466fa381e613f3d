// Package mailtest runs a small SMTP server on loopback for tests, so that
// e-mail is delivered over a real SMTP conversation and inspected as sent.
package mailtest

import (
	"bufio"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
)

// Received is one message the server accepted.
type Received struct {
	From string
	To   []string
	Data string // the raw message, headers and body
}

// Header parses the message and returns a header.
func (r Received) Header(key string) string {
	m, err := mail.ReadMessage(strings.NewReader(r.Data))
	if err != nil {
		return ""
	}
	return m.Header.Get(key)
}

// Server is a loopback SMTP server.
type Server struct {
	ln       net.Listener
	mu       sync.Mutex
	received []Received
	failNext int
	notify   chan Received
}

// NewServer starts a server that stops when t ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s := &Server{ln: ln, notify: make(chan Received, 1000)}
	go s.serve()
	t.Cleanup(func() { _ = ln.Close() })
	return s
}

// Addr is host and port to configure the sender with.
func (s *Server) Addr() (string, int) {
	a := s.ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// FailNext makes the next n deliveries fail with a temporary error (451).
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

// Messages returns what was accepted so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Received delivers accepted messages as they arrive, up to 1,000 unread;
// later ones are only in Messages.
func (s *Server) Received() <-chan Received { return s.notify }

func (s *Server) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

func (s *Server) handle(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	say := func(line string) {
		_, _ = w.WriteString(line + "\r\n")
		_ = w.Flush()
	}
	say("220 mailtest ESMTP")
	var cur Received
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-mailtest")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			cur = Received{From: addrOf(line[len("MAIL FROM:"):])}
			say("250 OK")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			cur.To = append(cur.To, addrOf(line[len("RCPT TO:"):]))
			say("250 OK")
		case cmd == "DATA":
			say("354 end with <CR><LF>.<CR><LF>")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Data = b.String()
			s.mu.Lock()
			fail := s.failNext > 0
			if fail {
				s.failNext--
			} else {
				s.received = append(s.received, cur)
			}
			s.mu.Unlock()
			if fail {
				say("451 try again later")
				continue
			}
			// Never block the SMTP conversation on a test that does not
			// read the channel: Messages has everything.
			select {
			case s.notify <- cur:
			default:
			}
			say("250 queued")
		case cmd == "RSET", cmd == "NOOP":
			say("250 OK")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

// addrOf reads the address of "<a@b.c> PARAM=…".
func addrOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '>'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimPrefix(s, "<")
}
