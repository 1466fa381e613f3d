// Package webhook delivers Accord's events to the URLs tenants register:
// signed JSON (API.md Webhooks) or Slack-compatible text, retried by a
// durable job with backoff for 24 hours.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The event types of API.md.
const (
	BreachCreated   = "breach.created"
	BreachEscalated = "breach.escalated"
	TimerAtRisk     = "timer.at_risk"
	LeadAccepted    = "lead.accepted"
	LeadRejected    = "lead.rejected"
	PeriodMissed    = "period.missed"
)

// Types lists every event type, for pickers and validation.
var Types = []string{BreachCreated, BreachEscalated, TimerAtRisk, LeadAccepted, LeadRejected, PeriodMissed}

// ValidType reports whether t is an event type.
func ValidType(t string) bool {
	for _, x := range Types {
		if x == t {
			return true
		}
	}
	return false
}

// Event is one occurrence delivered to endpoints. ID is stable across
// retries so receivers can drop duplicates.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Tenant    string          `json:"tenant"`
	Data      json.RawMessage `json:"data"`
	// Text is the line a Slack-compatible endpoint gets.
	Text string `json:"-"`
}

// DeliverArgs is the durable job that delivers one event to one endpoint.
// The endpoint's URL and secret are read at delivery time, so they never sit
// in the job queue and an endpoint removed meanwhile gets nothing.
type DeliverArgs struct {
	TenantID   string `json:"tenant_id"`
	EndpointID string `json:"endpoint_id"`
	Event      Event  `json:"event"`
	Text       string `json:"text"`
}

// Endpoint is where and how to deliver.
type Endpoint struct {
	URL    string
	Format string // accord or slack
	Secret string
}

// Kind names the job.
func (DeliverArgs) Kind() string { return "webhook.deliver" }

// MaxAttempts bounds a delivery's attempts. The worker's backoff (10 s
// doubling to 30 min) reaches 24 hours after about 55 attempts; the worker
// gives up at 24 hours, so this is only a backstop.
const MaxAttempts = 80

// NewSecret makes an endpoint's signing secret.
func NewSecret() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// Signature is the Accord-Signature header of body sent at t:
// t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">.
func Signature(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks an Accord-Signature header against body, refusing
// signatures older than tolerance: what a receiver does.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, v1 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || v1 == "" {
		return errors.New("malformed signature header")
	}
	at := time.Unix(sec, 0)
	if now.Sub(at) > tolerance || at.Sub(now) > tolerance {
		return errors.New("signature timestamp outside tolerance")
	}
	want := Signature(secret, at, body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+v1)) {
		return errors.New("signature does not match")
	}
	return nil
}

// ValidateURL checks an endpoint URL: http(s) with a host, and in
// production not a private, loopback or link-local address (no requests
// into the operator's own network).
func ValidateURL(raw string, production bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http(s) URL such as https://hooks.example.com/accord")
	}
	if len(raw) > 2000 {
		return errors.New("must be at most 2000 characters")
	}
	if u.User != nil {
		return errors.New("must not carry a user name or password")
	}
	if !production {
		return nil
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return errors.New("must not point to this machine")
	}
	if addr, err := netip.ParseAddr(host); err == nil && !publicAddr(addr) {
		return errors.New("must not point to a private, loopback or link-local address")
	}
	return nil
}

func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast())
}

// Client delivers events over HTTP.
type Client struct {
	http       *http.Client
	production bool
	now        func() time.Time
}

// NewClient returns a client. In production it refuses to connect to
// private addresses even when a public name resolves to one.
func NewClient(production bool, now func() time.Time) *Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
	if production {
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil && !publicAddr(ap.Addr()) {
				conn.Close()
				return nil, fmt.Errorf("refusing to deliver to private address %s", ap.Addr())
			}
			return conn, nil
		}
	}
	return &Client{http: &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, production: production, now: now}
}

// StatusError reports a non-2xx answer; the job retries it.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return "endpoint answered " + strconv.Itoa(e.Code) }

// Deliver sends one event. A non-2xx answer or a network error is an error
// (retried by the job); the body sent is the event JSON, or {"text": …} for
// Slack-compatible endpoints.
func (c *Client) Deliver(ctx context.Context, ep Endpoint, a DeliverArgs) error {
	var body []byte
	var err error
	if ep.Format == "slack" {
		body, err = json.Marshal(map[string]string{"text": a.Text})
	} else {
		body, err = json.Marshal(a.Event)
	}
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Accord-Webhooks/1")
	req.Header.Set("Accord-Event-Id", a.Event.ID)
	req.Header.Set("Accord-Event-Type", a.Event.Type)
	req.Header.Set("Accord-Signature", Signature(ep.Secret, c.now(), body))
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("deliver %s to %s: %w", a.Event.Type, redactURL(ep.URL), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Code: resp.StatusCode}
	}
	return nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the endpoint"
	}
	u.RawQuery = ""
	return u.String()
}
