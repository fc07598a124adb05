package grpcserver

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"kth-sample-server/internal/conntrack"
	"kth-sample-server/internal/echopb"
	"kth-sample-server/internal/identity"
)

// MaxPayloadBytes is the largest payload a reply may carry: below grpc's default 4 MiB receive
// limit, with room for the rest of the message.
const MaxPayloadBytes = 4*1024*1024 - 64*1024

// echo is kth.v1.Echo: every reply says which pod and which connection served the call
// (harness/workloads/grpc/echo.ts).
type echo struct {
	echopb.UnimplementedEchoServer
	pod      identity.Pod
	table    *conntrack.Table
	counters *counters
}

// call is one RPC: its connection, its sequence on it, and the in-flight count it holds.
type call struct {
	e        *echo
	conn     *conntrack.Conn
	sequence uint64
	peer     string
}

// begin counts a call and finds its connection by peer address, which is unique among live
// connections (the table forgets a connection only after its socket closed, i.e. after its last call).
func (e *echo) begin(ctx context.Context, method string) *call {
	c := &call{e: e}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		c.peer = p.Addr.String()
		c.conn = e.table.Lookup(c.peer)
	}
	if c.conn != nil {
		c.sequence = c.conn.NextSequence()
		c.conn.CountWorkload()
		c.peer = c.conn.PeerText()
	}
	e.counters.started(method)
	e.counters.inFlight.Add(1)
	return c
}

func (c *call) done() { c.e.counters.inFlight.Add(-1) }

func (c *call) reply(index uint32, clientID string, payloadBytes uint32) *echopb.WhoReply {
	c.e.counters.replies.Add(1)
	r := &echopb.WhoReply{
		Pod: c.e.pod.Pod, Node: c.e.pod.Node, PodIp: c.e.pod.PodIP, Namespace: c.e.pod.Namespace,
		Peer: c.peer, Sequence: c.sequence, ClientId: clientID, StreamIndex: index,
	}
	if c.conn != nil {
		r.ConnectionId = c.conn.ID
	}
	if payloadBytes > 0 {
		r.Payload = make([]byte, payloadBytes)
	}
	return r
}

// pause waits ms milliseconds unless the call ends first; it reports whether the call is still on.
func pause(ctx context.Context, ms uint32) bool {
	if ms == 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (e *echo) Who(ctx context.Context, req *echopb.WhoRequest) (*echopb.WhoReply, error) {
	c := e.begin(ctx, "Who")
	defer c.done()
	if req.PayloadBytes > MaxPayloadBytes {
		return nil, status.Errorf(codes.InvalidArgument, "payload_bytes %d exceeds %d", req.PayloadBytes, MaxPayloadBytes)
	}
	if !pause(ctx, req.DelayMs) {
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return c.reply(1, req.ClientId, req.PayloadBytes), nil
}

func (e *echo) WhoStream(req *echopb.WhoStreamRequest, stream grpc.ServerStreamingServer[echopb.WhoReply]) error {
	ctx := stream.Context()
	c := e.begin(ctx, "WhoStream")
	defer c.done()
	count := max(1, req.Count)
	for index := uint32(1); index <= count; index++ {
		if index > 1 && !pause(ctx, req.IntervalMs) {
			return status.FromContextError(ctx.Err()).Err()
		}
		if err := stream.Send(c.reply(index, req.ClientId, 0)); err != nil {
			return err
		}
	}
	return nil
}

// WhoChat answers each request message in order, each after its own delay.
func (e *echo) WhoChat(stream grpc.BidiStreamingServer[echopb.WhoRequest, echopb.WhoReply]) error {
	ctx := stream.Context()
	c := e.begin(ctx, "WhoChat")
	defer c.done()
	for index := uint32(1); ; index++ {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !pause(ctx, req.DelayMs) {
			return status.FromContextError(ctx.Err()).Err()
		}
		// Capped rather than refused: one oversized message should not end the whole stream.
		if err := stream.Send(c.reply(index, req.ClientId, min(req.PayloadBytes, MaxPayloadBytes))); err != nil {
			return err
		}
	}
}
