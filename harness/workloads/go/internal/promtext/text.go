// Package promtext writes Prometheus text exposition (format 0.0.4) laid out exactly as prom-client
// lays it out for the Node servers: families separated by a blank line, every family listed even
// without samples, and counts written as plain integers (never 1e+06).
package promtext

import (
	"math"
	"strconv"
	"strings"
	"sync"
)

// ContentType is what prom-client's registry answers with.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Writer builds one scrape.
type Writer struct {
	b        strings.Builder
	families int
}

// Family starts a metric family; typ is counter, gauge or histogram.
func (w *Writer) Family(name, typ, help string) {
	if w.families > 0 {
		w.b.WriteString("\n\n")
	}
	w.families++
	w.b.WriteString("# HELP " + name + " " + escape(help) + "\n# TYPE " + name + " " + typ)
}

// Sample adds one value; labels are name, value pairs.
func (w *Writer) Sample(name string, value float64, labels ...string) {
	w.b.WriteString("\n" + name)
	if len(labels) > 0 {
		w.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				w.b.WriteByte(',')
			}
			w.b.WriteString(labels[i] + `="` + strings.ReplaceAll(escape(labels[i+1]), `"`, `\"`) + `"`)
		}
		w.b.WriteByte('}')
	}
	w.b.WriteString(" " + FormatValue(value))
}

// String is the finished exposition.
func (w *Writer) String() string {
	return w.b.String() + "\n"
}

// FormatValue writes a number as JavaScript does: integers without exponent below 1e21.
func FormatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	case math.Abs(v) < 1e21:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
}

func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "\n", `\n`)
}

// Histogram counts observations into fixed buckets.
type Histogram struct {
	bounds []float64
	mu     sync.Mutex
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

// NewHistogram makes a histogram with the given upper bounds (ascending).
func NewHistogram(bounds ...float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.count++
	h.mu.Unlock()
}

// Write adds the histogram family: cumulative buckets, then _sum and _count.
func (h *Histogram) Write(w *Writer, name, help string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w.Family(name, "histogram", help)
	var cumulative uint64
	for i, n := range h.counts {
		cumulative += n
		le := "+Inf"
		if i < len(h.bounds) {
			le = FormatValue(h.bounds[i])
		}
		w.Sample(name+"_bucket", float64(cumulative), "le", le)
	}
	w.Sample(name+"_sum", h.sum)
	w.Sample(name+"_count", float64(h.count))
}
