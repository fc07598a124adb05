package grpcserver

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"kth-sample-server/internal/echopb"
	"kth-sample-server/internal/identity"
)

func startTest(t *testing.T, cfg Config) (*Server, echopb.EchoClient) {
	t.Helper()
	cfg.Host, cfg.Pod = "127.0.0.1", identity.Pod{Pod: "g"}
	cfg.Drain, cfg.DrainTimeout, cfg.KeepaliveTimeout = true, 2*time.Second, 20*time.Second
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(s.Port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, echopb.NewEchoClient(conn)
}

func TestWhoIdentityAndLimits(t *testing.T) {
	s, client := startTest(t, Config{})
	ctx := context.Background()
	for seq := uint64(1); seq <= 3; seq++ {
		reply, err := client.Who(ctx, &echopb.WhoRequest{ClientId: "c", PayloadBytes: 4})
		if err != nil {
			t.Fatal(err)
		}
		if reply.ConnectionId != "g/1" || reply.Sequence != seq || reply.StreamIndex != 1 || len(reply.Payload) != 4 || !strings.HasPrefix(reply.Peer, "127.0.0.1:") {
			t.Errorf("reply %v", reply)
		}
	}
	_, err := client.Who(ctx, &echopb.WhoRequest{PayloadBytes: MaxPayloadBytes + 1})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || st.Message() != "payload_bytes 4128769 exceeds 4128768" {
		t.Errorf("too large: %v", err)
	}
	stream, err := client.WhoStream(ctx, &echopb.WhoStreamRequest{Count: 3, IntervalMs: 1})
	if err != nil {
		t.Fatal(err)
	}
	for want := uint32(1); want <= 3; want++ {
		r, err := stream.Recv()
		if err != nil || r.StreamIndex != want || r.Sequence != 5 {
			t.Fatalf("stream reply %d: %v %v", want, r, err)
		}
	}
	text := s.counters.metricsText(s.table, true)
	for _, want := range []string{`kth_grpc_rpcs_total{method="Who"} 4`, `kth_grpc_rpcs_total{method="WhoStream"} 1`, "kth_grpc_replies_total 6", `kth_grpc_connection_rpcs{connection_id="g/1"} 5`} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
}

// grpc-go's own MaxConnectionAge sends GOAWAY "max_age"; the server counts it once per connection.
func TestMaxConnectionAgeGoawayCounted(t *testing.T) {
	s, client := startTest(t, Config{MaxConnectionAge: 200 * time.Millisecond, MaxConnectionAgeGrace: time.Second})
	ids := map[string]bool{}
	for i := 0; i < 12; i++ {
		reply, err := client.Who(context.Background(), &echopb.WhoRequest{DelayMs: 50})
		if err != nil {
			t.Fatal(err)
		}
		ids[reply.ConnectionId] = true
	}
	s.counters.mu.Lock()
	maxAge, other := s.counters.goaways[reasonMaxAge], s.counters.goaways[reasonOther]
	s.counters.mu.Unlock()
	if len(ids) < 2 || maxAge < uint64(len(ids)-1) || other != 0 {
		t.Errorf("%d connections, goaways max_age %d other %d", len(ids), maxAge, other)
	}
}

func TestGracefulStopCountsShutdown(t *testing.T) {
	s, client := startTest(t, Config{})
	done := make(chan error, 1)
	go func() {
		_, err := client.Who(context.Background(), &echopb.WhoRequest{DelayMs: 300})
		done <- err
	}()
	for s.counters.inFlight.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if result := s.Shutdown(); !result.Drained {
		t.Errorf("result %+v", result)
	}
	if err := <-done; err != nil {
		t.Errorf("in-flight call: %v", err)
	}
	s.counters.mu.Lock()
	defer s.counters.mu.Unlock()
	if got := s.counters.goaways[reasonShutdown]; got != 1 {
		t.Errorf("shutdown goaways %d", got)
	}
}
