package httpserver

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kth-sample-server/internal/conntrack"
	"kth-sample-server/internal/control"
	"kth-sample-server/internal/identity"
)

// Why the server asks the client to stop using a connection after this response; sent in the
// x-kth-closing header (harness/workloads/http/respond.ts).
const (
	closingHeader      = "x-kth-closing"
	closingMaxRequests = "max-requests"
	closingMaxAge      = "max-age"
	closingDraining    = "draining"
)

// whoBody is the JSON body of a workload response, keys in the Node server's order. payload and
// error follow it, written by writeWho.
type whoBody struct {
	Pod          string `json:"pod"`
	Node         string `json:"node"`
	PodIP        string `json:"podIp"`
	Namespace    string `json:"namespace"`
	PeerAddress  string `json:"peerAddress"`
	PeerPort     int    `json:"peerPort"`
	ConnectionID string `json:"connectionId"`
	Sequence     uint64 `json:"sequence"`
	Protocol     string `json:"protocol"`
	Method       string `json:"method"`
	Path         string `json:"path"`
	Status       int    `json:"status"`
}

// setIdentity puts who served the response in its headers. The names are set lower-case, as the
// Node server sends them (net/http would canonicalize them to X-Kth-Pod otherwise).
func setIdentity(h http.Header, pod identity.Pod, c *conntrack.Conn, sequence uint64) {
	h[identity.HeaderPod] = []string{pod.Pod}
	h[identity.HeaderNode] = []string{pod.Node}
	h[identity.HeaderPodIP] = []string{pod.PodIP}
	h[identity.HeaderNamespace] = []string{pod.Namespace}
	h[identity.HeaderPeer] = []string{c.PeerText()}
	h[identity.HeaderConnectionID] = []string{c.ID}
	h[identity.HeaderSequence] = []string{strconv.FormatUint(sequence, 10)}
}

// closeReason says whether this response should end the connection: the server draining, max
// requests reached (counting every request on it), or the connection older than the max age.
func closeReason(c *conntrack.Conn, sequence uint64, cfg *Config) string {
	switch {
	case c.Closing():
		return closingDraining
	case cfg.MaxRequestsPerConnection > 0 && sequence >= uint64(cfg.MaxRequestsPerConnection):
		return closingMaxRequests
	case cfg.MaxConnectionAge > 0 && c.Age() >= cfg.MaxConnectionAge:
		return closingMaxAge
	}
	return ""
}

type knobs struct {
	delay        time.Duration
	payloadBytes int64
}

var wholeNumber = regexp.MustCompile(`^\d+$`)

// requestKnobs reads the per-request overrides ?delay_ms=N&payload_bytes=N (the gRPC WhoRequest
// names); the text is the 400 error for a bad value.
func requestKnobs(r *http.Request, cfg *Config) (knobs, string) {
	k := knobs{delay: cfg.ResponseDelay, payloadBytes: cfg.ResponseBytes}
	query := r.URL.Query()
	for _, knob := range []struct {
		name string
		max  uint64
		set  func(uint64)
	}{
		{"delay_ms", 3_600_000, func(n uint64) { k.delay = time.Duration(n) * time.Millisecond }},
		{"payload_bytes", MaxPayloadBytes, func(n uint64) { k.payloadBytes = int64(n) }},
	} {
		values, ok := query[knob.name]
		if !ok {
			continue
		}
		raw := values[0]
		n, err := strconv.ParseUint(raw, 10, 64)
		if !wholeNumber.MatchString(raw) || err != nil || n > knob.max {
			return k, knob.name + "=" + raw + ": use a whole number from 0 to " + strconv.FormatUint(knob.max, 10)
		}
		knob.set(n)
	}
	return k, ""
}

// xs is a run of payload bytes written repeatedly, so a 64 MiB payload never sits in memory.
var xs = []byte(strings.Repeat("x", 16*1024))

// writeWho sends the workload JSON body: body's fields, then "payload" ("x" × payloadBytes) and
// "error":"injected" when present, streamed with an exact Content-Length.
func writeWho(w http.ResponseWriter, body *whoBody, payloadBytes int64, injected bool) {
	line := control.MarshalLine(body)
	head := line[:len(line)-2] // without "}\n"
	const payloadOpen, payloadClose, errorField = `,"payload":"`, `"`, `,"error":"injected"`
	length := int64(len(head)) + 2
	if payloadBytes > 0 {
		length += int64(len(payloadOpen)+len(payloadClose)) + payloadBytes
	}
	if injected {
		length += int64(len(errorField))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	w.WriteHeader(body.Status)
	if _, err := w.Write([]byte(head)); err != nil {
		return
	}
	if payloadBytes > 0 {
		_, _ = w.Write([]byte(payloadOpen))
		for left := payloadBytes; left > 0; {
			n := min(left, int64(len(xs)))
			if _, err := w.Write(xs[:n]); err != nil {
				return
			}
			left -= n
		}
		_, _ = w.Write([]byte(payloadClose))
	}
	if injected {
		_, _ = w.Write([]byte(errorField))
	}
	_, _ = w.Write([]byte("}\n"))
}
