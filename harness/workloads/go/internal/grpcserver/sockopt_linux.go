package grpcserver

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// setTCPUserTimeout bounds how long sent data may stay unacknowledged before the kernel drops the
// connection, as grpc-go does for keepalive.
func setTCPUserTimeout(tcp *net.TCPConn, timeout time.Duration) {
	raw, err := tcp.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(timeout/time.Millisecond))
	})
}
