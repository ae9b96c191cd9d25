package ingest

// Error kinds counted in Snapshot.ErrorsByKind. Every line or connection the
// server refuses is counted under exactly one of them, and also in
// Snapshot.ProcessingErrors.
const (
	ErrKindSyntax       = "syntax"        // not a flat JSON object
	ErrKindField        = "field"         // wrong type, missing field, invalid IP, out-of-range number
	ErrKindOversize     = "oversize"      // a line over wire.MaxLine bytes, skipped
	ErrKindUnexpected   = "unexpected"    // a valid message that has no place here (a second hello, an ack)
	ErrKindHandshake    = "handshake"     // first line not a hello: the peer is not a worker
	ErrKindProtocol     = "protocol"      // hello with a protocol version this collector does not speak
	ErrKindAuth         = "auth"          // hello with a wrong or missing token
	ErrKindBinding      = "binding"       // hello for a worker_id bound to another certificate or secret
	ErrKindHelloTimeout = "hello_timeout" // connected and said nothing (or did not finish its TLS handshake) in time
	ErrKindHelloEvicted = "hello_evicted" // closed before its hello to make room: too many peers waiting to say hello
	ErrKindIdleTimeout  = "idle_timeout"  // a worker went silent longer than the idle timeout
	ErrKindOverCapacity = "over_capacity" // refused: --max-connections reached
	ErrKindPlaintext    = "plaintext"     // plaintext to the TLS listener: closed without an answer
	ErrKindTLS          = "tls_handshake" // a TLS handshake that failed: no, expired or unknown client certificate, old TLS version
	ErrKindCommit       = "commit"        // a batch commit that failed and is being retried
)

// errKinds names the kinds, indexed by kind.
var errKinds = [...]string{ErrKindSyntax, ErrKindField, ErrKindOversize, ErrKindUnexpected,
	ErrKindHandshake, ErrKindProtocol, ErrKindAuth, ErrKindBinding, ErrKindHelloTimeout, ErrKindHelloEvicted,
	ErrKindIdleTimeout, ErrKindOverCapacity, ErrKindPlaintext, ErrKindTLS, ErrKindCommit}

const numKinds = len(errKinds)

// kind indexes into Server.errs, in the order of errKinds.
type kind int

const (
	kSyntax kind = iota
	kField
	kOversize
	kUnexpected
	kHandshake
	kProtocol
	kAuth
	kBinding
	kHelloTimeout
	kHelloEvicted
	kIdleTimeout
	kOverCapacity
	kPlaintext
	kTLS
	kCommit
)

// count counts one refused line or connection of kind k.
func (s *Server) count(k kind) { s.errs[k].Add(1) }
