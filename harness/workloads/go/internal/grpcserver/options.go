package grpcserver

import (
	"math"
	"time"

	"google.golang.org/grpc/keepalive"

	"kth-sample-server/internal/identity"
	"kth-sample-server/internal/settings"
)

// Config is the validated settings of the gRPC server (harness/workloads/grpc/options.ts).
type Config struct {
	Host                  string
	Port                  int
	MetricsPort           int
	Pod                   identity.Pod
	MaxConnectionAge      time.Duration
	MaxConnectionAgeGrace time.Duration
	KeepaliveTime         time.Duration
	KeepaliveTimeout      time.Duration
	ShutdownDelay         time.Duration
	DrainTimeout          time.Duration
	Drain                 bool
	TerminationLog        string
}

var (
	HostSpec        = settings.Spec{Label: "host", Flag: "--host", Env: "KTH_HOST", Value: "<address>", Description: "address to listen on (0.0.0.0 = all IPv4)"}
	PortSpec        = settings.Spec{Label: "port", Flag: "--port", Env: "KTH_PORT", Value: "<port>", Description: "gRPC port; 0 picks a free one (printed at startup)"}
	MetricsPortSpec = settings.Spec{Label: "metrics port", Flag: "--metrics-port", Env: "KTH_METRICS_PORT", Value: "<port>", Description: "HTTP side port for /metrics, /healthz, /readyz; 0 picks a free one (printed at startup)"}
)

// Settings is every gRPC server setting bound to c, in the order `kth serve grpc --help` lists them.
func Settings(c *Config) []settings.Setting {
	return []settings.Setting{
		settings.Text(HostSpec, &c.Host, func() string { return "0.0.0.0" }, false),
		settings.Port(PortSpec, &c.Port, 9090),
		settings.Port(MetricsPortSpec, &c.MetricsPort, 9091),
		settings.Text(settings.Spec{Label: "pod name", Flag: "--pod-name", Env: "POD_NAME", Value: "<name>", Description: "pod name reported in replies; the host name when unset"}, &c.Pod.Pod, identity.Hostname, false),
		settings.Text(settings.Spec{Label: "node name", Flag: "--node-name", Env: "NODE_NAME", Value: "<name>", Description: "node name reported in replies"}, &c.Pod.Node, empty, true),
		settings.Text(settings.Spec{Label: "pod IP", Flag: "--pod-ip", Env: "POD_IP", Value: "<ip>", Description: "pod IP reported in replies"}, &c.Pod.PodIP, empty, true),
		settings.Text(settings.Spec{Label: "pod namespace", Flag: "--pod-namespace", Env: "POD_NAMESPACE", Value: "<namespace>", Description: "namespace reported in replies"}, &c.Pod.Namespace, empty, true),
		settings.Duration(settings.Spec{Label: "max connection age", Flag: "--max-connection-age", Env: "KTH_MAX_CONNECTION_AGE", Value: "<duration>",
			Description: "send GOAWAY to a connection this old (±10% jitter, keepalive.ServerParameters.MaxConnectionAge); 0 = never"}, &c.MaxConnectionAge, 0),
		settings.Duration(settings.Spec{Label: "max connection age grace", Flag: "--max-connection-age-grace", Env: "KTH_MAX_CONNECTION_AGE_GRACE", Value: "<duration>",
			Description: "after that GOAWAY, close the connection this much later even with RPCs running (MaxConnectionAgeGrace); 0 = wait for them"}, &c.MaxConnectionAgeGrace, 0),
		// grpc-go raises a keepalive time below 1 s to 1 s: refused here (and by the Node server) instead.
		settings.DurationOffOrAtLeast(settings.Spec{Label: "keepalive time", Flag: "--keepalive-time", Env: "KTH_KEEPALIVE_TIME", Value: "<duration>",
			Description: "ping each connection this often (keepalive.ServerParameters.Time), at least 1s; 0 = no pings"}, &c.KeepaliveTime, 0, time.Second,
			"0 (no pings) or ≥ 1s (grpc-go's floor: it never pings more often)"),
		settings.Duration(settings.Spec{Label: "keepalive timeout", Flag: "--keepalive-timeout", Env: "KTH_KEEPALIVE_TIMEOUT", Value: "<duration>",
			Description: "close a connection whose ping is unanswered this long (keepalive.ServerParameters.Timeout)"}, &c.KeepaliveTimeout, 20*time.Second),
		settings.Duration(settings.Spec{Label: "shutdown delay", Flag: "--shutdown-delay", Env: "KTH_SHUTDOWN_DELAY", Value: "<duration>",
			Description: "on SIGTERM, report NOT_SERVING and keep serving this long before draining"}, &c.ShutdownDelay, 0),
		settings.Duration(settings.Spec{Label: "drain timeout", Flag: "--drain-timeout", Env: "KTH_DRAIN_TIMEOUT", Value: "<duration>",
			Description: "GracefulStop deadline; then Stop cancels what is left"}, &c.DrainTimeout, 30*time.Second),
		settings.Bool(settings.Spec{Label: "drain", Flag: "--no-drain", Env: "KTH_DRAIN",
			Description: "on SIGTERM exit at once, cancelling running RPCs (to show the damage)"}, &c.Drain, true),
		settings.Text(settings.TerminationLogSpec, &c.TerminationLog, empty, true),
	}
}

func empty() string { return "" }

// infinity is how grpc-go spells "off" for its keepalive durations.
const infinity = time.Duration(math.MaxInt64)

// keepaliveParams maps the settings onto grpc-go's own. 0 means off in our settings; grpc-go reads
// 0 as off for the max age and grace, but as "2 hours" for the ping interval, so that one is spelt out.
func (c *Config) keepaliveParams() keepalive.ServerParameters {
	kp := keepalive.ServerParameters{
		MaxConnectionAge:      c.MaxConnectionAge,
		MaxConnectionAgeGrace: c.MaxConnectionAgeGrace,
		Time:                  c.KeepaliveTime,
		Timeout:               c.KeepaliveTimeout,
	}
	if kp.Time == 0 {
		kp.Time = infinity
	}
	return kp
}
