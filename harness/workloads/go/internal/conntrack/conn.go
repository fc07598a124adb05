// Package conntrack owns the accept loop: every accepted TCP connection gets its id `<pod>/<n>`
// here, once, which is what makes the connection id in every answer truthful
// (harness/workloads/connections.ts).
package conntrack

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"kth-sample-server/internal/identity"
)

// Protocol is what a connection turned out to speak.
type Protocol int32

const (
	Pending Protocol = iota
	HTTP1
	H2
	GRPC
)

// Conn is one accepted TCP connection. It is the net.Conn the HTTP and gRPC servers use, so its
// Close is the moment the connection leaves the table.
type Conn struct {
	net.Conn
	tcp *net.TCPConn
	// ID is `<pod>/<n>`, n counting accepted connections in this process from 1.
	ID string
	// Peer is the remote address, IPv4-mapped IPv6 made plain IPv4.
	Peer netip.AddrPort
	// Key is RemoteAddr().String(), the form grpc-go's peer.Addr takes (unique among live connections).
	Key    string
	Opened time.Time

	n         uint64
	table     *Table
	protocol  atomic.Int32
	sequence  atomic.Uint64
	workload  atomic.Uint64
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// NextSequence is the 1-based sequence of the next request (or call) on this connection.
func (c *Conn) NextSequence() uint64 { return c.sequence.Add(1) }

// Sequence is how many requests the connection has seen (every request, probes too).
func (c *Conn) Sequence() uint64 { return c.sequence.Load() }

// CountWorkload counts one workload request (or RPC) against this connection.
func (c *Conn) CountWorkload() { c.workload.Add(1) }

// Workload is the workload requests served so far; control requests excluded.
func (c *Conn) Workload() uint64 { return c.workload.Load() }

// MarkClosing records that the server decided to end this connection (drain, max age, max requests).
func (c *Conn) MarkClosing() { c.closing.Store(true) }

// Closing reports whether the server decided to end this connection.
func (c *Conn) Closing() bool { return c.closing.Load() }

func (c *Conn) Age() time.Duration { return time.Since(c.Opened) }

func (c *Conn) SetProtocol(p Protocol) { c.protocol.Store(int32(p)) }

func (c *Conn) Protocol() Protocol { return Protocol(c.protocol.Load()) }

// PeerText is the peer as the x-kth-peer header carries it.
func (c *Conn) PeerText() string {
	return identity.FormatPeer(c.Peer.Addr().String(), int(c.Peer.Port()))
}

// Close closes the connection and forgets it; safe to call more than once.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.Conn.Close()
		c.table.forget(c)
	})
	return c.closeErr
}

// Reset closes with a TCP RST (SO_LINGER 0), so the peer sees ECONNRESET at once and learns that
// its in-flight work is lost, rather than a FIN that looks like a normal end.
func (c *Conn) Reset() {
	_ = c.tcp.SetLinger(0)
	_ = c.Close()
}

// TCP is the underlying socket, for socket options.
func (c *Conn) TCP() *net.TCPConn { return c.tcp }
