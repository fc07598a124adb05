package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"kth-sample-server/internal/conntrack"
	"kth-sample-server/internal/final"
	"kth-sample-server/internal/grpcserver"
	"kth-sample-server/internal/httpserver"
	"kth-sample-server/internal/identity"
	"kth-sample-server/internal/problem"
	"kth-sample-server/internal/settings"
)

func serveHTTP(args []string) error {
	var cfg httpserver.Config
	table := httpserver.Settings(&cfg)
	if err := parse("http", "HTTP/1.1 and h2c (prior knowledge) on one port, with /healthz /readyz /metrics", table, args); err != nil {
		return err
	}
	signals := notify()
	server, err := httpserver.Start(cfg)
	if err != nil {
		return err
	}
	// The first stdout line is machine-readable: callers using --port 0 learn the chosen port.
	fmt.Printf("kth serve http listening on %s\n", identity.FormatPeer(cfg.Host, server.Port))
	return serveUntilSignal("http", signals, server.Shutdown, func() { final.Write(cfg.TerminationLog, server.Final()) })
}

func serveGRPC(args []string) error {
	var cfg grpcserver.Config
	table := grpcserver.Settings(&cfg)
	if err := parse("grpc", "kth.v1.Echo, grpc.health.v1 and reflection; metrics on an HTTP side port", table, args); err != nil {
		return err
	}
	signals := notify()
	server, err := grpcserver.Start(cfg)
	if err != nil {
		return err
	}
	fmt.Printf("kth serve grpc listening on %s metrics on %s\n",
		identity.FormatPeer(cfg.Host, server.Port), identity.FormatPeer(cfg.Host, server.MetricsPort))
	return serveUntilSignal("grpc", signals, server.Shutdown, func() { final.Write(cfg.TerminationLog, server.Final()) })
}

func parse(command, description string, table []settings.Setting, args []string) error {
	err := settings.Parse(command, table, args, os.LookupEnv)
	if err == settings.ErrHelp {
		fmt.Print(settings.Usage(command, description, table))
	}
	return err
}

func notify() chan os.Signal {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	return signals
}

// serveUntilSignal waits for SIGTERM or SIGINT, shuts down as configured, leaves the final
// counters, and exits 0 (130 after SIGINT); a second signal exits at once. Stderr says what
// happened, in the Node CLI's words.
func serveUntilSignal(mode string, signals chan os.Signal, shutdown func() conntrack.DrainResult, leaveCounters func()) error {
	sig := <-signals
	name, code := "SIGTERM", problem.ExitOK
	if sig == syscall.SIGINT {
		name, code = "SIGINT", problem.ExitInterrupted
	}
	go func() {
		<-signals
		os.Exit(code)
	}()
	fmt.Fprintf(os.Stderr, "kth serve %s: %s, shutting down\n", mode, name)
	result := shutdown()
	outcome := "drained"
	if !result.Drained {
		outcome = fmt.Sprintf("closed %d connection(s) without draining", result.Forced)
	}
	fmt.Fprintf(os.Stderr, "kth serve %s: %s, exiting\n", mode, outcome)
	leaveCounters()
	return exitCode(code)
}
