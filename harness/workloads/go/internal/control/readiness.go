// Package control is the part of a server that is about the server rather than the workload:
// readiness, probes, metrics and the readiness toggle (harness/workloads/control.ts).
package control

import "sync/atomic"

// Readiness is whether the server wants traffic: wanted (the toggle) and not shutting down.
type Readiness struct {
	wanted       atomic.Bool
	shuttingDown atomic.Bool
	// OnChange runs after every change (the gRPC server publishes health status from it).
	OnChange func(ready bool)
}

// NewReadiness starts ready.
func NewReadiness() *Readiness {
	r := &Readiness{}
	r.wanted.Store(true)
	return r
}

func (r *Readiness) Ready() bool { return r.wanted.Load() && !r.shuttingDown.Load() }

// Set is the readiness toggle.
func (r *Readiness) Set(ready bool) {
	r.wanted.Store(ready)
	r.changed()
}

// ShutDown reports not-ready for good.
func (r *Readiness) ShutDown() {
	r.shuttingDown.Store(true)
	r.changed()
}

func (r *Readiness) ShuttingDown() bool { return r.shuttingDown.Load() }

func (r *Readiness) changed() {
	if r.OnChange != nil {
		r.OnChange(r.Ready())
	}
}
