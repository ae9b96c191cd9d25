package hll

import (
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
)

const (
	// Precision is log2 of the number of registers. 12 keeps a dense
	// sketch at 4 KiB, so that a month of hourly buckets on eight
	// interfaces (5,760 sketches) merges in milliseconds, at a relative
	// standard error of 1.6 %.
	Precision = 12

	// ExactLimit is how many distinct hashes a sketch keeps before it
	// turns into registers. Encoded, that many hashes take about as much
	// room as the registers' sparse form would.
	ExactLimit = 256

	registers = 1 << Precision
	// q is the number of hash bits left after the register index; a
	// register holds at most q+1.
	q = 64 - Precision
)

// Sketch is a distinct count. The zero value is an empty, exact sketch.
type Sketch struct {
	// set holds the hashes while the sketch is exact: open addressing,
	// a power-of-two length, 0 marking a free slot.
	set []uint64
	n   int
	// regs holds the registers once dense is set; kept across Reset for
	// reuse.
	regs  []uint8
	dense bool
}

// HashAddr is the hash under which an address is counted. An IPv4-mapped
// IPv6 address counts as its IPv4 address; zones are ignored. The hash is
// fixed (no per-process seed): stored sketches made by one process merge
// with those of another.
func HashAddr(a netip.Addr) uint64 {
	b := a.Unmap().As16()
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	return mix(hi ^ mix(lo+0x9e3779b97f4a7c15))
}

// mix is splitmix64's finalizer: every input bit affects every output bit.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Add counts the item whose hash is h. Hashes must be uniformly
// distributed, as HashAddr's are.
func (s *Sketch) Add(h uint64) {
	if s.dense {
		s.addReg(h)
		return
	}
	if h == 0 {
		h = 1 // 0 marks a free slot; the collision is as unlikely as any other
	}
	if s.insert(h) && s.n > ExactLimit {
		s.densify()
	}
}

// insert adds h to the exact set and reports whether it was new.
func (s *Sketch) insert(h uint64) bool {
	if 2*(s.n+1) > len(s.set) {
		s.grow()
	}
	mask := uint64(len(s.set) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.set[i] {
		case h:
			return false
		case 0:
			s.set[i] = h
			s.n++
			return true
		}
	}
}

func (s *Sketch) grow() {
	old := s.set
	size := max(16, 2*len(old))
	s.set = make([]uint64, size)
	s.n = 0
	for _, h := range old {
		if h != 0 {
			s.insert(h)
		}
	}
}

// densify moves the exact hashes into registers.
func (s *Sketch) densify() {
	if s.regs == nil {
		s.regs = make([]uint8, registers)
	} else {
		clear(s.regs)
	}
	s.dense = true
	for _, h := range s.set {
		if h != 0 {
			s.addReg(h)
		}
	}
	clear(s.set)
	s.n = 0
}

func (s *Sketch) addReg(h uint64) {
	idx := h >> q
	// The guard bit bounds the run of zeros at q, so rank is at most q+1.
	rank := uint8(bits.LeadingZeros64(h<<Precision|1<<(Precision-1)) + 1)
	if rank > s.regs[idx] {
		s.regs[idx] = rank
	}
}

// Exact reports whether Count is exact.
func (s *Sketch) Exact() bool { return !s.dense }

// Reset empties the sketch, keeping its memory.
func (s *Sketch) Reset() {
	clear(s.set)
	s.n = 0
	s.dense = false
}

// Merge adds every item of o to s.
func (s *Sketch) Merge(o *Sketch) {
	if !o.dense {
		for _, h := range o.set {
			if h != 0 {
				s.Add(h)
			}
		}
		return
	}
	if !s.dense {
		s.densify()
	}
	maxBytes(s.regs, o.regs)
}

// maxBytes sets dst[i] = max(dst[i], src[i]) eight registers at a time.
// Registers never exceed 0x7f, so a per-byte subtraction with the high bit
// set cannot borrow across bytes: the high bit left says which is larger.
func maxBytes(dst, src []uint8) {
	const hi = 0x8080808080808080
	i := 0
	for ; i+8 <= len(dst); i += 8 {
		a := binary.LittleEndian.Uint64(dst[i:])
		b := binary.LittleEndian.Uint64(src[i:])
		ge := ((a | hi) - b) & hi // high bit of each byte: a >= b
		mask := (ge >> 7) * 0xff
		binary.LittleEndian.PutUint64(dst[i:], a&mask|b&^mask)
	}
	for ; i < len(dst); i++ {
		dst[i] = max(dst[i], src[i])
	}
}

// Count is the number of distinct items added: exact while Exact, an
// estimate afterwards.
func (s *Sketch) Count() uint64 {
	if !s.dense {
		return uint64(s.n)
	}
	var c [q + 2]int
	for _, r := range s.regs {
		c[r]++
	}
	return estimate(&c)
}

// estimate is Ertl's improved raw estimator over the register histogram c
// (c[k] registers hold k).
func estimate(c *[q + 2]int) uint64 {
	const m = float64(registers)
	z := m * tau(1-float64(c[q+1])/m)
	for k := q; k >= 1; k-- {
		z = 0.5 * (z + float64(c[k]))
	}
	z += m * sigma(float64(c[0])/m)
	const alphaInf = 0.5 / math.Ln2
	return uint64(math.Round(alphaInf * m * m / z))
}

func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}
