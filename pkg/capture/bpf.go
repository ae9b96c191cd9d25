package capture

import (
	"encoding/binary"

	"github.com/google/gopacket/pcap"
)

// bpfProgram runs a classic BPF program, as libpcap compiles it, in Go.
//
// Reading a capture file through libpcap costs a cgo call per packet, and
// libpcap filters each one in userland anyway; running the same compiled
// program here gives the same verdict for every packet (libpcap's
// bpf_filter rules: a load beyond the captured bytes or a division by zero
// rejects the packet) without leaving Go.
type bpfProgram []bpfInsn

type bpfInsn struct {
	op     uint16
	jt, jf uint8
	k      uint32
}

// Classic BPF opcodes (pcap/bpf.h), those a libpcap filter uses.
const (
	opLdWAbs  = 0x20 // BPF_LD|BPF_W|BPF_ABS
	opLdHAbs  = 0x28 // BPF_LD|BPF_H|BPF_ABS
	opLdBAbs  = 0x30 // BPF_LD|BPF_B|BPF_ABS
	opLdWLen  = 0x80 // BPF_LD|BPF_W|BPF_LEN
	opLdxWLen = 0x81 // BPF_LDX|BPF_W|BPF_LEN
	opLdWInd  = 0x40 // BPF_LD|BPF_W|BPF_IND
	opLdHInd  = 0x48 // BPF_LD|BPF_H|BPF_IND
	opLdBInd  = 0x50 // BPF_LD|BPF_B|BPF_IND
	opLdxMsh  = 0xb1 // BPF_LDX|BPF_MSH|BPF_B
	opLdImm   = 0x00 // BPF_LD|BPF_IMM
	opLdxImm  = 0x01 // BPF_LDX|BPF_IMM
	opLdMem   = 0x60 // BPF_LD|BPF_MEM
	opLdxMem  = 0x61 // BPF_LDX|BPF_MEM
	opSt      = 0x02 // BPF_ST
	opStx     = 0x03 // BPF_STX
	opJa      = 0x05 // BPF_JMP|BPF_JA
	opJgtK    = 0x25
	opJgeK    = 0x35
	opJeqK    = 0x15
	opJsetK   = 0x45
	opJgtX    = 0x2d
	opJgeX    = 0x3d
	opJeqX    = 0x1d
	opJsetX   = 0x4d
	opAddX    = 0x0c
	opSubX    = 0x1c
	opMulX    = 0x2c
	opDivX    = 0x3c
	opModX    = 0x9c
	opAndX    = 0x5c
	opOrX     = 0x4c
	opXorX    = 0xac
	opLshX    = 0x6c
	opRshX    = 0x7c
	opAddK    = 0x04
	opSubK    = 0x14
	opMulK    = 0x24
	opDivK    = 0x34
	opModK    = 0x94
	opAndK    = 0x54
	opOrK     = 0x44
	opXorK    = 0xa4
	opLshK    = 0x64
	opRshK    = 0x74
	opNeg     = 0x84
	opTax     = 0x07
	opTxa     = 0x87
	opRetK    = 0x06
	opRetA    = 0x16

	bpfMemWords = 16
)

// newBPFProgram checks a compiled program the way bpf_validate does (known
// opcodes, jumps forward and within the program, a return at the end) and
// returns it ready to run. It reports false for anything else, and the
// caller keeps filtering in libpcap.
func newBPFProgram(insns []pcap.BPFInstruction) (bpfProgram, bool) {
	n := len(insns)
	if n == 0 {
		return nil, false
	}
	p := make(bpfProgram, n)
	for i, in := range insns {
		p[i] = bpfInsn{op: in.Code, jt: in.Jt, jf: in.Jf, k: in.K}
		switch in.Code {
		case opRetK, opRetA, opLdWAbs, opLdHAbs, opLdBAbs, opLdWLen, opLdxWLen,
			opLdWInd, opLdHInd, opLdBInd, opLdxMsh, opLdImm, opLdxImm, opNeg, opTax, opTxa,
			opAddX, opSubX, opMulX, opDivX, opModX, opAndX, opOrX, opXorX, opLshX, opRshX,
			opAddK, opSubK, opMulK, opAndK, opOrK, opXorK:
		case opDivK, opModK:
			if in.K == 0 {
				return nil, false
			}
		case opLshK, opRshK:
			if in.K >= 32 {
				return nil, false
			}
		case opLdMem, opLdxMem, opSt, opStx:
			if in.K >= bpfMemWords {
				return nil, false
			}
		case opJa:
			if uint64(i)+1+uint64(in.K) >= uint64(n) {
				return nil, false
			}
		case opJgtK, opJgeK, opJeqK, opJsetK, opJgtX, opJgeX, opJeqX, opJsetX:
			if i+1+int(in.Jt) >= n || i+1+int(in.Jf) >= n {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	if last := p[n-1].op; last != opRetK && last != opRetA {
		return nil, false
	}
	return p, true
}

// match runs the program on a packet whose first len(data) bytes were
// captured out of wireLen, and reports whether it accepts the packet.
func (p bpfProgram) match(data []byte, wireLen uint32) bool {
	var a, x uint32
	var mem [bpfMemWords]uint32
	n := uint32(len(data))
	for pc := 0; pc < len(p); pc++ {
		in := &p[pc]
		switch in.op {
		case opRetK:
			return in.k != 0
		case opRetA:
			return a != 0
		case opLdWAbs:
			if in.k > n || n-in.k < 4 {
				return false
			}
			a = binary.BigEndian.Uint32(data[in.k:])
		case opLdHAbs:
			if in.k > n || n-in.k < 2 {
				return false
			}
			a = uint32(binary.BigEndian.Uint16(data[in.k:]))
		case opLdBAbs:
			if in.k >= n {
				return false
			}
			a = uint32(data[in.k])
		case opLdWInd, opLdHInd, opLdBInd:
			size := uint64(4)
			if in.op == opLdHInd {
				size = 2
			} else if in.op == opLdBInd {
				size = 1
			}
			k := uint64(x) + uint64(in.k)
			if k+size > uint64(n) {
				return false
			}
			switch size {
			case 4:
				a = binary.BigEndian.Uint32(data[k:])
			case 2:
				a = uint32(binary.BigEndian.Uint16(data[k:]))
			default:
				a = uint32(data[k])
			}
		case opLdWLen:
			a = wireLen
		case opLdxWLen:
			x = wireLen
		case opLdxMsh:
			if in.k >= n {
				return false
			}
			x = uint32(data[in.k]&0xf) << 2
		case opLdImm:
			a = in.k
		case opLdxImm:
			x = in.k
		case opLdMem:
			a = mem[in.k]
		case opLdxMem:
			x = mem[in.k]
		case opSt:
			mem[in.k] = a
		case opStx:
			mem[in.k] = x
		case opJa:
			pc += int(in.k)
		case opJgtK:
			pc += branch(a > in.k, in)
		case opJgeK:
			pc += branch(a >= in.k, in)
		case opJeqK:
			pc += branch(a == in.k, in)
		case opJsetK:
			pc += branch(a&in.k != 0, in)
		case opJgtX:
			pc += branch(a > x, in)
		case opJgeX:
			pc += branch(a >= x, in)
		case opJeqX:
			pc += branch(a == x, in)
		case opJsetX:
			pc += branch(a&x != 0, in)
		case opAddX:
			a += x
		case opSubX:
			a -= x
		case opMulX:
			a *= x
		case opDivX:
			if x == 0 {
				return false
			}
			a /= x
		case opModX:
			if x == 0 {
				return false
			}
			a %= x
		case opAndX:
			a &= x
		case opOrX:
			a |= x
		case opXorX:
			a ^= x
		case opLshX:
			if x < 32 {
				a <<= x
			} else {
				a = 0
			}
		case opRshX:
			if x < 32 {
				a >>= x
			} else {
				a = 0
			}
		case opAddK:
			a += in.k
		case opSubK:
			a -= in.k
		case opMulK:
			a *= in.k
		case opDivK:
			a /= in.k
		case opModK:
			a %= in.k
		case opAndK:
			a &= in.k
		case opOrK:
			a |= in.k
		case opXorK:
			a ^= in.k
		case opLshK:
			a <<= in.k
		case opRshK:
			a >>= in.k
		case opNeg:
			a = -a
		case opTax:
			x = a
		case opTxa:
			a = x
		default:
			return false // newBPFProgram lets none through
		}
	}
	return false
}

func branch(cond bool, in *bpfInsn) int {
	if cond {
		return int(in.jt)
	}
	return int(in.jf)
}
