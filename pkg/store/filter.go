package store

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ClientFilter selects rows of ntp_clients. The zero value selects all of
// them; every set field narrows the selection (AND), and the values inside one
// list field are alternatives (OR).
type ClientFilter struct {
	IPs         []netip.Addr   // exact addresses, any spelling; zones are ignored
	IPContains  string         // a substring of the canonical text form
	Prefixes    []netip.Prefix // CIDR ranges
	Interfaces  []string
	Versions    []int
	StratumMin  *int // of the latest response
	StratumMax  *int
	SeenAfter   time.Time // last_seen >= SeenAfter
	SeenBefore  time.Time // last_seen < SeenBefore
	MinSessions int64
	// MaxInterval, when positive, keeps the clients whose mean request
	// interval (avg_request_interval_seconds) is at most this long: those
	// polling faster. A client with fewer than two requests has no
	// interval and is left out.
	MaxInterval time.Duration
	// HasUnanswered and HasKoD select clients with (true) or without (false)
	// unanswered requests or Kiss-o'-Death replies.
	HasUnanswered *bool
	HasKoD        *bool
}

// ipBytes is the 16-byte form stored in client_ip_bytes.
func ipBytes(a netip.Addr) []byte {
	b := a.As16()
	return b[:]
}

// prefixRange is the first and last 16-byte address of p.
func prefixRange(p netip.Prefix) (lo, hi []byte) {
	p = p.Masked()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	l := p.Addr().As16()
	h := l
	for i := bits; i < 128; i++ {
		h[i/8] |= 0x80 >> (i % 8)
	}
	return l[:], h[:]
}

// Key identifies the selection: two filters with the same key select the
// same rows. Callers use it to cache counts.
func (f *ClientFilter) Key() string {
	where, args := f.where()
	return fmt.Sprintf("%s %v", where, args)
}

// where renders the filter as a WHERE clause (empty when it selects all)
// with bound arguments only.
func (f *ClientFilter) where() (string, []any) {
	var conds []string
	var args []any
	if len(f.IPs) > 0 {
		conds = append(conds, "client_ip_bytes IN ("+placeholders(len(f.IPs))+")")
		for _, a := range f.IPs {
			args = append(args, ipBytes(a))
		}
	}
	if f.IPContains != "" {
		// The text is checked by the caller to hold only address characters,
		// but escape LIKE's wildcards anyway: the filter is a plain substring.
		conds = append(conds, `client_ip LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscape(f.IPContains)+"%")
	}
	if len(f.Prefixes) > 0 {
		var ors []string
		for _, p := range f.Prefixes {
			lo, hi := prefixRange(p)
			ors = append(ors, "client_ip_bytes BETWEEN ? AND ?")
			args = append(args, lo, hi)
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if len(f.Interfaces) > 0 {
		conds = append(conds, "interface_name IN ("+placeholders(len(f.Interfaces))+")")
		for _, s := range f.Interfaces {
			args = append(args, s)
		}
	}
	if len(f.Versions) > 0 {
		conds = append(conds, "ntp_version IN ("+placeholders(len(f.Versions))+")")
		for _, v := range f.Versions {
			args = append(args, v)
		}
	}
	if f.StratumMin != nil {
		conds = append(conds, "stratum >= ?")
		args = append(args, *f.StratumMin)
	}
	if f.StratumMax != nil {
		conds = append(conds, "stratum <= ?")
		args = append(args, *f.StratumMax)
	}
	if !f.SeenAfter.IsZero() {
		conds = append(conds, "last_seen_timestamp >= ?")
		args = append(args, formatTime(f.SeenAfter))
	}
	if !f.SeenBefore.IsZero() {
		conds = append(conds, "last_seen_timestamp < ?")
		args = append(args, formatTime(f.SeenBefore))
	}
	if f.MinSessions > 0 {
		conds = append(conds, "session_count >= ?")
		args = append(args, f.MinSessions)
	}
	if f.MaxInterval > 0 {
		conds = append(conds, avgIntervalSQL+" <= ?")
		args = append(args, f.MaxInterval.Seconds())
	}
	if f.HasUnanswered != nil {
		if *f.HasUnanswered {
			conds = append(conds, "unanswered_count > 0")
		} else {
			conds = append(conds, "unanswered_count = 0")
		}
	}
	if f.HasKoD != nil {
		if *f.HasKoD {
			conds = append(conds, "kod_count > 0")
		} else {
			conds = append(conds, "kod_count = 0")
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
