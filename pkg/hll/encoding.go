package hll

import (
	"encoding/binary"
	"errors"
	"slices"
)

// Errors from UnmarshalBinary and MergeBinary.
var (
	// ErrFormat: the bytes are not an encoded sketch (truncated, an unknown
	// form, values out of range, trailing bytes).
	ErrFormat = errors.New("hll: malformed sketch")
	// ErrPrecision: the sketch was encoded with another number of
	// registers than this package's Precision.
	ErrPrecision = errors.New("hll: sketch of another precision")
)

// The first byte of an encoded sketch says which form follows.
const (
	formExact  = 1 // uvarint n, then n ascending hashes as uvarint gaps
	formSparse = 2 // Precision, uvarint n, then n × (uvarint index gap, register)
	formDense  = 3 // Precision, then every register
)

// AppendBinary appends the encoded sketch to b, in whichever form is
// smallest.
func (s *Sketch) AppendBinary(b []byte) ([]byte, error) {
	if !s.dense {
		return s.appendExact(b), nil
	}
	nonzero := 0
	for _, r := range s.regs {
		if r != 0 {
			nonzero++
		}
	}
	// A sparse entry takes about 2 bytes (index gap and value) where the
	// registers are spread out; dense costs one byte per register.
	if 3*nonzero < registers {
		b = append(b, formSparse, Precision)
		b = binary.AppendUvarint(b, uint64(nonzero))
		last := -1
		for i, r := range s.regs {
			if r != 0 {
				b = binary.AppendUvarint(b, uint64(i-last))
				b = append(b, r)
				last = i
			}
		}
		return b, nil
	}
	b = append(b, formDense, Precision)
	return append(b, s.regs...), nil
}

func (s *Sketch) appendExact(b []byte) []byte {
	hs := make([]uint64, 0, s.n)
	for _, h := range s.set {
		if h != 0 {
			hs = append(hs, h)
		}
	}
	slices.Sort(hs)
	b = append(b, formExact)
	b = binary.AppendUvarint(b, uint64(len(hs)))
	var last uint64
	for _, h := range hs {
		b = binary.AppendUvarint(b, h-last)
		last = h
	}
	return b
}

// UnmarshalBinary replaces s with the sketch encoded in b.
func (s *Sketch) UnmarshalBinary(b []byte) error {
	s.Reset()
	return s.MergeBinary(b)
}

// MergeBinary merges the sketch encoded in b into s without decoding it
// into a Sketch of its own first. It checks b whole before changing s, so
// that on error s is as it was: registers are checked eight at a time
// before they merge, the other forms are read twice (their check is a
// small part of what a merge costs).
func (s *Sketch) MergeBinary(b []byte) error {
	if len(b) > 0 && b[0] != formDense {
		if err := CheckBinary(b); err != nil {
			return err
		}
	}
	return s.walk(b)
}

// CheckBinary reports whether b is an encoded sketch that MergeBinary
// accepts, without merging it anywhere: a reader that must merge several
// blobs or none checks them all first.
func CheckBinary(b []byte) error { return (*Sketch)(nil).walk(b) }

// walk reads the sketch encoded in b into s, or only checks it when s is
// nil.
func (s *Sketch) walk(b []byte) error {
	if len(b) == 0 {
		return ErrFormat
	}
	form, b := b[0], b[1:]
	if form == formSparse || form == formDense {
		if len(b) == 0 {
			return ErrFormat
		}
		if b[0] != Precision {
			return ErrPrecision
		}
		b = b[1:]
	}
	switch form {
	case formExact:
		n, b, err := uvarint(b)
		if err != nil || n > ExactLimit {
			return ErrFormat
		}
		var h uint64
		for i := uint64(0); i < n; i++ {
			var gap uint64
			gap, b, err = uvarint(b)
			if err != nil || gap == 0 || h+gap < h {
				return ErrFormat
			}
			h += gap
			if s != nil {
				s.Add(h)
			}
		}
		return trailing(b)
	case formSparse:
		n, b, err := uvarint(b)
		if err != nil || n > registers {
			return ErrFormat
		}
		if s != nil && !s.dense {
			s.densify()
		}
		idx := -1
		for i := uint64(0); i < n; i++ {
			var gap uint64
			gap, b, err = uvarint(b)
			if err != nil || gap == 0 || gap > registers || len(b) == 0 {
				return ErrFormat
			}
			idx += int(gap)
			r := b[0]
			b = b[1:]
			if idx >= registers || r == 0 || r > q+1 {
				return ErrFormat
			}
			if s != nil {
				s.regs[idx] = max(s.regs[idx], r)
			}
		}
		return trailing(b)
	case formDense:
		if len(b) != registers || !validRegisters(b) {
			return ErrFormat
		}
		if s == nil {
			return nil
		}
		if !s.dense && s.n == 0 {
			// Into an empty sketch (a point read from one stored bucket,
			// the first bucket of a range) the registers are copied.
			s.dense = true
			s.regs = append(s.regs[:0], b...)
			return nil
		}
		if !s.dense {
			s.densify()
		}
		maxBytes(s.regs, b)
		return nil
	}
	return ErrFormat
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, ErrFormat
	}
	return v, b[n:], nil
}

func trailing(b []byte) error {
	if len(b) != 0 {
		return ErrFormat
	}
	return nil
}

// validRegisters reports whether every register is at most q+1, eight at a
// time: a byte is too large when its high bit is set or when its low seven
// bits minus q+2 do not borrow.
func validRegisters(b []byte) bool {
	const hi = 0x8080808080808080
	const limit = (q + 2) * 0x0101010101010101
	var bad uint64
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		bad |= x&hi | ((x|hi)-limit)&hi
	}
	for ; i < len(b); i++ {
		if b[i] > q+1 {
			return false
		}
	}
	return bad == 0
}
