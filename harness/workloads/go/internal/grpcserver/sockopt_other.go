//go:build !linux

package grpcserver

import (
	"net"
	"time"
)

// setTCPUserTimeout: TCP_USER_TIMEOUT is Linux-only (grpc-go skips it elsewhere too).
func setTCPUserTimeout(*net.TCPConn, time.Duration) {}
