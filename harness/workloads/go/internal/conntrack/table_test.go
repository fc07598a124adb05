package conntrack

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"kth-sample-server/internal/promtext"
)

// pair accepts one loopback connection into table.
func pair(t *testing.T, ln *net.TCPListener, table *Table) (*Conn, net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	return table.Accept(tcp), client
}

func TestTableIDsLookupAndClose(t *testing.T) {
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	table := NewTable("pod")
	a, ca := pair(t, ln, table)
	b, cb := pair(t, ln, table)
	defer ca.Close()
	defer cb.Close()
	if a.ID != "pod/1" || b.ID != "pod/2" {
		t.Fatalf("ids %s %s", a.ID, b.ID)
	}
	if a.Peer.Addr().String() != "127.0.0.1" || int(a.Peer.Port()) != ca.LocalAddr().(*net.TCPAddr).Port {
		t.Errorf("peer %v, client %v", a.Peer, ca.LocalAddr())
	}
	if table.Lookup(ca.LocalAddr().String()) != a {
		t.Error("lookup by the client's address should find its connection")
	}
	if a.NextSequence() != 1 || a.NextSequence() != 2 || b.NextSequence() != 1 {
		t.Error("sequences are per connection, from 1")
	}
	a.CountWorkload()
	a.CountWorkload()
	_ = a.Close()
	_ = a.Close() // twice is harmless
	if table.Active() != 1 || table.Total() != 2 || table.Lookup(ca.LocalAddr().String()) != nil {
		t.Errorf("after close: active %d total %d", table.Active(), table.Total())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if table.WaitEmpty(ctx) {
		t.Error("one connection is still open")
	}
	if n := table.ResetAll(); n != 1 {
		t.Errorf("ResetAll reset %d", n)
	}
	if !table.WaitEmpty(context.Background()) {
		t.Error("empty after reset")
	}
	// The reset reaches the client as ECONNRESET, not a clean end.
	_ = cb.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := cb.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "reset") {
		t.Errorf("client read after reset: %v", err)
	}
	var w promtext.Writer
	table.WriteSeries(&w, Series{Prefix: "kth_x", Unit: "requests", Noun: "Requests", ReadyHelp: "Ready."}, true)
	text := w.String()
	for _, want := range []string{"kth_x_requests_per_connection_sum 2\n", "kth_x_requests_per_connection_count 2\n", "kth_x_requests_per_connection_bucket{le=\"0\"} 1\n", "kth_x_ready 1\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("series lack %q:\n%s", want, text)
		}
	}
}
