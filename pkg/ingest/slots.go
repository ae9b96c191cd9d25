package ingest

import "net"

// Connection slots. Workers that have said hello hold one of
// Config.MaxConnections slots; connections that have not said hello yet
// hold one of Config.MaxUnauthenticated, which are apart: idle sockets, port
// scans and slow handshakes can take at most those, never a worker's. When
// they are all taken, the oldest waiting connection is closed to make room
// for the new one, so that nothing can keep them by simply staying connected:
// a peer that says hello at once (a real worker) gets in, while an idle one
// is pushed out by the next arrival long before its hello timeout.

// admit takes a new connection in. It returns nil when every worker slot
// is taken: the peer is refused then, as a hello could not get it in.
func (s *Server) admit(nc net.Conn) *conn {
	s.mu.Lock()
	if s.authed >= s.cfg.MaxConnections {
		s.mu.Unlock()
		return nil
	}
	var evict *conn
	if s.waiting.Len() >= s.cfg.MaxUnauthenticated {
		evict = s.waiting.Remove(s.waiting.Front()).(*conn)
		evict.waitElem = nil
	}
	c := newConn(s, nc)
	c.waitElem = s.waiting.PushBack(c)
	s.conns[c] = struct{}{}
	s.nconns.Add(1)
	s.mu.Unlock()
	if evict != nil {
		s.count(kHelloEvicted)
		s.logBad("connection closed before its hello to make room for a newer one", "remote", evict.remote,
			"max_unauthenticated", s.cfg.MaxUnauthenticated)
		evict.close()
	}
	return c
}

// authenticate moves a connection whose hello was accepted from the waiting
// ones to the workers'. It reports false when no worker slot is left.
func (s *Server) authenticate(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.waitElem != nil {
		s.waiting.Remove(c.waitElem)
		c.waitElem = nil
	}
	if s.authed >= s.cfg.MaxConnections {
		return false
	}
	s.authed++
	c.authed = true
	return true
}

// releaseLocked gives back the connection's slot; s.mu is held.
func (s *Server) releaseLocked(c *conn) {
	if c.waitElem != nil {
		s.waiting.Remove(c.waitElem)
		c.waitElem = nil
	}
	if c.authed {
		s.authed--
		c.authed = false
	}
}
