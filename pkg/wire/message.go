package wire

import (
	"math"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// Protocol is the protocol version carried in hello.
const Protocol = 1

// MaxLine is the longest line either side accepts, newline included.
const MaxLine = 64 << 10

// MaxSeq is the largest sequence number: the store keeps seqs in SQLite's
// signed 64-bit integers.
const MaxSeq = math.MaxInt64

// Type names a message.
type Type uint8

// Message types, named on the wire by their String form.
const (
	TypeUnknown Type = iota
	TypeHello
	TypeWelcome
	TypeError
	TypeSession
	TypeStats
	TypeAck
)

var typeNames = [...]string{"", "hello", "welcome", "error", "session", "stats", "ack"}

func (t Type) String() string {
	if int(t) < len(typeNames) && t != TypeUnknown {
		return typeNames[t]
	}
	return "unknown"
}

// Hello opens a worker's stream.
type Hello struct {
	Protocol  int
	WorkerID  string
	Interface string
	// Token is the secret shared by every worker of a collector, when it
	// has one.
	Token string
	// Secret is the worker run's own random secret (32 bytes, hex). The
	// collector binds the worker_id to it at the first hello and refuses a
	// later hello for that id with another secret, so that knowing a
	// worker's id and the shared token is not enough to take its place.
	// Empty from workers older than the field: such a worker is accepted
	// unbound. Protocol 1 carries it as an optional key, which older
	// collectors ignore.
	Secret string
}

// Stats is a worker's periodic capture report. Every counter is a running
// total since the worker started, except Pending and Spooled, which are the
// current sizes of the pending-request table and the resend buffer.
type Stats struct {
	Time           time.Time
	Packets        uint64 // packets read from the capture
	KernelReceived uint64 // pcap ps_recv
	KernelDrops    uint64 // pcap ps_drop: ring full
	InterfaceDrops uint64 // pcap ps_ifdrop
	DecodeErrors   uint64 // frames or NTP payloads that did not decode
	Pending        uint64 // requests waiting for a response
	Evicted        uint64 // pending requests evicted by --max-pending
	Sessions       uint64 // sessions produced (answered + unanswered)
	Answered       uint64
	Unanswered     uint64
	OtherModes     uint64 // mode 1, 2, 5, 6, 7 packets reported
	Unmatched      uint64 // responses with no pending request
	Sent           uint64 // session lines written to the collector
	Acked          uint64 // highest seq acknowledged
	Lost           uint64 // sessions dropped from a full resend buffer
	Spooled        uint64 // sessions held for resend right now
	// Shed counts unanswered sessions and other-mode records not spooled
	// because the resend buffer was half full (a flood of requests): the
	// other half stays for answered sessions. An optional key: older
	// workers send none.
	Shed uint64
}

// Message is any one line of the protocol. Decode fills the fields that
// belong to Type and leaves the others as they were, so one Message can be
// reused for every line of a connection.
type Message struct {
	Type    Type
	Seq     uint64 // session, ack; welcome's last_seq
	Hello   Hello
	Error   string
	Session session.Session
	Stats   Stats
}
