package conntrack

import "kth-sample-server/internal/promtext"

// Series names the per-connection families of one server: kth_http_connection_requests or
// kth_grpc_connection_rpcs, and so on (harness/workloads/connection-metrics.ts).
type Series struct {
	Prefix    string // kth_http, kth_grpc
	Unit      string // requests, rpcs
	Noun      string // Workload requests, RPCs
	ReadyHelp string
}

// WriteSeries adds the per-connection gauge (open connections only, so series stay bounded), the
// per-connection histogram (observed at close) and the ready gauge.
func (t *Table) WriteSeries(w *promtext.Writer, s Series, ready bool) {
	name := s.Prefix + "_connection_" + s.Unit
	w.Family(name, "gauge", s.Noun+" served so far on each open connection.")
	for _, c := range t.Open() {
		w.Sample(name, float64(c.Workload()), "connection_id", c.ID)
	}
	t.closed.Write(w, s.Prefix+"_"+s.Unit+"_per_connection", s.Noun+" a connection carried, observed when it closed.")
	w.Family(s.Prefix+"_ready", "gauge", s.ReadyHelp)
	readyValue := 0.0
	if ready {
		readyValue = 1
	}
	w.Sample(s.Prefix+"_ready", readyValue)
}

// DrainResult is how a shutdown ended.
type DrainResult struct {
	// Drained: every connection closed on its own before the drain timeout.
	Drained bool
	// Forced: connections still open when the server gave up waiting (all of them without drain).
	Forced int
}
