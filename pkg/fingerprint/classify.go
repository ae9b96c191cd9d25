package fingerprint

// Result is the classification of one client.
type Result struct {
	Implementation Implementation
	// Confidence is the rule's, from 0 to 1: 0.9 and above for features
	// only one implementation sends, about 0.5 where two remain possible,
	// 0.1 when no rule matched.
	Confidence float64
	// Evidence names the rule and the features that decided, e.g.
	// "chrony-minimal-request: precision 32, non-zero poll, …".
	Evidence string
	// Documented is set when the rule was built from documentation or
	// source code alone, with no capture of the implementation to check
	// it against ("documented, not observed").
	Documented bool
}

// noMatch is the Result when no rule matches.
const noMatch = "no-rule: no rule matched the request"

// Classify returns the implementation that request f points to, given s,
// the summary of the client's requests (which may be nil or empty, and may
// or may not already hold f). The first rule of Rules that matches
// decides; with none, the client is Other at confidence 0.1. Classify does
// not change s.
func Classify(f Features, s *Sequence) Result {
	if s == nil {
		s = new(Sequence)
	}
	for i, r := range table.rules {
		if r.Match(f, s) {
			return table.results[i]
		}
	}
	return Result{Implementation: Other, Confidence: 0.1, Evidence: noMatch}
}
