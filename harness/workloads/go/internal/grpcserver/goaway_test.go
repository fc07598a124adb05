package grpcserver

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func frame(typ byte, stream uint32, payload []byte) []byte {
	b := make([]byte, 9, 9+len(payload))
	b[0], b[1], b[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	b[3] = typ
	binary.BigEndian.PutUint32(b[5:9], stream)
	return append(b, payload...)
}

func goawayFrame(debug string) []byte {
	p := make([]byte, 8, 8+len(debug))
	binary.BigEndian.PutUint32(p[0:4], 0x7fffffff)
	return frame(frameGoaway, 0, append(p, debug...))
}

// serverStream is what a grpc-go server writes: SETTINGS, a big DATA frame, a PING, then GOAWAY.
func serverStream(debug string) []byte {
	var b bytes.Buffer
	b.Write(frame(0x4, 0, make([]byte, 18)))
	b.Write(frame(0x1, 1, []byte{0x88}))
	b.Write(frame(0x0, 1, bytes.Repeat([]byte{0x07}, 70000))) // payload bytes that look like GOAWAY type
	b.Write(frame(0x6, 0, make([]byte, 8)))
	b.Write(goawayFrame(debug))
	b.Write(frame(0x6, 0, make([]byte, 8)))
	return b.Bytes()
}

func TestScanWholeAndSplit(t *testing.T) {
	stream := serverStream("max_age")
	for _, size := range []int{len(stream), 1, 2, 5, 8, 9, 10, 17, 4096, 16384} {
		var s goawayScanner
		var found []string
		for i := 0; i < len(stream); i += size {
			if debug, ok := s.scan(stream[i:min(i+size, len(stream))]); ok {
				found = append(found, debug)
			}
		}
		if len(found) != 1 || found[0] != "max_age" {
			t.Errorf("writes of %d bytes: found %q, want one max_age", size, found)
		}
	}
}

func TestScanEmptyDebugAndLongDebug(t *testing.T) {
	var s goawayScanner
	if debug, ok := s.scan(goawayFrame("")); !ok || debug != "" {
		t.Errorf("empty debug: got %q, %v", debug, ok)
	}
	long := string(bytes.Repeat([]byte("d"), 500))
	s = goawayScanner{}
	if debug, ok := s.scan(goawayFrame(long)); !ok || debug != long[:debugKeep] {
		t.Errorf("long debug: got %d bytes, %v", len(debug), ok)
	}
}

func TestScanNoGoaway(t *testing.T) {
	var s goawayScanner
	if _, ok := s.scan(frame(0x4, 0, nil)); ok {
		t.Error("an empty SETTINGS frame is not a GOAWAY")
	}
	if _, ok := s.scan(frame(0x0, 1, []byte{0, 0, 0, 7, 7, 7, 7, 7, 7})); ok {
		t.Error("DATA that looks like a frame header is not a GOAWAY")
	}
}

func TestGoawayReason(t *testing.T) {
	cases := []struct {
		debug        string
		shuttingDown bool
		want         string
	}{
		{"max_age", false, reasonMaxAge},
		{"max_age", true, reasonMaxAge},
		{"graceful_stop", true, reasonShutdown},
		{"too_many_pings", false, reasonOther},
		{"max_idle", false, reasonOther},
	}
	for _, c := range cases {
		if got := goawayReason(c.debug, c.shuttingDown); got != c.want {
			t.Errorf("goawayReason(%q, %v) = %s, want %s", c.debug, c.shuttingDown, got, c.want)
		}
	}
}
