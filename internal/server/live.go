package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
)

// liveHub fans breach notices out to the open dashboards of their tenant.
type liveHub struct {
	mu     sync.Mutex
	subs   map[tenant.ID]map[chan int]struct{}
	ready  chan struct{} // closed once the first LISTEN is in place
	once   sync.Once
	closed chan struct{} // closed at shutdown: every stream ends
	close  sync.Once
}

func newLiveHub() *liveHub {
	return &liveHub{subs: map[tenant.ID]map[chan int]struct{}{}, ready: make(chan struct{}), closed: make(chan struct{})}
}

func (h *liveHub) subscribe(tid tenant.ID) chan int {
	ch := make(chan int, 8)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[tid] == nil {
		h.subs[tid] = map[chan int]struct{}{}
	}
	h.subs[tid][ch] = struct{}{}
	return ch
}

func (h *liveHub) unsubscribe(tid tenant.ID, ch chan int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[tid], ch)
	if len(h.subs[tid]) == 0 {
		delete(h.subs, tid)
	}
}

// publish never blocks: a page that is not reading misses a notice, and
// the next one (or its next reload) brings it up to date anyway.
func (h *liveHub) publish(n postgres.BreachNotice) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[n.TenantID] {
		select {
		case ch <- n.Count:
		default:
		}
	}
}

// RunLive listens for breaches and forwards them to open dashboards until
// ctx ends, reconnecting after a lost connection.
func (s *Server) RunLive(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.store.ListenBreaches(ctx, func() { s.live.once.Do(func() { close(s.live.ready) }) }, s.live.publish)
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("live breaches: listener lost; reconnecting", "error", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// LiveReady is closed once RunLive listens: later breaches reach pages.
func (s *Server) LiveReady() <-chan struct{} { return s.live.ready }

// CloseStreams ends every open event stream, so a graceful shutdown need
// not wait for pages that would never hang up (http.Server's
// RegisterOnShutdown).
func (s *Server) CloseStreams() { s.live.close.Do(func() { close(s.live.closed) }) }

// liveHeartbeat keeps proxies from closing an idle event stream.
const liveHeartbeat = 25 * time.Second

// handleEvents streams server-sent events to a signed-in page: "breach"
// with the number of breaches its tenant just recorded.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	rc := http.NewResponseController(w)
	// The stream outlives the server's write timeout, by design.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	ch := s.live.subscribe(p.TenantID())
	defer s.live.unsubscribe(p.TenantID(), ch)
	if _, err := fmt.Fprint(w, "retry: 5000\n: connected\n\n"); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(liveHeartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-s.live.closed:
			return
		case n := <-ch:
			_, err = fmt.Fprintf(w, "event: breach\ndata: {\"count\":%d}\n\n", n)
		case <-tick.C:
			_, err = fmt.Fprint(w, ": still here\n\n")
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}
