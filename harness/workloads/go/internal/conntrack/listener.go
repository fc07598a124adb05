package conntrack

import "net"

// Listener accepts TCP connections into a Table; wrap lets a server add its own view of the
// stream (protocol sniffing, GOAWAY counting) around each Conn.
type Listener struct {
	*net.TCPListener
	table *Table
	wrap  func(*Conn) net.Conn
}

// NewListener serves ln's connections through table.
func NewListener(ln *net.TCPListener, table *Table, wrap func(*Conn) net.Conn) *Listener {
	return &Listener{TCPListener: ln, table: table, wrap: wrap}
}

func (l *Listener) Accept() (net.Conn, error) {
	tcp, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	c := l.table.Accept(tcp)
	if l.wrap == nil {
		return c, nil
	}
	return l.wrap(c), nil
}
