// Package grpcserver is the sample gRPC server: kth.v1.Echo, grpc.health.v1 and reflection on
// grpc-go, with its own keepalive and max-age handling, plus an HTTP side port for metrics and
// probes (harness/workloads/grpc).
package grpcserver

import (
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"kth-sample-server/internal/bind"
	"kth-sample-server/internal/conntrack"
	"kth-sample-server/internal/control"
	"kth-sample-server/internal/echopb"
)

const echoService = "kth.v1.Echo"

// Server is a running sample gRPC server.
type Server struct {
	cfg            Config
	table          *conntrack.Table
	counters       *counters
	readiness      *control.Readiness
	grpc           *grpc.Server
	ln             *conntrack.Listener
	side           *control.SideServer
	shutdownOnce   sync.Once
	shutdownResult conntrack.DrainResult
	// Port and MetricsPort are the bound ports (the chosen ones for 0).
	Port, MetricsPort int
}

// Start binds the gRPC port, then the metrics port, and serves until Shutdown.
func Start(cfg Config) (*Server, error) {
	tcp, err := bind.Listen(cfg.Host, cfg.Port, HostSpec, PortSpec)
	if err != nil {
		return nil, err
	}
	sideTCP, err := bind.Listen(cfg.Host, cfg.MetricsPort, HostSpec, MetricsPortSpec)
	if err != nil {
		_ = tcp.Close()
		return nil, err
	}
	s := &Server{
		cfg:         cfg,
		table:       conntrack.NewTable(cfg.Pod.Pod),
		counters:    newCounters(),
		readiness:   control.NewReadiness(),
		Port:        bind.Port(tcp),
		MetricsPort: bind.Port(sideTCP),
	}
	s.ln = conntrack.NewListener(tcp, s.table, s.wrap)
	s.grpc = grpc.NewServer(grpc.KeepaliveParams(cfg.keepaliveParams()))
	echopb.RegisterEchoServer(s.grpc, &echo{pod: cfg.Pod, table: s.table, counters: s.counters})
	healthServer := health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, healthServer)
	// Reflection describes Echo and Health, so grpcurl can call either without the .proto files.
	reflection.Register(s.grpc)
	s.readiness.OnChange = func(ready bool) {
		status := healthpb.HealthCheckResponse_NOT_SERVING
		if ready {
			status = healthpb.HealthCheckResponse_SERVING
		}
		healthServer.SetServingStatus("", status)
		healthServer.SetServingStatus(echoService, status)
	}
	s.readiness.OnChange(true)
	s.side = control.ServeSide(sideTCP, control.Context{Readiness: s.readiness, Metrics: func() string {
		return s.counters.metricsText(s.table, s.readiness.Ready())
	}})
	go func() { _ = s.grpc.Serve(s.ln) }()
	return s, nil
}

func (s *Server) wrap(c *conntrack.Conn) net.Conn {
	c.SetProtocol(conntrack.GRPC)
	if s.cfg.KeepaliveTime > 0 {
		// grpc-go sets TCP_USER_TIMEOUT itself when keepalive pings are on, but only on a bare
		// *net.TCPConn; this wrapper hides it, so the option is set here to keep grpc-go's behaviour.
		timeout := s.cfg.KeepaliveTimeout
		if timeout == 0 {
			timeout = 20 * time.Second // grpc-go's default
		}
		setTCPUserTimeout(c.TCP(), timeout)
	}
	return &goawayConn{Conn: c, onGoaway: func(debug string) {
		s.counters.goaway(goawayReason(debug, s.readiness.ShuttingDown()))
	}}
}

// Shutdown runs the shutdown once; later calls wait for it and get the same result.
func (s *Server) Shutdown() conntrack.DrainResult {
	s.shutdownOnce.Do(func() { s.shutdownResult = s.shutdown() })
	return s.shutdownResult
}

// shutdown is what SIGTERM does: NOT_SERVING → shutdown delay (still serving) → GracefulStop
// with the drain timeout as deadline → Stop, resetting what is left. Without drain: Stop at once.
func (s *Server) shutdown() conntrack.DrainResult {
	s.readiness.ShutDown()
	defer s.side.Close()
	if !s.cfg.Drain {
		_ = s.ln.Close()
		result := conntrack.DrainResult{Forced: s.table.ResetAll()}
		s.grpc.Stop()
		s.table.Settle()
		return result
	}
	if s.cfg.ShutdownDelay > 0 {
		time.Sleep(s.cfg.ShutdownDelay)
	}
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(s.cfg.DrainTimeout)
	defer timer.Stop()
	var result conntrack.DrainResult
	select {
	case <-stopped:
		result.Drained = true
	case <-timer.C:
		// A reset, not a FIN: clients learn at once that their running calls are lost.
		result.Forced = s.table.ResetAll()
		s.grpc.Stop()
	}
	s.table.Settle()
	return result
}
