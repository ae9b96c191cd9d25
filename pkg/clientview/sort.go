package clientview

import (
	"bytes"
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
)

// sortKey is one order `clients --sort` accepts.
type sortKey struct {
	name string
	// api is the API's sort_by for this order; empty while the API does not
	// offer it, and the rows are then sorted here.
	api string
	// desc is the natural direction: the one that puts what an operator
	// looks for first (the busiest, the most recent, the fastest poller).
	desc bool
	// compare orders two rows ascending; rows for which null is true
	// (nothing to compare: a client with one request has no interval) come
	// last in either direction, as the API does for latency.
	compare func(a, b *apiclient.ClientRow) int
	null    func(*apiclient.ClientRow) bool
	about   string
}

// sortKeys are the accepted orders. To map one the API starts to offer,
// set its api field.
var sortKeys = []sortKey{
	{"last_seen", "last_seen", true, byInt(func(c *apiclient.ClientRow) int64 { return c.LastSeen.UnixNano() }), nil, "most recently seen first"},
	{"first_seen", "first_seen", true, byInt(func(c *apiclient.ClientRow) int64 { return c.FirstSeen.UnixNano() }), nil, "newest clients first"},
	{"requests", "session_count", true, byInt(func(c *apiclient.ClientRow) int64 { return c.SessionCount }), nil, "busiest first"},
	{"unanswered", "unanswered", true, byInt(func(c *apiclient.ClientRow) int64 { return c.UnansweredCount }), nil, "most unanswered requests first"},
	{"address", "client_ip", false, byAddress, nil, "numerically"},
	{"latency", "latency", true, byFloat(func(c *apiclient.ClientRow) *float64 { return c.AvgLatency }), isNil(func(c *apiclient.ClientRow) *float64 { return c.AvgLatency }), "highest mean T2−T1 first"},
	{"interval", "interval", false, byFloat(func(c *apiclient.ClientRow) *float64 { return c.AvgRequestInterval }), isNil(func(c *apiclient.ClientRow) *float64 { return c.AvgRequestInterval }), "shortest mean request interval first"},
	{"processing", "processing", true, byFloat(func(c *apiclient.ClientRow) *float64 { return c.AvgProcessing }), isNil(func(c *apiclient.ClientRow) *float64 { return c.AvgProcessing }), "slowest mean T3−T2 first"},
	{"kod", "", true, byInt(func(c *apiclient.ClientRow) int64 { return c.KoDCount }), nil, "most Kiss-o'-Death answers first"},
}

func byInt(f func(*apiclient.ClientRow) int64) func(a, b *apiclient.ClientRow) int {
	return func(a, b *apiclient.ClientRow) int { return cmp.Compare(f(a), f(b)) }
}

func byFloat(f func(*apiclient.ClientRow) *float64) func(a, b *apiclient.ClientRow) int {
	return func(a, b *apiclient.ClientRow) int { return cmp.Compare(*f(a), *f(b)) }
}

func isNil(f func(*apiclient.ClientRow) *float64) func(*apiclient.ClientRow) bool {
	return func(c *apiclient.ClientRow) bool { return f(c) == nil }
}

// byAddress orders addresses as the API's client_ip does: by their 16-byte
// form, so IPv4 (::ffff:a.b.c.d) sorts among IPv6 where it belongs.
func byAddress(a, b *apiclient.ClientRow) int {
	pa, _ := netip.ParseAddr(a.ClientIP)
	pb, _ := netip.ParseAddr(b.ClientIP)
	a16, b16 := pa.As16(), pb.As16()
	return bytes.Compare(a16[:], b16[:])
}

// Order is a parsed --sort and direction.
type Order struct {
	key  *sortKey
	Desc bool
}

// Name is the order's --sort name.
func (o Order) Name() string { return o.key.name }

// APIField is the API's sort_by for the order, "" when rows are sorted here.
func (o Order) APIField() string { return o.key.api }

// Direction is "asc" or "desc".
func (o Order) Direction() string {
	if o.Desc {
		return "desc"
	}
	return "asc"
}

// ParseOrder parses a --sort name and an optional direction ("asc", "desc",
// or "" for the order's natural one).
func ParseOrder(name, direction string) (Order, error) {
	i := slices.IndexFunc(sortKeys, func(k sortKey) bool { return k.name == name })
	if i < 0 {
		return Order{}, fmt.Errorf("--sort %q: want one of %s", name, strings.Join(SortNames(), ", "))
	}
	o := Order{key: &sortKeys[i], Desc: sortKeys[i].desc}
	switch direction {
	case "":
	case "asc":
		o.Desc = false
	case "desc":
		o.Desc = true
	default:
		return Order{}, fmt.Errorf("--order %q: want asc or desc", direction)
	}
	return o, nil
}

// SortNames lists the --sort names in the table's order.
func SortNames() []string {
	out := make([]string, len(sortKeys))
	for i, k := range sortKeys {
		out[i] = k.name
	}
	return out
}

// SortHelp describes every order for a flag's usage text: name, what comes
// first, and whether the API or this program sorts.
func SortHelp() string {
	var b strings.Builder
	for i, k := range sortKeys {
		if i > 0 {
			b.WriteString("; ")
		}
		by := "API sort_by=" + k.api
		if k.api == "" {
			by = "sorted here over the most recently seen clients"
		}
		fmt.Fprintf(&b, "%s (%s; %s)", k.name, k.about, by)
	}
	return b.String()
}

// sortRows sorts rows by o, stably so that equal rows keep the API's
// (most recent first) order; rows with nothing to compare go last.
func sortRows(rows []apiclient.ClientRow, o Order) {
	k := o.key
	slices.SortStableFunc(rows, func(a, b apiclient.ClientRow) int {
		if k.null != nil {
			na, nb := k.null(&a), k.null(&b)
			switch {
			case na && nb:
				return 0
			case na:
				return 1
			case nb:
				return -1
			}
		}
		c := k.compare(&a, &b)
		if o.Desc {
			c = -c
		}
		return c
	})
}
