// Package bind opens listening sockets, turning bind failures into messages that name the setting
// and say how to fix it (harness/workloads/listen.ts), rather than a bare EADDRINUSE.
package bind

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"kth-sample-server/internal/identity"
	"kth-sample-server/internal/problem"
	"kth-sample-server/internal/settings"
)

// Listen binds host:port. The network follows the host as Node's listen does: an IPv4 address
// listens on IPv4 only, "::" on both families, another IPv6 address on IPv6 only. TCP keepalive
// probes stay off on accepted connections, as in Node: Go would otherwise send them every 15 s,
// which keeps conntrack/NAT entries alive and would skew idle-timeout measurements.
func Listen(host string, port int, hostSpec, portSpec settings.Spec) (*net.TCPListener, error) {
	network := "tcp"
	if addr, err := netip.ParseAddr(host); err == nil {
		switch {
		case addr.Is4():
			network = "tcp4"
		case addr.IsUnspecified():
			network = "tcp"
		default:
			network = "tcp6"
		}
	}
	config := net.ListenConfig{KeepAlive: -1}
	ln, err := config.Listen(context.Background(), network, net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, bindError(err, host, port, hostSpec, portSpec)
	}
	return ln.(*net.TCPListener), nil
}

// Port is the port a listener got (the chosen one when asked for 0).
func Port(ln net.Listener) int {
	return ln.Addr().(*net.TCPAddr).Port
}

func bindError(err error, host string, port int, h, p settings.Spec) error {
	at := identity.FormatPeer(host, port)
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return problem.BadInput(fmt.Sprintf("%s: %s is already in use", p.Label, at), p.Flag,
			fmt.Sprintf("stop what listens on port %d (see: ss -ltnp 'sport = :%d'), or set %s/%s to another port (0 picks a free one)", port, port, p.Env, p.Flag), err)
	case errors.Is(err, syscall.EACCES):
		return problem.BadInput(fmt.Sprintf("%s: not allowed to listen on %s", p.Label, at), p.Flag,
			fmt.Sprintf("ports below 1024 need root or CAP_NET_BIND_SERVICE; set %s/%s to 1024 or above", p.Env, p.Flag), err)
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.As(err, &dnsErr):
		return problem.BadInput(fmt.Sprintf("%s: '%s' is not an address of this host", h.Label, host), h.Flag,
			fmt.Sprintf("set %s/%s to 0.0.0.0 (all addresses), 127.0.0.1, or an address this host has", h.Env, h.Flag), err)
	default:
		return problem.Environment(fmt.Sprintf("could not listen on %s: %v", at, err), p.Flag, err)
	}
}
