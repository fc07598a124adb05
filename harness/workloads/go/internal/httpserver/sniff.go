package httpserver

import (
	"sync/atomic"

	"kth-sample-server/internal/conntrack"
)

// h2Preface is what a prior-knowledge h2c client sends first (RFC 9113 §3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// sniffConn watches the first bytes net/http reads from a connection to learn, as the Node server
// does when it picks a parser, whether the client speaks HTTP/1.1 or prior-knowledge h2c. net/http
// makes the same decision itself; this only records it for kth_http_connections_total{protocol}.
type sniffConn struct {
	*conntrack.Conn
	matched  int // preface bytes seen so far
	decided  atomic.Bool
	onDecide func(conntrack.Protocol)
}

func (c *sniffConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.decided.Load() {
		if protocol, done := c.observe(p[:n]); done {
			c.decided.Store(true)
			c.SetProtocol(protocol)
			c.onDecide(protocol)
		}
	}
	return n, err
}

// observe compares the next bytes with the preface: the first mismatch means HTTP/1.1, a full
// match means h2.
func (c *sniffConn) observe(p []byte) (conntrack.Protocol, bool) {
	for _, b := range p {
		if b != h2Preface[c.matched] {
			return conntrack.HTTP1, true
		}
		c.matched++
		if c.matched == len(h2Preface) {
			return conntrack.H2, true
		}
	}
	return conntrack.Pending, false
}
