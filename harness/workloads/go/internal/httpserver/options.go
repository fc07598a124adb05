package httpserver

import (
	"time"

	"kth-sample-server/internal/identity"
	"kth-sample-server/internal/settings"
)

// Config is the validated settings of the HTTP server (harness/workloads/http/options.ts).
type Config struct {
	Host                     string
	Port                     int
	Pod                      identity.Pod
	KeepAliveTimeout         time.Duration
	MaxRequestsPerConnection int64
	MaxConnectionAge         time.Duration
	ResponseDelay            time.Duration
	ResponseBytes            int64
	ErrorRate                float64
	H2C                      bool
	ShutdownDelay            time.Duration
	DrainTimeout             time.Duration
	Drain                    bool
	TerminationLog           string
}

// MaxPayloadBytes is the largest ?payload_bytes= / --response-bytes.
const MaxPayloadBytes = 64 * 1024 * 1024

// Spec for the host and port settings, named in bind errors.
var (
	HostSpec = settings.Spec{Label: "host", Flag: "--host", Env: "KTH_HOST", Value: "<address>", Description: "address to listen on (0.0.0.0 = all IPv4)"}
	PortSpec = settings.Spec{Label: "port", Flag: "--port", Env: "KTH_PORT", Value: "<port>", Description: "port to listen on; 0 picks a free one (printed at startup)"}
)

// Settings is every HTTP server setting bound to c, in the order `kth serve http --help` lists them.
func Settings(c *Config) []settings.Setting {
	return []settings.Setting{
		settings.Text(HostSpec, &c.Host, func() string { return "0.0.0.0" }, false),
		settings.Port(PortSpec, &c.Port, 8080),
		settings.Text(settings.Spec{Label: "pod name", Flag: "--pod-name", Env: "POD_NAME", Value: "<name>", Description: "pod name reported in responses; the host name when unset"}, &c.Pod.Pod, identity.Hostname, false),
		settings.Text(settings.Spec{Label: "node name", Flag: "--node-name", Env: "NODE_NAME", Value: "<name>", Description: "node name reported in responses"}, &c.Pod.Node, empty, true),
		settings.Text(settings.Spec{Label: "pod IP", Flag: "--pod-ip", Env: "POD_IP", Value: "<ip>", Description: "pod IP reported in responses"}, &c.Pod.PodIP, empty, true),
		settings.Text(settings.Spec{Label: "pod namespace", Flag: "--pod-namespace", Env: "POD_NAMESPACE", Value: "<namespace>", Description: "namespace reported in responses"}, &c.Pod.Namespace, empty, true),
		settings.Duration(settings.Spec{Label: "keep-alive timeout", Flag: "--keepalive-timeout", Env: "KTH_KEEPALIVE_TIMEOUT", Value: "<duration>",
			Description: "close a connection idle this long after a response (HTTP/1.1), or GOAWAY an idle h2 connection; 0 = never"}, &c.KeepAliveTimeout, 5*time.Second),
		settings.Integer(settings.Spec{Label: "max requests per connection", Flag: "--max-requests-per-connection", Env: "KTH_MAX_REQUESTS_PER_CONNECTION", Value: "<count>",
			Description: "the Nth request on a connection is answered with Connection: close (h2: GOAWAY); 0 = unlimited"}, &c.MaxRequestsPerConnection, 0, 0, settings.Unbounded),
		settings.Duration(settings.Spec{Label: "max connection age", Flag: "--max-connection-age", Env: "KTH_MAX_CONNECTION_AGE", Value: "<duration>",
			Description: "a request on a connection older than this is answered with Connection: close (h2: GOAWAY); 0 = unlimited"}, &c.MaxConnectionAge, 0),
		settings.Duration(settings.Spec{Label: "response delay", Flag: "--response-delay", Env: "KTH_RESPONSE_DELAY", Value: "<duration>",
			Description: "wait this long before answering (?delay_ms=N overrides it per request)"}, &c.ResponseDelay, 0),
		settings.Integer(settings.Spec{Label: "response size", Flag: "--response-bytes", Env: "KTH_RESPONSE_BYTES", Value: "<bytes>",
			Description: "payload bytes added to each response body (?payload_bytes=N overrides it per request)"}, &c.ResponseBytes, 0, 0, MaxPayloadBytes),
		settings.Ratio(settings.Spec{Label: "error rate", Flag: "--error-rate", Env: "KTH_ERROR_RATE", Value: "<fraction>",
			Description: "fraction of workload requests answered with 500 (identity still attached)"}, &c.ErrorRate, 0),
		settings.Bool(settings.Spec{Label: "h2c", Flag: "--no-h2c", Env: "KTH_H2C",
			Description: "refuse HTTP/2 cleartext (prior knowledge) on the port; HTTP/1.1 only"}, &c.H2C, true),
		settings.Duration(settings.Spec{Label: "shutdown delay", Flag: "--shutdown-delay", Env: "KTH_SHUTDOWN_DELAY", Value: "<duration>",
			Description: "on SIGTERM, report not-ready and keep serving this long before draining"}, &c.ShutdownDelay, 0),
		settings.Duration(settings.Spec{Label: "drain timeout", Flag: "--drain-timeout", Env: "KTH_DRAIN_TIMEOUT", Value: "<duration>",
			Description: "longest wait for in-flight requests while draining; then remaining connections are closed"}, &c.DrainTimeout, 30*time.Second),
		settings.Bool(settings.Spec{Label: "drain", Flag: "--no-drain", Env: "KTH_DRAIN",
			Description: "on SIGTERM exit at once, dropping in-flight requests (to show the damage)"}, &c.Drain, true),
		settings.Text(settings.TerminationLogSpec, &c.TerminationLog, empty, true),
	}
}

func empty() string { return "" }
