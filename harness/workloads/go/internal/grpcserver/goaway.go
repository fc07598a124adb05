package grpcserver

import (
	"sync"
	"sync/atomic"

	"kth-sample-server/internal/conntrack"
)

// GOAWAY reasons, as kth_grpc_goaways_sent_total{reason} names them.
const (
	reasonMaxAge   = "max_age"
	reasonShutdown = "shutdown"
	reasonOther    = "other"
)

const (
	frameHeaderLen = 9
	frameGoaway    = 0x7
	// debugKeep is how much GOAWAY debug data is kept: enough to read grpc-go's "max_age".
	debugKeep = 64
)

// goawayScanner follows the HTTP/2 frames a server writes (its stream starts with a frame: only
// clients send a preface) and finds the first GOAWAY. Frames may be split across writes at any byte.
type goawayScanner struct {
	header    [frameHeaderLen]byte
	have      int    // header bytes collected
	remaining uint32 // payload bytes of the current frame not seen yet
	goaway    bool   // the current frame is a GOAWAY
	payload   []byte // the GOAWAY payload, up to 8 + debugKeep bytes
}

// scan consumes p and reports the debug data of the first GOAWAY that is complete within it.
func (s *goawayScanner) scan(p []byte) (debug string, found bool) {
	for len(p) > 0 {
		if s.have < frameHeaderLen {
			n := copy(s.header[s.have:], p)
			s.have += n
			p = p[n:]
			if s.have < frameHeaderLen {
				return "", false
			}
			s.remaining = uint32(s.header[0])<<16 | uint32(s.header[1])<<8 | uint32(s.header[2])
			s.goaway = s.header[3] == frameGoaway
			s.payload = s.payload[:0]
		}
		n := min(uint32(len(p)), s.remaining)
		if s.goaway {
			keep := min(int(n), 8+debugKeep-len(s.payload))
			s.payload = append(s.payload, p[:keep]...)
		}
		p = p[n:]
		s.remaining -= n
		if s.remaining == 0 {
			s.have = 0
			if s.goaway {
				return goawayDebug(s.payload), true
			}
		}
	}
	return "", false
}

// goawayDebug is the debug data after last-stream-id and error code (RFC 9113 §6.8).
func goawayDebug(payload []byte) string {
	if len(payload) < 8 {
		return ""
	}
	return string(payload[8:])
}

// goawayConn counts the first GOAWAY the server sends on a connection. grpc-go offers no hook for
// its max-age GOAWAY, but the server owns the net.Conn it writes to, so it reads its own frames.
type goawayConn struct {
	*conntrack.Conn
	counted  atomic.Bool
	mu       sync.Mutex
	scanner  goawayScanner
	onGoaway func(debug string)
}

func (c *goawayConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 && !c.counted.Load() {
		c.mu.Lock()
		debug, found := c.scanner.scan(p[:n])
		if found && !c.counted.Swap(true) {
			c.onGoaway(debug)
		}
		c.mu.Unlock()
	}
	return n, err
}

// goawayReason classifies the first GOAWAY on a connection: grpc-go's max-age drain carries
// debug data "max_age"; any other GOAWAY during shutdown is the shutdown's.
func goawayReason(debug string, shuttingDown bool) string {
	switch {
	case debug == reasonMaxAge:
		return reasonMaxAge
	case shuttingDown:
		return reasonShutdown
	default:
		return reasonOther
	}
}
