package identity

import (
	"net/netip"
	"testing"
)

func TestFormatPeer(t *testing.T) {
	cases := []struct {
		address string
		port    int
		want    string
	}{
		{"127.0.0.1", 8080, "127.0.0.1:8080"},
		{"::1", 443, "[::1]:443"},
		{"fe80::1%eth0", 1, "[fe80::1%eth0]:1"},
		{"0.0.0.0", 0, "0.0.0.0:0"},
		{"web.local", 80, "web.local:80"},
	}
	for _, c := range cases {
		if got := FormatPeer(c.address, c.port); got != c.want {
			t.Errorf("FormatPeer(%q, %d) = %q, want %q", c.address, c.port, got, c.want)
		}
	}
}

func TestPeerUnmapsIPv4(t *testing.T) {
	cases := map[string]string{
		"[::ffff:10.0.0.7]:5000": "10.0.0.7:5000",
		"10.0.0.7:5000":          "10.0.0.7:5000",
		"[2001:db8::7]:5000":     "[2001:db8::7]:5000",
	}
	for in, want := range cases {
		got := Peer(netip.MustParseAddrPort(in))
		if s := FormatPeer(got.Addr().String(), int(got.Port())); s != want {
			t.Errorf("Peer(%s) formats as %s, want %s", in, s, want)
		}
	}
}
