package main

import (
	"bytes"
	"math/rand/v2"
	"net/netip"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// basePool is how many session lines a run cycles through when there are
// no more clients than that: enough to spread 10,000 clients at random.
const basePool = 20000

// load is the session lines of a run, prepared before the clock starts:
// the generator and the encoder are not what is measured. Each connection
// writes the line prefix, a seq and one of bodies (ingesttest.Stream).
type load struct {
	bodies  [][]byte
	clients []netip.Addr // the client of each body, to count what a filter selects
}

// newLoad prepares the lines of sessions over the given clients. Up to
// basePool clients, basePool lines pick their client at random (as
// ingesttest.Bodies does); beyond, there is one line per client, up to one
// per session, in a random order of the clients, so that every client
// appears and, with at least as many clients as sessions, every session is
// a distinct client: what a server with that many clients commits.
func newLoad(sessions, clients int, seed uint64) *load {
	g := storetest.NewGenerator(clients, seed)
	pool := basePool
	var order []int
	if clients > basePool {
		pool = min(clients, sessions)
		order = rand.New(rand.NewPCG(seed, seed)).Perm(clients)[:pool]
	}
	l := &load{bodies: make([][]byte, pool), clients: make([]netip.Addr, pool)}
	seq := []byte(`"seq":1`)
	var s session.Session
	var line []byte
	for i := range pool {
		g.Next(&s)
		if order != nil {
			c := order[i]
			s.ClientIP, s.ClientPort = storetest.Client(c), uint16(1024+c%60000)
		}
		line = wire.AppendSession(line[:0], 1, &s)
		l.bodies[i] = bytes.Clone(line[bytes.Index(line, seq)+len(seq):])
		l.clients[i] = s.ClientIP
	}
	return l
}

// offset is where connection c of conns starts in the bodies, so that the
// connections send different sessions.
func (l *load) offset(c, conns int) int { return c * len(l.bodies) / conns }

// matching counts the sessions a run of per sessions on each of conns
// connections sends from clients in p; an invalid p matches every session.
func (l *load) matching(p netip.Prefix, per, conns int) int {
	if !p.IsValid() {
		return per * conns
	}
	n := 0
	for c := range conns {
		off := l.offset(c, conns)
		for seq := 1; seq <= per; seq++ {
			if p.Contains(l.clients[(off+seq)%len(l.bodies)]) {
				n++
			}
		}
	}
	return n
}
