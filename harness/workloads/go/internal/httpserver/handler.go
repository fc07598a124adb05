package httpserver

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kth-sample-server/internal/conntrack"
	"kth-sample-server/internal/control"
	"kth-sample-server/internal/identity"
)

type connKey struct{}

// connOf is the tracked connection a request arrived on (put in the context by ConnContext).
func connOf(ctx context.Context) *conntrack.Conn {
	c, _ := ctx.Value(connKey{}).(*conntrack.Conn)
	return c
}

// ServeHTTP answers every request: identity headers on all of them, control paths apart from the
// workload (harness/workloads/http/server.ts handle()).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := connOf(r.Context())
	if c == nil {
		panic(http.ErrAbortHandler)
	}
	if r.Method == "PRI" && r.RequestURI == "*" {
		// An h2c preface on an HTTP/1.1-only server (--no-h2c): net/http hands it to the handler,
		// Node's parser refuses it. Refuse it too, without counting it as a request.
		w.Header().Set("Connection", "close")
		control.Send(w, http.StatusBadRequest, "text/plain", "")
		return
	}
	h1 := r.ProtoMajor == 1
	sequence := c.NextSequence()
	path := control.PathOf(r)
	h := w.Header()
	if h1 {
		// net/http keeps the connection open without saying so; Node says it, and tells the idle time.
		if r.ProtoAtLeast(1, 1) && !r.Close {
			h.Set("Connection", "keep-alive")
		}
		if s.cfg.KeepAliveTimeout > 0 {
			h["keep-alive"] = []string{"timeout=" + strconv.FormatInt(int64(s.cfg.KeepAliveTimeout/time.Second), 10)}
		}
	}
	setIdentity(h, s.cfg.Pod, c, sequence)
	if forwarded := r.Header.Values("X-Forwarded-For"); len(forwarded) > 0 {
		h[identity.HeaderForwardedFor] = []string{strings.Join(forwarded, ", ")}
	}

	if control.IsControlPath(path) {
		s.counters.control.Add(1)
		s.markClosing(h, c, sequence, h1)
		control.Serve(w, r, path, s.control)
		return
	}

	s.counters.requests.Add(1)
	c.CountWorkload()
	s.counters.inFlight.Add(1)
	defer s.counters.inFlight.Add(-1)

	k, bad := requestKnobs(r, &s.cfg)
	if bad != "" {
		s.markClosing(h, c, sequence, h1)
		control.SendJSON(w, http.StatusBadRequest, map[string]string{"error": bad})
		s.counters.responded(http.StatusBadRequest)
		return
	}
	if k.delay > 0 && !sleep(r.Context(), k.delay) {
		return // the connection is gone (or was reset): nobody to answer
	}

	injected := s.cfg.ErrorRate > 0 && rand.Float64() < s.cfg.ErrorRate
	status := http.StatusOK
	if injected {
		s.counters.errorsInjected.Add(1)
		status = http.StatusInternalServerError
	}
	protocol := "http/1.1"
	if !h1 {
		protocol = "h2"
	}
	pod := s.cfg.Pod
	body := &whoBody{
		Pod: pod.Pod, Node: pod.Node, PodIP: pod.PodIP, Namespace: pod.Namespace,
		PeerAddress: c.Peer.Addr().String(), PeerPort: int(c.Peer.Port()),
		ConnectionID: c.ID, Sequence: sequence,
		Protocol: protocol, Method: r.Method, Path: path, Status: status,
	}
	s.markClosing(h, c, sequence, h1)
	writeWho(w, body, k.payloadBytes, injected)
	if r.Context().Err() == nil {
		s.counters.responded(status)
	}
}

// markClosing tells the client this connection ends after the response: Connection: close on
// HTTP/1.1; on h2 the same header makes net/http send GOAWAY and drop the header.
func (s *Server) markClosing(h http.Header, c *conntrack.Conn, sequence uint64, h1 bool) {
	reason := closeReason(c, sequence, &s.cfg)
	if reason == "" {
		return
	}
	c.MarkClosing()
	h[closingHeader] = []string{reason}
	h.Set("Connection", "close")
	if h1 {
		delete(h, "keep-alive")
	}
}

// sleep waits d unless ctx ends first; it reports whether the full time passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
