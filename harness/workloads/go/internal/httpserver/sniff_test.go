package httpserver

import (
	"testing"

	"kth-sample-server/internal/conntrack"
)

func TestObserveAcrossReads(t *testing.T) {
	cases := []struct {
		name   string
		chunks []string
		want   conntrack.Protocol
	}{
		{"http/1.1 at once", []string{"GET / HTTP/1.1\r\n"}, conntrack.HTTP1},
		{"h2 preface in one read", []string{h2Preface}, conntrack.H2},
		{"h2 preface byte by byte", splitBytes(h2Preface), conntrack.H2},
		{"PRI but HTTP/1", []string{"PRI * HTTP/1.1\r\n"}, conntrack.HTTP1},
		{"preface then frames", []string{"PRI * HTTP/2.0\r\n", "\r\nSM\r\n\r\n\x00\x00\x00\x04"}, conntrack.H2},
		{"undecided", []string{"PRI * HT"}, conntrack.Pending},
	}
	for _, tc := range cases {
		c := &sniffConn{}
		got := conntrack.Pending
		for _, chunk := range tc.chunks {
			if protocol, done := c.observe([]byte(chunk)); done {
				got = protocol
				break
			}
		}
		if got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func splitBytes(s string) []string {
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i : i+1]
	}
	return out
}
