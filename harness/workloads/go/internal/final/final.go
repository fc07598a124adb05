// Package final writes what a sample server leaves behind when it exits: its own counts, as
// /metrics gave them last, in the container's termination message file
// (harness/workloads/final-counters.ts has the same shape and the reasons).
package final

import (
	"encoding/json"
	"fmt"
	"os"
)

// Counters is the termination message. Goaways is nil (JSON null) for HTTP.
type Counters struct {
	Kth         string            `json:"kth"`
	Pod         string            `json:"pod"`
	Requests    uint64            `json:"requests"`
	Connections uint64            `json:"connections"`
	Goaways     map[string]uint64 `json:"goaways"`
}

// Write leaves the counters in path ("" = no termination log); a failure is said on stderr and
// never changes how the server exits.
func Write(path string, c Counters) {
	if path == "" {
		return
	}
	c.Kth = "final-counters"
	data, err := json.Marshal(c)
	if err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not write the final counters to %s: %v\n", path, err)
	}
}
