package grpcserver

import (
	"sync"
	"sync/atomic"

	"kth-sample-server/internal/conntrack"
	"kth-sample-server/internal/final"
	"kth-sample-server/internal/promtext"
)

// counters are the gRPC server's own counts, read at scrape time (harness/workloads/grpc/metrics.ts).
type counters struct {
	replies  atomic.Uint64
	inFlight atomic.Int64

	mu      sync.Mutex
	rpcs    []methodCount // in first-seen order, as prom-client lists them
	goaways map[string]uint64
}

type methodCount struct {
	method string
	n      uint64
}

func newCounters() *counters {
	return &counters{goaways: map[string]uint64{reasonMaxAge: 0, reasonShutdown: 0, reasonOther: 0}}
}

func (c *counters) started(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.rpcs {
		if c.rpcs[i].method == method {
			c.rpcs[i].n++
			return
		}
	}
	c.rpcs = append(c.rpcs, methodCount{method, 1})
}

func (c *counters) goaway(reason string) {
	c.mu.Lock()
	c.goaways[reason]++
	c.mu.Unlock()
}

var series = conntrack.Series{Prefix: "kth_grpc", Unit: "rpcs", Noun: "RPCs", ReadyHelp: "1 while the health service reports SERVING."}

// metricsText is the side port's /metrics body: the Node server's families, types and labels.
func (c *counters) metricsText(table *conntrack.Table, ready bool) string {
	var w promtext.Writer
	c.mu.Lock()
	w.Family("kth_grpc_rpcs_total", "counter", "RPCs started, by method.")
	for _, r := range c.rpcs {
		w.Sample("kth_grpc_rpcs_total", float64(r.n), "method", r.method)
	}
	goaways := []uint64{c.goaways[reasonMaxAge], c.goaways[reasonShutdown], c.goaways[reasonOther]}
	c.mu.Unlock()
	w.Family("kth_grpc_replies_total", "counter", "Reply messages sent (each message of a stream counts).")
	w.Sample("kth_grpc_replies_total", float64(c.replies.Load()))
	w.Family("kth_grpc_rpcs_in_flight", "gauge", "RPCs running now.")
	w.Sample("kth_grpc_rpcs_in_flight", float64(c.inFlight.Load()))
	w.Family("kth_grpc_connections_total", "counter", "TCP connections accepted.")
	w.Sample("kth_grpc_connections_total", float64(table.Total()))
	w.Family("kth_grpc_connections_active", "gauge", "TCP connections open now.")
	w.Sample("kth_grpc_connections_active", float64(table.Active()))
	w.Family("kth_grpc_goaways_sent_total", "counter", "Connections the server sent GOAWAY to, by reason (once per connection, at its first server-initiated GOAWAY).")
	for i, reason := range []string{reasonMaxAge, reasonShutdown, reasonOther} {
		w.Sample("kth_grpc_goaways_sent_total", float64(goaways[i]), "reason", reason)
	}
	table.WriteSeries(&w, series, ready)
	return w.String()
}

// Final is what the server leaves in its termination message on exit.
func (s *Server) Final() final.Counters {
	s.counters.mu.Lock()
	goaways := map[string]uint64{}
	for reason, n := range s.counters.goaways {
		goaways[reason] = n
	}
	s.counters.mu.Unlock()
	return final.Counters{Pod: s.cfg.Pod.Pod, Requests: s.counters.replies.Load(), Connections: s.table.Total(), Goaways: goaways}
}
