package pairing

import (
	"hash/maphash"
	"math"
	"math/bits"
	"net/netip"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// Defaults for the zero fields of Config.
const (
	DefaultPort       = 123
	DefaultTimeout    = 2 * time.Second
	DefaultMaxPending = 1_000_000
	// DefaultMaxLatency bounds a plausible T2−T1. chrony and ntpsec clients
	// fill the request's transmit timestamp with random bits, which land
	// within an hour of the server's clock about once in 600,000 requests;
	// a real client clock more than an hour off measures its own error,
	// not the path, so its "latency" is not kept either.
	DefaultMaxLatency = time.Hour
)

// Config sets up a Table. A zero field means its default (the Default
// constants).
type Config struct {
	// Port is the monitored server's UDP port.
	Port uint16
	// Timeout is how long a request waits for its response before it is
	// emitted as unanswered.
	Timeout time.Duration
	// MaxPending bounds the number of requests waiting for a response.
	// When the table is full the oldest request is evicted: counted, but
	// not emitted (see Counters.Evicted).
	MaxPending int
	// MaxLatency bounds |T2−T1| for the latency to count as valid.
	MaxLatency time.Duration
	// Interface labels every session.
	Interface string
}

// withDefaults returns c with every zero field set to its default, and
// MaxPending within what the table's int32 indexes can hold.
func (c Config) withDefaults() Config {
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.MaxPending > math.MaxInt32-1 {
		c.MaxPending = math.MaxInt32 - 1
	}
	if c.MaxLatency <= 0 {
		c.MaxLatency = DefaultMaxLatency
	}
	return c
}

// Packet is one captured NTP packet with its addressing.
type Packet struct {
	Time             time.Time // capture time
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	NTP              *ntp.Packet
	// Cut: the capture cut the datagram short after the NTP header; the
	// session it is part of says so (session.Session.SnaplenCut).
	Cut bool
}

// Counters are running totals since the table was made, except Pending.
type Counters struct {
	Requests   uint64 // requests seen (mode 3 and NTPv1 to the server port)
	Responses  uint64 // mode-4 packets from the server port
	Answered   uint64 // sessions emitted with a response
	Unanswered uint64 // sessions emitted without one
	KoD        uint64 // answered sessions whose response was a Kiss-o'-Death
	OtherModes uint64 // mode 1, 2, 5, 6, 7 packets to the server port, emitted one record each
	Control    uint64 // of OtherModes: mode 6 and 7 (ntpq/ntpdc) queries
	Unmatched  uint64 // responses with no pending request
	Duplicates uint64 // requests identical to a pending one (same key), folded into it
	Evicted    uint64 // pending requests dropped to stay within MaxPending
	Ignored    uint64 // packets that are neither requests, responses nor other-mode queries
	Pending    int    // requests waiting right now
}

// Sessions is the number of session records emitted for requests.
func (c Counters) Sessions() uint64 { return c.Answered + c.Unanswered }

const nilIndex = -1

// Entries are allocated chunkSize at a time (about 290 KB).
const (
	chunkBits = 12
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
)

// at returns entry i.
func (t *Table) at(i int32) *entry { return &t.chunks[i>>chunkBits][i&chunkMask] }

// Flags of an entry.
const (
	clientIs4 = 1 << iota
	serverIs4
	requestCut // the request was cut short by the snaplen

	// addrMask is the flags a key has: the address families.
	addrMask = clientIs4 | serverIs4
)

// entry is one pending request. It holds addresses as 16-byte arrays rather
// than netip.Addr so that the entry table contains no pointers and the
// garbage collector never scans it: a million pending requests cost about
// 72 MB here plus 8 MB of index.
type entry struct {
	client, server         [16]byte
	transmit               ntp.Time
	captured               int64 // C1, Unix nanoseconds
	clientPort, serverPort uint16
	prev, next             int32 // age list; next doubles as the free list link
	hash                   uint32
	flags                  uint8
	version, mode          uint8
	poll                   int8
	length                 uint16
}

// key is what a packet is looked up by.
type key struct {
	client, server         [16]byte
	clientPort, serverPort uint16
	flags                  uint8
	transmit               ntp.Time
}

// Table pairs requests with responses. Make one with New.
type Table struct {
	cfg        Config
	emit       func(*session.Session)
	timeout    int64 // nanoseconds
	maxLatency float64

	// Entries live in fixed-size chunks: growing adds a chunk and never
	// copies, so reaching a million pending requests leaves no discarded
	// half-size arrays behind for the garbage collector.
	chunks     [][]entry
	used       int32 // entries handed out so far; the rest of the last chunk is unused
	free       int32 // head of the free list
	head, tail int32 // age list: head is the oldest
	n          int   // live entries

	// slots is the index: open addressing, linear probing. A slot holds
	// entry index+1 in its low idxBits (0: empty) and the top bits of the
	// entry's hash above them, so that a probe passes over other keys
	// without touching their entries: at pool scale the entries are far
	// beyond the CPU caches, and each touch is a cache miss.
	slots   []uint32
	mask    uint32
	idxBits uint8
	seed    maphash.Seed

	latest int64 // latest capture time seen, Unix nanoseconds

	c   Counters
	out session.Session

	// One-entry caches of the last reference ID and kiss code, so that a
	// server's unchanging refid costs no allocation per response.
	refBytes [4]byte
	refKiss  bool
	refStr   string
}

// New returns a table that calls emit for every session. The pointer passed
// to emit is only valid during the call.
func New(cfg Config, emit func(*session.Session)) *Table {
	cfg = cfg.withDefaults()
	t := &Table{
		cfg:        cfg,
		emit:       emit,
		timeout:    int64(cfg.Timeout),
		maxLatency: cfg.MaxLatency.Seconds(),
		free:       nilIndex,
		head:       nilIndex,
		tail:       nilIndex,
		seed:       maphash.MakeSeed(),
		// Indexes+1 go up to MaxPending.
		idxBits: uint8(bits.Len32(uint32(cfg.MaxPending))),
	}
	t.resize(slotsFor(min(cfg.MaxPending, chunkSize)))
	return t
}

// slotsFor returns the index size for n entries: a power of two at least
// twice n, so probes stay short.
func slotsFor(n int) int {
	s := 16
	for s < 2*n {
		s <<= 1
	}
	return s
}

// Counters returns the running totals.
func (t *Table) Counters() Counters {
	c := t.c
	c.Pending = t.n
	return c
}

// Len returns the number of pending requests.
func (t *Table) Len() int { return t.n }

// Add feeds one packet to the table. Packets that are not to or from the
// monitored port, or are neither requests, responses nor other-mode
// queries, are counted as ignored.
func (t *Table) Add(p *Packet) {
	now := p.Time.UnixNano()
	if now > t.latest {
		t.latest = now
		t.expireBefore(now - t.timeout)
	}
	m := p.NTP
	port := t.cfg.Port
	switch {
	case m.Mode == ntp.ModeServer && p.SrcPort == port:
		t.response(p, now)
	case p.DstPort != port:
		t.c.Ignored++
	case session.IsRequestMode(m.Version, m.Mode):
		t.request(p, now)
	case m.Mode == ntp.ModeReserved || m.Mode == ntp.ModeServer:
		// Mode 0 outside NTPv1 is reserved; mode 4 to the server port
		// from another port is no response to anything it sent.
		t.c.Ignored++
	default:
		t.other(p, now)
	}
}

// Expire emits as unanswered every request captured more than Timeout
// before now. The caller drives it from a wall-clock tick when no packet
// has arrived for a while, so that quiet periods still end sessions.
func (t *Table) Expire(now time.Time) {
	t.expireBefore(now.UnixNano() - t.timeout)
}

// ExpireAll emits every pending request as unanswered: the capture is over
// (the end of a capture file), so no response can come any more.
func (t *Table) ExpireAll() {
	t.expireBefore(math.MaxInt64)
}

// Drop forgets every pending request without emitting it and returns how
// many there were. A live capture that stops before their timeout cannot
// say whether they would have been answered.
func (t *Table) Drop() int {
	n := t.n
	for t.head != nilIndex {
		t.remove(t.head)
	}
	return n
}

func (t *Table) expireBefore(cutoff int64) {
	for t.head != nilIndex {
		i := t.head
		e := t.at(i)
		if e.captured >= cutoff {
			return
		}
		t.fillRequest(e)
		t.c.Unanswered++
		t.remove(i)
		t.emit(&t.out)
	}
}

func (t *Table) request(p *Packet, now int64) {
	t.c.Requests++
	k := key{
		client:     p.Src.As16(),
		server:     p.Dst.As16(),
		clientPort: p.SrcPort,
		serverPort: p.DstPort,
		flags:      addrFlags(p.Src, p.Dst),
		transmit:   p.NTP.Transmit,
	}
	h := t.hash(&k)
	if _, i := t.lookup(&k, h); i != nilIndex {
		// The same request again (a client that resends without changing
		// its transmit timestamp, or a frame captured twice): the server
		// answers it with the same originate, so one pending entry covers
		// both; the first capture time is kept.
		t.c.Duplicates++
		return
	}
	if t.n == t.cfg.MaxPending {
		t.c.Evicted++
		t.remove(t.head)
	}
	i := t.alloc()
	e := t.at(i)
	*e = entry{
		client:     k.client,
		server:     k.server,
		transmit:   k.transmit,
		captured:   now,
		clientPort: k.clientPort,
		serverPort: k.serverPort,
		prev:       t.tail,
		next:       nilIndex,
		hash:       h,
		flags:      k.flags | cutFlag(p.Cut),
		version:    p.NTP.Version,
		mode:       p.NTP.Mode,
		poll:       p.NTP.Poll,
		length:     clampLength(p.NTP.Length),
	}
	if t.tail != nilIndex {
		t.at(t.tail).next = i
	} else {
		t.head = i
	}
	t.tail = i
	t.n++
	t.insertSlot(h, i)
}

func (t *Table) response(p *Packet, now int64) {
	t.c.Responses++
	m := p.NTP
	k := key{
		client:     p.Dst.As16(),
		server:     p.Src.As16(),
		clientPort: p.DstPort,
		serverPort: p.SrcPort,
		flags:      addrFlags(p.Dst, p.Src),
		transmit:   m.Originate,
	}
	h := t.hash(&k)
	slot, i := t.lookup(&k, h)
	if i == nilIndex {
		t.c.Unmatched++
		return
	}
	e := t.at(i)
	t.fillRequest(e)
	s := &t.out
	s.Answered = true
	s.Stratum = m.Stratum
	s.Precision = m.Precision
	s.RootDelay = ntp.ShortSeconds(m.RootDelay)
	s.RootDispersion = ntp.ShortSeconds(m.RootDispersion)
	s.Leap = session.LeapName(m.Leap)
	s.ReferenceID = t.refID(m)
	s.ReferenceTime = m.Reference.Unix()
	s.OriginateTime = m.Originate.Unix()
	s.ReceiveTime = m.Receive.Unix()
	s.TransmitTime = m.Transmit.Unix()
	kod := m.IsKoD()
	if kod {
		s.KoD = s.ReferenceID
		t.c.KoD++
	}
	// A KoD carries no real receive time (ntpsec copies the client's
	// transmit into all three timestamps), so its latency means nothing.
	if !kod && !e.transmit.IsZero() && !m.Receive.IsZero() {
		if d := ntp.Sub(m.Receive, e.transmit); math.Abs(d) <= t.maxLatency {
			s.Latency, s.LatencyValid = d, true
		}
	}
	if !m.Receive.IsZero() && !m.Transmit.IsZero() {
		s.Processing = ntp.Sub(m.Transmit, m.Receive)
	}
	s.Total = float64(now-e.captured) / 1e9
	s.SnaplenCut = s.SnaplenCut || p.Cut
	t.c.Answered++
	t.removeAt(slot, i)
	t.emit(s)
}

func (t *Table) other(p *Packet, now int64) {
	t.c.OtherModes++
	m := p.NTP
	if m.Mode == ntp.ModeControl || m.Mode == ntp.ModePrivate {
		t.c.Control++
	}
	s := &t.out
	*s = session.Session{
		ClientIP:     p.Src.WithZone(""),
		ClientPort:   p.SrcPort,
		ServerIP:     p.Dst.WithZone(""),
		ServerPort:   p.DstPort,
		Interface:    t.cfg.Interface,
		Version:      m.Version,
		Mode:         m.Mode,
		Poll:         m.Poll,
		PacketLength: clampLength(m.Length),
		Timestamp:    time.Unix(0, now).UTC(),
		SnaplenCut:   p.Cut,
	}
	t.emit(s)
}

// fillRequest resets the output record to the request in e.
func (t *Table) fillRequest(e *entry) {
	t.out = session.Session{
		ClientIP:     addrFrom(e.client, e.flags&clientIs4 != 0),
		ClientPort:   e.clientPort,
		ServerIP:     addrFrom(e.server, e.flags&serverIs4 != 0),
		ServerPort:   e.serverPort,
		Interface:    t.cfg.Interface,
		Version:      e.version,
		Mode:         e.mode,
		Poll:         e.poll,
		PacketLength: e.length,
		Timestamp:    time.Unix(0, e.captured).UTC(),
		SnaplenCut:   e.flags&requestCut != 0,
	}
}

// refID returns the reference ID text of m, reusing the previous string
// when the bytes and their rendering class are unchanged.
func (t *Table) refID(m *ntp.Packet) string {
	kiss := m.Stratum <= 1
	if t.refStr != "" && m.ReferenceID == t.refBytes && kiss == t.refKiss {
		return t.refStr
	}
	t.refBytes, t.refKiss, t.refStr = m.ReferenceID, kiss, m.RefID()
	return t.refStr
}

// cutFlag is the entry flag of a request the snaplen cut.
func cutFlag(cut bool) uint8 {
	if cut {
		return requestCut
	}
	return 0
}

func addrFlags(client, server netip.Addr) uint8 {
	var f uint8
	if client.Is4() {
		f |= clientIs4
	}
	if server.Is4() {
		f |= serverIs4
	}
	return f
}

func addrFrom(b [16]byte, is4 bool) netip.Addr {
	if is4 {
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return netip.AddrFrom16(b)
}

func clampLength(n int) uint16 {
	if n > math.MaxUint16 {
		return math.MaxUint16
	}
	return uint16(n)
}

// hash hashes a key with the table's random seed, so that spoofed requests
// cannot be crafted to collide.
func (t *Table) hash(k *key) uint32 {
	var b [16 + 16 + 2 + 2 + 1 + 8]byte
	copy(b[0:16], k.client[:])
	copy(b[16:32], k.server[:])
	b[32], b[33] = byte(k.clientPort>>8), byte(k.clientPort)
	b[34], b[35] = byte(k.serverPort>>8), byte(k.serverPort)
	b[36] = k.flags
	v := uint64(k.transmit)
	for j := range 8 {
		b[37+j] = byte(v >> (8 * j))
	}
	h := maphash.Bytes(t.seed, b[:])
	return uint32(h) ^ uint32(h>>32)
}

func (t *Table) matches(e *entry, k *key) bool {
	return e.transmit == k.transmit && e.clientPort == k.clientPort &&
		e.serverPort == k.serverPort && e.flags&addrMask == k.flags &&
		e.client == k.client && e.server == k.server
}

// lookup returns the slot and entry index of k, or nilIndex.
func (t *Table) lookup(k *key, h uint32) (uint32, int32) {
	tag := t.tag(h)
	for s := h & t.mask; ; s = (s + 1) & t.mask {
		v := t.slots[s]
		if v == 0 {
			return 0, nilIndex
		}
		if v&^t.indexMask() != tag {
			continue
		}
		i := t.index(v)
		if e := t.at(i); e.hash == h && t.matches(e, k) {
			return s, i
		}
	}
}

// tag returns the bits of h that a slot keeps above the entry index.
func (t *Table) tag(h uint32) uint32 { return h &^ t.indexMask() }

func (t *Table) indexMask() uint32 { return 1<<t.idxBits - 1 }

// index returns the entry index held in the non-empty slot value v.
func (t *Table) index(v uint32) int32 { return int32(v&t.indexMask()) - 1 }

func (t *Table) insertSlot(h uint32, i int32) {
	s := h & t.mask
	for t.slots[s] != 0 {
		s = (s + 1) & t.mask
	}
	t.slots[s] = t.tag(h) | uint32(i+1)
}

// alloc takes an entry from the free list, or grows the entry table.
func (t *Table) alloc() int32 {
	if t.free != nilIndex {
		i := t.free
		t.free = t.at(i).next
		return i
	}
	i := t.used
	if int(i)>>chunkBits == len(t.chunks) {
		t.chunks = append(t.chunks, make([]entry, min(chunkSize, t.cfg.MaxPending)))
	}
	t.used++
	if 2*int(t.used) > len(t.slots) {
		t.resize(2 * len(t.slots))
	}
	return i
}

// resize rebuilds the index with n slots from the live entries.
func (t *Table) resize(n int) {
	t.slots = make([]uint32, n)
	t.mask = uint32(n - 1)
	for i := t.head; i != nilIndex; i = t.at(i).next {
		t.insertSlot(t.at(i).hash, i)
	}
}

// remove deletes entry i, finding its slot first.
func (t *Table) remove(i int32) {
	h := t.at(i).hash
	s := h & t.mask
	for t.slots[s]&t.indexMask() != uint32(i+1) {
		s = (s + 1) & t.mask
	}
	t.removeAt(s, i)
}

// removeAt deletes entry i held in slot s: it unlinks the entry from the
// age list, returns it to the free list, and closes the gap in the index by
// shifting later members of the probe run back (no tombstones, so lookups
// never slow down with churn).
func (t *Table) removeAt(s uint32, i int32) {
	e := t.at(i)
	if e.prev != nilIndex {
		t.at(e.prev).next = e.next
	} else {
		t.head = e.next
	}
	if e.next != nilIndex {
		t.at(e.next).prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev = nilIndex
	e.next = t.free
	t.free = i
	t.n--

	hole := s
	for j := (s + 1) & t.mask; ; j = (j + 1) & t.mask {
		v := t.slots[j]
		if v == 0 {
			break
		}
		home := t.at(t.index(v)).hash & t.mask
		// The member at j may move into the hole only if its home slot is
		// not cyclically within (hole, j].
		if hole <= j {
			if hole < home && home <= j {
				continue
			}
		} else if hole < home || home <= j {
			continue
		}
		t.slots[hole] = v
		hole = j
	}
	t.slots[hole] = 0
}
