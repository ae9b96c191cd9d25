package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// ClientFilter selects rows of ntp_clients. The zero value selects all of
// them; every set field narrows the selection (AND), and the values inside one
// list field are alternatives (OR).
type ClientFilter struct {
	IPs        []netip.Addr   // exact addresses, any spelling; zones are ignored
	IPContains string         // a substring of the canonical text form
	Prefixes   []netip.Prefix // CIDR ranges
	Interfaces []string
	Versions   []int
	StratumMin *int // of the latest response
	StratumMax *int
	SeenAfter  time.Time // last_seen >= SeenAfter
	SeenBefore time.Time // last_seen < SeenBefore
	// FirstSeenAfter and FirstSeenBefore bound first_seen the same way:
	// the clients that appeared in a window ("new today").
	FirstSeenAfter  time.Time
	FirstSeenBefore time.Time
	// UnansweredAfter keeps the clients with an unanswered request captured
	// at or after it (last_unanswered_timestamp >= UnansweredAfter): those
	// that went unanswered in the last hour, say. Rows from before that
	// column existed hold NULL and never match.
	UnansweredAfter time.Time
	MinSessions     int64
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

// byIdentity reports whether f selects by address or interface lists,
// which never change for a row and are read from an index.
func (f *ClientFilter) byIdentity() bool {
	return len(f.IPs) > 0 || len(f.Prefixes) > 0 || len(f.Interfaces) > 0
}

// withoutIdentity is f without the conditions on what never changes for a
// row: what a row selected by them must still satisfy when it is read.
func (f ClientFilter) withoutIdentity() ClientFilter {
	f.IPs, f.IPContains, f.Prefixes, f.Interfaces = nil, "", nil, nil
	return f
}

// Key identifies the selection: two filters with the same key select the
// same rows. Callers use it to cache counts.
func (f *ClientFilter) Key() string {
	where, args := f.where()
	return fmt.Sprintf("%s %v", where, args)
}

// The list filters — addresses, prefixes, interfaces, up to the API's
// 1,000 values each — reach SQLite as one bound JSON array apiece, read
// with json_each, whatever their length: the statement's text and its
// expression tree stay the same size. 1,000 prefixes written as an OR of
// BETWEENs passed SQLite's expression depth limit of 1,000 ("Expression
// tree is too large"), at the very maximum the API documents. The
// prefixes are joined to the client_ip_bytes index, one range scan each.
// A temporary table of ranges was as fast to count and list through, but
// needs a connection that may write: the read pool is query_only, which
// refuses temporary tables too. (Measured on 1,000,000 clients; the
// figures are in the README, Performance.) One value stays a plain
// comparison, so a single CIDR or interface keeps its plan (the
// interface_ip index).
//
// Rows never change their address or interface, so those conditions hold
// for good once they hold: an export selects the matching ids once
// (ExportRendered), not once per chunk.

// where renders the filter as a WHERE clause (empty when it selects all)
// with bound arguments only.
func (f *ClientFilter) where() (string, []any) {
	var conds []string
	var args []any
	switch len(f.IPs) {
	case 0:
	case 1:
		conds = append(conds, "client_ip_bytes = ?")
		args = append(args, ipBytes(f.IPs[0]))
	default:
		conds = append(conds, "client_ip_bytes IN (SELECT unhex(value) FROM json_each(?))")
		args = append(args, ipsJSON(f.IPs))
	}
	if f.IPContains != "" {
		// The text is checked by the caller to hold only address characters,
		// but escape LIKE's wildcards anyway: the filter is a plain substring.
		conds = append(conds, `client_ip LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscape(f.IPContains)+"%")
	}
	switch len(f.Prefixes) {
	case 0:
	case 1:
		lo, hi := prefixRange(f.Prefixes[0])
		conds = append(conds, "client_ip_bytes BETWEEN ? AND ?")
		args = append(args, lo, hi)
	default:
		conds = append(conds, "id IN (SELECT c.id FROM json_each(?) AS r JOIN ntp_clients AS c"+
			" ON c.client_ip_bytes BETWEEN unhex(r.value ->> 0) AND unhex(r.value ->> 1))")
		args = append(args, rangesJSON(f.Prefixes))
	}
	switch len(f.Interfaces) {
	case 0:
	case 1:
		conds = append(conds, "interface_name = ?")
		args = append(args, f.Interfaces[0])
	default:
		conds = append(conds, "interface_name IN (SELECT value FROM json_each(?))")
		args = append(args, stringsJSON(f.Interfaces))
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
	if !f.FirstSeenAfter.IsZero() {
		conds = append(conds, "first_seen_timestamp >= ?")
		args = append(args, formatTime(f.FirstSeenAfter))
	}
	if !f.FirstSeenBefore.IsZero() {
		conds = append(conds, "first_seen_timestamp < ?")
		args = append(args, formatTime(f.FirstSeenBefore))
	}
	if !f.UnansweredAfter.IsZero() {
		conds = append(conds, "last_unanswered_timestamp >= ?")
		args = append(args, formatTime(f.UnansweredAfter))
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

// ipsJSON is the addresses' 16-byte forms as a JSON array of hex strings.
func ipsJSON(ips []netip.Addr) string {
	b := []byte{'['}
	for i, a := range ips {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = hex.AppendEncode(b, ipBytes(a))
		b = append(b, '"')
	}
	return string(append(b, ']'))
}

// rangesJSON is the prefixes' address ranges, sorted and with overlapping
// ones merged, as a JSON array of [first, last] pairs of hex strings.
func rangesJSON(ps []netip.Prefix) string {
	type span struct{ lo, hi []byte }
	spans := make([]span, len(ps))
	for i, p := range ps {
		spans[i].lo, spans[i].hi = prefixRange(p)
	}
	slices.SortFunc(spans, func(a, b span) int { return bytes.Compare(a.lo, b.lo) })
	merged := spans[:0]
	for _, sp := range spans {
		if n := len(merged); n > 0 && bytes.Compare(sp.lo, merged[n-1].hi) <= 0 {
			if bytes.Compare(sp.hi, merged[n-1].hi) > 0 {
				merged[n-1].hi = sp.hi
			}
			continue
		}
		merged = append(merged, sp)
	}
	b := []byte{'['}
	for i, sp := range merged {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = hex.AppendEncode(b, sp.lo)
		b = append(b, `","`...)
		b = hex.AppendEncode(b, sp.hi)
		b = append(b, `"]`...)
	}
	return string(append(b, ']'))
}

// stringsJSON is ss as a JSON array.
func stringsJSON(ss []string) string {
	b, err := json.Marshal(ss)
	if err != nil {
		panic(err) // a []string always encodes
	}
	return string(b)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
