package loghist

import (
	"encoding/binary"
	"errors"
	"math"
)

// Errors from UnmarshalBinary and MergeBinary.
var (
	// ErrFormat: the bytes are not an encoded histogram (truncated, counts
	// that do not add up, indexes or values out of range, trailing bytes).
	ErrFormat = errors.New("loghist: malformed histogram")
	// ErrSchema: the histogram was encoded with another bucket schema.
	ErrSchema = errors.New("loghist: histogram of another schema")
)

const version = 1

// The encoding:
//
//	version, Schema, uvarint count
//	and when count > 0:
//	  sum, min, max as little-endian float64
//	  uvarint zero-bucket count
//	  the positive buckets, then the negative ones, each side as
//	    uvarint k, then k × (uvarint index gap, uvarint count)
//
// Index gaps count from one below the smallest index, so every gap is at
// least 1 and a side's indexes are strictly ascending.

// AppendBinary appends the encoded histogram to b.
func (h *Histogram) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, version, Schema)
	b = binary.AppendUvarint(b, h.count)
	if h.count == 0 {
		return b, nil
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.sum))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.min))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.max))
	b = binary.AppendUvarint(b, h.zero)
	b = appendSide(b, &h.pos)
	return appendSide(b, &h.neg), nil
}

func appendSide(b []byte, s *side) []byte {
	k := 0
	for _, n := range s.c {
		if n != 0 {
			k++
		}
	}
	b = binary.AppendUvarint(b, uint64(k))
	last := -1
	for j, n := range s.c {
		if n != 0 {
			i := s.off + j
			b = binary.AppendUvarint(b, uint64(i-last))
			b = binary.AppendUvarint(b, n)
			last = i
		}
	}
	return b
}

// UnmarshalBinary replaces h with the histogram encoded in b.
func (h *Histogram) UnmarshalBinary(b []byte) error {
	h.Reset()
	return h.MergeBinary(b)
}

// MergeBinary adds the histogram encoded in b to h without decoding it into
// a Histogram of its own. It checks b whole before changing h.
func (h *Histogram) MergeBinary(b []byte) error {
	d, err := decode(b, h.scratch[:0])
	// The decoded buckets wait in h.scratch, which is kept for the next
	// merge.
	h.scratch = d.pairs
	if err != nil {
		return err
	}
	h.merge(&d)
	return nil
}

// Decoded is an encoded histogram read and checked, ready to merge: a
// reader that must merge several blobs or none decodes them all first,
// then merges each with MergeDecoded, which cannot fail. A Decoded's
// memory is reused by its next Decode.
type Decoded struct{ d decoded }

// Decode reads and checks b.
func (d *Decoded) Decode(b []byte) error {
	nd, err := decode(b, d.d.pairs[:0])
	d.d = nd
	if err != nil {
		d.d.count = 0 // nothing to merge
	}
	return err
}

// MergeDecoded adds the histogram d holds to h.
func (h *Histogram) MergeDecoded(d *Decoded) { h.merge(&d.d) }

func (h *Histogram) merge(d *decoded) {
	if d.count == 0 {
		return
	}
	h.mergeStats(d.count, d.sum, d.lo, d.hi)
	h.zero += d.zero
	// The pairs are ascending, the positive side's first: each side's
	// window is widened once, to its first and last index.
	pairs := d.pairs
	neg := 0
	for neg < len(pairs) && pairs[neg].i < buckets {
		neg++
	}
	for k, p := range [2][]bucketCount{pairs[:neg], pairs[neg:]} {
		if len(p) == 0 {
			continue
		}
		s, base := &h.pos, 0
		if k == 1 {
			s, base = &h.neg, buckets
		}
		s.cover(p[0].i-base, p[len(p)-1].i-base)
		for _, bc := range p {
			s.c[bc.i-base-s.off] += bc.n
		}
	}
}

// decoded is an encoded histogram read and checked.
type decoded struct {
	count, zero uint64
	sum, lo, hi float64
	pairs       []bucketCount // appended to the slice decode was given, when kept
}

// decode reads and checks b whole; the buckets are appended to pairs.
func decode(b []byte, pairs []bucketCount) (decoded, error) {
	d := decoded{pairs: pairs}
	err := d.read(b)
	return d, err
}

func (d *decoded) read(b []byte) error {
	if len(b) < 2 || b[0] != version {
		return ErrFormat
	}
	if b[1] != Schema {
		return ErrSchema
	}
	count, b, err := uvarint(b[2:])
	if err != nil {
		return err
	}
	if count == 0 {
		return trailing(b)
	}
	if len(b) < 24 {
		return ErrFormat
	}
	sum := math.Float64frombits(binary.LittleEndian.Uint64(b))
	lo := math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	hi := math.Float64frombits(binary.LittleEndian.Uint64(b[16:]))
	if !finite(sum) || !finite(lo) || !finite(hi) || lo > hi {
		return ErrFormat
	}
	zero, b, err := uvarint(b[24:])
	if err != nil {
		return err
	}
	var total uint64
	for side := range 2 {
		k, rest, err := uvarint(b)
		if err != nil || k > buckets {
			return ErrFormat
		}
		b = rest
		i := -1
		for range k {
			var gap, n uint64
			if gap, b, err = uvarint(b); err != nil || gap == 0 || gap > buckets {
				return ErrFormat
			}
			if n, b, err = uvarint(b); err != nil || n == 0 {
				return ErrFormat
			}
			i += int(gap)
			if i >= buckets || total+n < total {
				return ErrFormat
			}
			total += n
			d.pairs = append(d.pairs, bucketCount{side*buckets + i, n})
		}
	}
	if err := trailing(b); err != nil {
		return err
	}
	if total+zero != count || total+zero < zero {
		return ErrFormat
	}
	d.count, d.zero, d.sum, d.lo, d.hi = count, zero, sum, lo, hi
	return nil
}

// bucketCount is one decoded bucket: i counts the positive side's buckets
// first, then the negative side's.
type bucketCount struct {
	i int
	n uint64
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

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
