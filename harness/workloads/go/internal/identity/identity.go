// Package identity is who served a response: the pod (fixed per process) and the peer, formatted
// as the x-kth-* headers and the gRPC WhoReply carry them (harness/workloads/identity.ts).
package identity

import (
	"net/netip"
	"os"
	"strconv"
)

// Pod is the part of the identity that is fixed for a server process.
type Pod struct {
	Pod       string
	Node      string
	PodIP     string
	Namespace string
}

// Header names, lower-case as the Node servers send them.
const (
	HeaderPod          = "x-kth-pod"
	HeaderNode         = "x-kth-node"
	HeaderPodIP        = "x-kth-pod-ip"
	HeaderNamespace    = "x-kth-namespace"
	HeaderPeer         = "x-kth-peer"
	HeaderConnectionID = "x-kth-connection-id"
	HeaderSequence     = "x-kth-sequence"
	// HeaderForwardedFor echoes the request's X-Forwarded-For (absent when it had none): behind a
	// proxy, the client address the first proxy saw.
	HeaderForwardedFor = "x-kth-forwarded-for"
)

// Hostname is the default pod name outside Kubernetes.
func Hostname() string {
	name, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return name
}

// Peer is a remote address as reports compare it: IPv4-mapped IPv6 (a dual-stack listener's IPv4
// peers) becomes plain IPv4.
func Peer(addr netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
}

// FormatPeer is `address:port`, with brackets for IPv6: the x-kth-peer form.
func FormatPeer(address string, port int) string {
	for i := 0; i < len(address); i++ {
		if address[i] == ':' {
			return "[" + address + "]:" + strconv.Itoa(port)
		}
	}
	return address + ":" + strconv.Itoa(port)
}
