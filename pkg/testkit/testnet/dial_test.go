package testnet

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"
)

// DialContext reaches a listener on the loopback of a host's namespace,
// which the root namespace's own 127.0.0.1 does not.
func TestDialContext(t *testing.T) {
	Require(t)
	n := New(t)
	h := n.AddHost("srv")
	var ln net.Listener
	if err := h.inNamespace(func() (err error) {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("from the namespace\n"))
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := h.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "from the namespace\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	// The same port on the root namespace's loopback is another socket,
	// almost always closed.
	if c, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Log("the root namespace happens to listen on the same port")
	}
}
