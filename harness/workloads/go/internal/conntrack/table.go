package conntrack

import (
	"cmp"
	"context"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"kth-sample-server/internal/identity"
	"kth-sample-server/internal/promtext"
)

// Table is every connection a server accepted: the open ones, and for closed ones only what the
// per-connection histogram keeps.
type Table struct {
	prefix string
	closed *promtext.Histogram

	mu       sync.Mutex
	accepted uint64
	open     map[*Conn]struct{}
	byKey    map[string]*Conn
	// empty is closed while no connection is open; replaced when one opens.
	empty chan struct{}
}

// NewTable starts an empty table for connection ids `<pod>/<n>`.
func NewTable(pod string) *Table {
	empty := make(chan struct{})
	close(empty)
	return &Table{
		prefix: pod + "/",
		closed: promtext.NewHistogram(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000),
		open:   make(map[*Conn]struct{}),
		byKey:  make(map[string]*Conn),
		empty:  empty,
	}
}

// Accept registers a new connection and gives it the next id.
func (t *Table) Accept(tcp *net.TCPConn) *Conn {
	c := &Conn{Conn: tcp, tcp: tcp, table: t, Opened: time.Now(), Key: tcp.RemoteAddr().String()}
	if addr, ok := tcp.RemoteAddr().(*net.TCPAddr); ok {
		c.Peer = identity.Peer(addr.AddrPort())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.accepted++
	c.n = t.accepted
	c.ID = t.prefix + strconv.FormatUint(c.n, 10)
	if len(t.open) == 0 {
		t.empty = make(chan struct{})
	}
	t.open[c] = struct{}{}
	t.byKey[c.Key] = c
	return c
}

func (t *Table) forget(c *Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.open[c]; !ok {
		return
	}
	delete(t.open, c)
	if t.byKey[c.Key] == c {
		delete(t.byKey, c.Key)
	}
	t.closed.Observe(float64(c.Workload()))
	if len(t.open) == 0 {
		close(t.empty)
	}
}

// Lookup is the open connection whose RemoteAddr().String() is key.
func (t *Table) Lookup(key string) *Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byKey[key]
}

// Open lists the open connections in accept order.
func (t *Table) Open() []*Conn {
	t.mu.Lock()
	conns := make([]*Conn, 0, len(t.open))
	for c := range t.open {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	slices.SortFunc(conns, func(a, b *Conn) int { return cmp.Compare(a.n, b.n) })
	return conns
}

// Total is how many connections were accepted since start.
func (t *Table) Total() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.accepted
}

// Active is how many connections are open now.
func (t *Table) Active() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.open)
}

// WaitEmpty waits until no connection is open (true) or ctx ends (false).
func (t *Table) WaitEmpty(ctx context.Context) bool {
	t.mu.Lock()
	empty := t.empty
	t.mu.Unlock()
	select {
	case <-empty:
		return true
	case <-ctx.Done():
		return false
	}
}

// ResetAll resets every open connection and says how many there were.
func (t *Table) ResetAll() int {
	open := t.Open()
	for _, c := range open {
		c.Reset()
	}
	return len(open)
}

// Settle waits briefly for closed sockets to leave the table before the process exits.
func (t *Table) Settle() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	t.WaitEmpty(ctx)
}
