package control

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"
)

const sideNotFound = "not found: this port serves /metrics, /healthz, /readyz, /admin/readiness, /clock\n"

// SideServer is the HTTP side port of a server whose main port speaks something else (gRPC):
// the control paths and nothing more, without identity headers (as the Node side port).
type SideServer struct {
	srv *http.Server
}

// ServeSide serves the control paths on ln until Close.
func ServeSide(ln net.Listener, ctx Context) *SideServer {
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			path := PathOf(r)
			if !IsControlPath(path) {
				// No Content-Type, as Node sends none; nil stops net/http from sniffing one.
				w.Header()["Content-Type"] = nil
				w.Header().Set("Content-Length", strconv.Itoa(len(sideNotFound)))
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(sideNotFound))
				return
			}
			Serve(w, r, path, ctx)
		}),
		// Node's own keep-alive default for a plain http.Server.
		IdleTimeout: 5 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	return &SideServer{srv: srv}
}

// Close stops the side port and its connections.
func (s *SideServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		_ = s.srv.Close()
	}
}
