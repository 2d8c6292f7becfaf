package service

import (
	"bufio"
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// A client that sends half a request and stalls is disconnected after the header timeout
// instead of holding the status server's connection forever.
func TestStatusServerDropsAStalledClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := serveStatus(context.Background(), addr, func(context.Context) (any, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /status HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	conn.SetReadDeadline(time.Now().Add(statusHeaderTimeout + 5*time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n')
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		t.Fatalf("the server still held the stalled connection after %v", time.Since(begin))
	}
}
