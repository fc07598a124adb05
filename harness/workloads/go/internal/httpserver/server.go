// Package httpserver is the sample HTTP server: HTTP/1.1 and prior-knowledge h2c on one port,
// every answer saying which pod and which TCP connection served it (harness/workloads/http).
package httpserver

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"kth-sample-server/internal/bind"
	"kth-sample-server/internal/conntrack"
	"kth-sample-server/internal/control"
)

// Server is a running sample HTTP server.
type Server struct {
	cfg            Config
	table          *conntrack.Table
	counters       counters
	readiness      *control.Readiness
	control        control.Context
	ln             *conntrack.Listener
	srv            *http.Server
	shutdownOnce   sync.Once
	shutdownResult conntrack.DrainResult
	// Port is the bound port (the chosen one for --port 0).
	Port int
}

// Start binds the port and serves until Shutdown.
func Start(cfg Config) (*Server, error) {
	tcp, err := bind.Listen(cfg.Host, cfg.Port, HostSpec, PortSpec)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, table: conntrack.NewTable(cfg.Pod.Pod), readiness: control.NewReadiness(), Port: bind.Port(tcp)}
	s.control = control.Context{Readiness: s.readiness, Metrics: func() string { return s.counters.metricsText(s.table, s.readiness.Ready()) }}
	s.ln = conntrack.NewListener(tcp, s.table, s.wrap)

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(cfg.H2C)
	s.srv = &http.Server{
		Handler:   s,
		Protocols: protocols,
		// The idle timeout is exact in net/http (armed when a response ends, unlike Node's, which adds
		// 1 s); for h2 the same setting sends GOAWAY to an idle connection.
		IdleTimeout: cfg.KeepAliveTimeout,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if sc, ok := c.(*sniffConn); ok {
				return context.WithValue(ctx, connKey{}, sc.Conn)
			}
			return ctx
		},
		// Quiet: a client that resets its connection is part of what the harness measures.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	if !cfg.H2C {
		// Node arms the idle timer at accept on an HTTP/1.1-only port: a connection that sends no
		// request is closed after the keep-alive timeout, too. (With h2c, Node waits for the
		// first bytes to pick a parser and never times out a silent connection; neither does this.)
		s.srv.ReadHeaderTimeout = cfg.KeepAliveTimeout
	}
	go func() { _ = s.srv.Serve(s.ln) }()
	return s, nil
}

func (s *Server) wrap(c *conntrack.Conn) net.Conn {
	sc := &sniffConn{Conn: c, onDecide: s.counters.adopted}
	if !s.cfg.H2C {
		// Without h2c the connection is HTTP/1.1 from accept, as Node adopts it.
		sc.decided.Store(true)
		c.SetProtocol(conntrack.HTTP1)
		s.counters.adopted(conntrack.HTTP1)
	}
	return sc
}

// Shutdown runs the shutdown once; later calls wait for it and get the same result.
func (s *Server) Shutdown() conntrack.DrainResult {
	s.shutdownOnce.Do(func() { s.shutdownResult = s.shutdown() })
	return s.shutdownResult
}

// shutdown is what SIGTERM does: not ready → shutdown delay (still serving) → stop accepting →
// in-flight requests finish with Connection: close (h2: GOAWAY), idle connections close → done.
// After the drain timeout, or at once without drain, remaining connections are reset.
func (s *Server) shutdown() conntrack.DrainResult {
	s.readiness.ShutDown()
	if !s.cfg.Drain {
		_ = s.ln.Close()
		result := conntrack.DrainResult{Forced: s.table.ResetAll()}
		_ = s.srv.Close()
		s.table.Settle()
		return result
	}
	if s.cfg.ShutdownDelay > 0 {
		time.Sleep(s.cfg.ShutdownDelay)
	}
	_ = s.ln.Close()
	for _, c := range s.table.Open() {
		c.MarkClosing()
		// A connection that has not sent a whole request yet has nothing to finish (Node ends it too);
		// net/http would wait 5 s before treating it as idle.
		if c.Protocol() == conntrack.Pending || (c.Protocol() == conntrack.HTTP1 && c.Sequence() == 0) {
			_ = c.Close()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	// net/http's Shutdown disables keep-alive (Connection: close on in-flight answers), closes idle
	// HTTP/1.1 connections and sends GOAWAY on h2 ones; the table says when all are gone.
	go func() { _ = s.srv.Shutdown(ctx) }()
	result := conntrack.DrainResult{Drained: s.table.WaitEmpty(ctx)}
	if !result.Drained {
		result.Forced = s.table.ResetAll()
		_ = s.srv.Close()
	}
	s.table.Settle()
	return result
}
