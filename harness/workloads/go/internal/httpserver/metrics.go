package httpserver

import (
	"strconv"
	"sync"
	"sync/atomic"

	"kth-sample-server/internal/conntrack"
	"kth-sample-server/internal/final"
	"kth-sample-server/internal/promtext"
)

// counters are the HTTP server's own counts, for cross-checking what clients saw. /metrics reads
// them at scrape time, so the text never disagrees with them (harness/workloads/http/metrics.ts).
type counters struct {
	requests       atomic.Uint64
	errorsInjected atomic.Uint64
	control        atomic.Uint64
	inFlight       atomic.Int64
	h1, h2         atomic.Uint64

	mu        sync.Mutex
	responses []codeCount // in first-seen order, as prom-client lists them
}

type codeCount struct {
	code int
	n    uint64
}

func (c *counters) responded(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.responses {
		if c.responses[i].code == code {
			c.responses[i].n++
			return
		}
	}
	c.responses = append(c.responses, codeCount{code, 1})
}

func (c *counters) adopted(p conntrack.Protocol) {
	if p == conntrack.H2 {
		c.h2.Add(1)
	} else {
		c.h1.Add(1)
	}
}

var series = conntrack.Series{Prefix: "kth_http", Unit: "requests", Noun: "Workload requests", ReadyHelp: "1 when /readyz answers 200."}

// metricsText is the /metrics body: the same families, types, labels and help as the Node server.
func (c *counters) metricsText(table *conntrack.Table, ready bool) string {
	var w promtext.Writer
	w.Family("kth_http_requests_total", "counter", "Workload requests received (control paths excluded).")
	w.Sample("kth_http_requests_total", float64(c.requests.Load()))
	w.Family("kth_http_responses_total", "counter", "Workload responses completed, by status code.")
	c.mu.Lock()
	for _, r := range c.responses {
		w.Sample("kth_http_responses_total", float64(r.n), "code", strconv.Itoa(r.code))
	}
	c.mu.Unlock()
	w.Family("kth_http_errors_injected_total", "counter", "Responses turned into 500 by the configured error rate.")
	w.Sample("kth_http_errors_injected_total", float64(c.errorsInjected.Load()))
	w.Family("kth_http_control_requests_total", "counter", "Requests to /healthz, /readyz, /metrics and /admin/readiness.")
	w.Sample("kth_http_control_requests_total", float64(c.control.Load()))
	w.Family("kth_http_requests_in_flight", "gauge", "Workload requests being served now.")
	w.Sample("kth_http_requests_in_flight", float64(c.inFlight.Load()))

	total := table.Total()
	h1, h2 := c.h1.Load(), c.h2.Load()
	w.Family("kth_http_connections_total", "counter", "TCP connections accepted, by protocol spoken on them (pending = no request yet).")
	w.Sample("kth_http_connections_total", float64(h1), "protocol", "http/1.1")
	w.Sample("kth_http_connections_total", float64(h2), "protocol", "h2")
	w.Sample("kth_http_connections_total", float64(total-min(total, h1+h2)), "protocol", "pending")
	w.Family("kth_http_connections_active", "gauge", "TCP connections open now.")
	w.Sample("kth_http_connections_active", float64(table.Active()))
	table.WriteSeries(&w, series, ready)
	return w.String()
}

// Final is what the server leaves in its termination message on exit.
func (s *Server) Final() final.Counters {
	return final.Counters{Pod: s.cfg.Pod.Pod, Requests: s.counters.requests.Load(), Connections: s.table.Total()}
}
