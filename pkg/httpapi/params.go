package httpapi

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// Limits of the request parameters.
const (
	defaultPageSize = 20
	maxPageSize     = 1000
	// maxPage keeps page × page_size far from overflow and from offsets no
	// list could reach.
	maxPage = 10_000_000
	// maxListValues bounds each list in a search filter.
	maxListValues = 1000
	// maxIntervalSeconds bounds max_interval: ten years between requests
	// is beyond any client worth finding, and far from Duration's limit.
	maxIntervalSeconds = 10 * 365 * 24 * 3600
)

// query reads query parameters, refusing ones the endpoint does not know
// (a misspelt filter would otherwise silently select everything) and
// repeated ones.
type query struct {
	v url.Values
}

func newQuery(c *gin.Context, allowed ...string) (query, error) {
	return newQueryRepeating(c, nil, allowed...)
}

// newQueryRepeating is newQuery for an endpoint whose parameters named in
// repeating may be given more than once (q.all reads them).
func newQueryRepeating(c *gin.Context, repeating []string, allowed ...string) (query, error) {
	return parseQuery(c.Request.URL.RawQuery, repeating, allowed...)
}

// parseQuery is newQueryRepeating of a raw query string.
func parseQuery(raw string, repeating []string, allowed ...string) (query, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return query{}, &validationError{code: CodeInvalidParameter, msg: "malformed query string: " + err.Error()}
	}
	for k, vals := range v {
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
				break
			}
		}
		if !known {
			return query{}, paramErr(k, "unknown query parameter; accepted: %s", strings.Join(allowed, ", "))
		}
		if len(vals) > 1 && !slices.Contains(repeating, k) {
			return query{}, paramErr(k, "given %d times; give it once", len(vals))
		}
	}
	return query{v}, nil
}

// all is every value of a repeatable parameter, nil when it is absent.
func (q query) all(name string) []string { return q.v[name] }

func (q query) str(name string) (string, bool) {
	vals, ok := q.v[name]
	if !ok {
		return "", false
	}
	return vals[0], true
}

func (q query) intIn(name string, def, lo, hi int) (int, error) {
	s, ok := q.str(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, paramErr(name, "%q is not an integer", s)
	}
	if n < lo || n > hi {
		return 0, paramErr(name, "%d is out of range %d–%d", n, lo, hi)
	}
	return n, nil
}

func (q query) seconds(name string) (time.Duration, error) {
	s, ok := q.str(name)
	if !ok {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, paramErr(name, "%q is not a number of seconds", s)
	}
	return checkSeconds(name, v, paramErr)
}

// checkSeconds validates a positive number of seconds such as max_interval.
func checkSeconds(field string, v float64, mk func(string, string, ...any) error) (time.Duration, error) {
	if !(v > 0 && v <= maxIntervalSeconds) {
		return 0, mk(field, "%v is out of range: more than 0 and at most %d seconds", v, maxIntervalSeconds)
	}
	return time.Duration(v * float64(time.Second)), nil
}

func (q query) time(name string) (time.Time, error) {
	s, ok := q.str(name)
	if !ok {
		return time.Time{}, nil
	}
	return parseTime(name, s, paramErr)
}

func parseTime(field, s string, mk func(string, string, ...any) error) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, mk(field, "%q is not an RFC 3339 time such as 2026-11-25T17:00:00Z", s)
	}
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, mk(field, "%q is out of range", s)
	}
	return t.UTC(), nil
}

// parseAddr parses an address in any valid spelling. A zone (fe80::1%eth0)
// is dropped: the store keeps addresses without one.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone(""), true
}

// checkIPSearch validates a search_ip substring: only characters that occur
// in canonical address text, lower-cased as the store writes them.
func checkIPSearch(field, s string, mk func(string, string, ...any) error) (string, error) {
	if s == "" || len(s) > 45 {
		return "", mk(field, "must be 1–45 characters of an IP address")
	}
	s = strings.ToLower(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '.' || c == ':') {
			return "", mk(field, "%q may hold only hex digits, '.' and ':'", s)
		}
	}
	return s, nil
}

func checkInterfaceName(field, s string, mk func(string, string, ...any) error) error {
	if s == "" || len(s) > session.MaxInterfaceLen || !utf8.ValidString(s) {
		return mk(field, "must be 1–%d bytes of UTF-8", session.MaxInterfaceLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return mk(field, "contains a control character")
		}
	}
	return nil
}

func parsePrefix(field, s string, mk func(string, string, ...any) error) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, mk(field, "%q is not a CIDR prefix such as 192.0.2.0/24 or 2001:db8::/32", s)
	}
	return p, nil
}

// listParams are the query parameters of GET /history/clients.
type listParams struct {
	filter store.ClientFilter
	sort   store.Sort
	page   store.Page
}

var listQueryNames = []string{"page", "page_size", "cursor", "search_ip", "cidr", "interface_name", "ntp_version",
	"seen_after", "seen_before", "first_seen_after", "first_seen_before",
	"unanswered_after", "max_interval", "sort_by", "sort_order"}

func parseListQuery(c *gin.Context) (listParams, error) {
	var p listParams
	q, err := newQuery(c, listQueryNames...)
	if err != nil {
		return p, err
	}
	if p.page.Number, err = q.intIn("page", 1, 1, maxPage); err != nil {
		return p, err
	}
	if p.page.Size, err = q.intIn("page_size", defaultPageSize, 1, maxPageSize); err != nil {
		return p, err
	}
	if s, ok := q.str("search_ip"); ok {
		if p.filter.IPContains, err = checkIPSearch("search_ip", s, paramErr); err != nil {
			return p, err
		}
	}
	if s, ok := q.str("cidr"); ok {
		pr, err := parsePrefix("cidr", s, paramErr)
		if err != nil {
			return p, err
		}
		p.filter.Prefixes = []netip.Prefix{pr}
	}
	if s, ok := q.str("interface_name"); ok {
		if err := checkInterfaceName("interface_name", s, paramErr); err != nil {
			return p, err
		}
		p.filter.Interfaces = []string{s}
	}
	if _, ok := q.str("ntp_version"); ok {
		v, err := q.intIn("ntp_version", 0, 0, 7)
		if err != nil {
			return p, err
		}
		p.filter.Versions = []int{v}
	}
	if p.filter.SeenAfter, err = q.time("seen_after"); err != nil {
		return p, err
	}
	if p.filter.SeenBefore, err = q.time("seen_before"); err != nil {
		return p, err
	}
	if p.filter.FirstSeenAfter, err = q.time("first_seen_after"); err != nil {
		return p, err
	}
	if p.filter.FirstSeenBefore, err = q.time("first_seen_before"); err != nil {
		return p, err
	}
	if p.filter.UnansweredAfter, err = q.time("unanswered_after"); err != nil {
		return p, err
	}
	if err := checkWindow(&p.filter, "", paramErr); err != nil {
		return p, err
	}
	if p.filter.MaxInterval, err = q.seconds("max_interval"); err != nil {
		return p, err
	}
	by, _ := q.str("sort_by")
	order, _ := q.str("sort_order")
	if p.sort, err = parseSort("sort_by", "sort_order", by, order, paramErr); err != nil {
		return p, err
	}
	if s, ok := q.str("cursor"); ok {
		_, numbered := q.str("page")
		if p.page.After, err = parseCursor("cursor", s, numbered, p.sort, paramErr); err != nil {
			return p, err
		}
	}
	return p, nil
}

// parseCursor decodes a next_cursor the API handed out and checks that it
// continues the requested order. A page number beside it is refused: the
// two select a page in different ways.
func parseCursor(field, s string, numbered bool, order store.Sort, mk func(string, string, ...any) error) (*store.Cursor, error) {
	if numbered {
		return nil, mk(field, "give either a cursor or a page number, not both")
	}
	c, err := store.ParseCursor(s)
	if err == nil {
		err = c.Continues(order)
	}
	if err != nil {
		return nil, mk(field, "%s", strings.TrimPrefix(err.Error(), store.ErrBadCursor.Error()+": "))
	}
	return &c, nil
}

// checkWindow refuses an empty time window: a ..._before not later than
// its ..._after. prefix is put before the field names ("filters." in a
// body).
func checkWindow(f *store.ClientFilter, prefix string, mk func(string, string, ...any) error) error {
	if !f.SeenAfter.IsZero() && !f.SeenBefore.IsZero() && !f.SeenAfter.Before(f.SeenBefore) {
		return mk(prefix+"seen_before", "must be later than seen_after")
	}
	if !f.FirstSeenAfter.IsZero() && !f.FirstSeenBefore.IsZero() && !f.FirstSeenAfter.Before(f.FirstSeenBefore) {
		return mk(prefix+"first_seen_before", "must be later than first_seen_after")
	}
	return nil
}

// parseSort validates a sort field and order; the default is last_seen,
// newest first.
func parseSort(byField, orderField, by, order string, mk func(string, string, ...any) error) (store.Sort, error) {
	s := store.Sort{Field: store.SortLastSeen, Desc: true}
	if by != "" {
		if !store.ValidSortField(by) {
			return s, mk(byField, "%q is not one of %s", by, strings.Join(store.SortFields(), ", "))
		}
		s.Field = store.SortField(by)
	}
	switch order {
	case "", "desc":
	case "asc":
		s.Desc = false
	default:
		return s, mk(orderField, "%q is not asc or desc", order)
	}
	return s, nil
}

// filtersBody is the "filters" object of search and export.
//
// client_ip and interface_name are the seed's spellings of one address
// and one interface: each adds its value to the list of the plural field,
// so either spelling, or both, select the same way.
type filtersBody struct {
	ClientIPs       []string     `json:"client_ips"`
	ClientIP        *string      `json:"client_ip"`
	SearchIP        *string      `json:"search_ip"`
	InterfaceNames  []string     `json:"interface_names"`
	InterfaceName   *string      `json:"interface_name"`
	CIDRs           []string     `json:"cidrs"`
	NTPVersions     []int        `json:"ntp_versions"`
	Stratum         *stratumBody `json:"stratum"`
	SeenAfter       *string      `json:"seen_after"`
	SeenBefore      *string      `json:"seen_before"`
	FirstSeenAfter  *string      `json:"first_seen_after"`
	FirstSeenBefore *string      `json:"first_seen_before"`
	UnansweredAfter *string      `json:"unanswered_after"`
	MinSessions     *int64       `json:"min_sessions"`
	MaxInterval     *float64     `json:"max_interval"`
	HasUnanswered   *bool        `json:"has_unanswered"`
	HasKoD          *bool        `json:"has_kod"`
}

type stratumBody struct {
	Min *int `json:"min"`
	Max *int `json:"max"`
}

func (b *filtersBody) filter(prefix string) (store.ClientFilter, error) {
	var f store.ClientFilter
	if b == nil {
		return f, nil
	}
	name := func(s string) string { return prefix + s }
	lists := map[string]int{"client_ips": len(b.ClientIPs), "interface_names": len(b.InterfaceNames),
		"cidrs": len(b.CIDRs), "ntp_versions": len(b.NTPVersions)}
	for k, n := range lists {
		if n > maxListValues {
			return f, bodyErr(name(k), "%d values; at most %d", n, maxListValues)
		}
	}
	for i, s := range b.ClientIPs {
		a, ok := parseAddr(s)
		if !ok {
			return f, bodyErr(fmt.Sprintf("%s[%d]", name("client_ips"), i), "%q is not an IP address", s)
		}
		f.IPs = append(f.IPs, a)
	}
	if b.ClientIP != nil {
		a, ok := parseAddr(*b.ClientIP)
		if !ok {
			return f, bodyErr(name("client_ip"), "%q is not an IP address", *b.ClientIP)
		}
		f.IPs = append(f.IPs, a)
	}
	if b.SearchIP != nil {
		s, err := checkIPSearch(name("search_ip"), *b.SearchIP, bodyErr)
		if err != nil {
			return f, err
		}
		f.IPContains = s
	}
	for i, s := range b.InterfaceNames {
		if err := checkInterfaceName(fmt.Sprintf("%s[%d]", name("interface_names"), i), s, bodyErr); err != nil {
			return f, err
		}
		f.Interfaces = append(f.Interfaces, s)
	}
	if b.InterfaceName != nil {
		if err := checkInterfaceName(name("interface_name"), *b.InterfaceName, bodyErr); err != nil {
			return f, err
		}
		f.Interfaces = append(f.Interfaces, *b.InterfaceName)
	}
	for i, s := range b.CIDRs {
		p, err := parsePrefix(fmt.Sprintf("%s[%d]", name("cidrs"), i), s, bodyErr)
		if err != nil {
			return f, err
		}
		f.Prefixes = append(f.Prefixes, p)
	}
	for i, v := range b.NTPVersions {
		if v < 0 || v > 7 {
			return f, bodyErr(fmt.Sprintf("%s[%d]", name("ntp_versions"), i), "%d is out of range 0–7", v)
		}
		f.Versions = append(f.Versions, v)
	}
	if b.Stratum != nil {
		if m := b.Stratum.Min; m != nil {
			if *m < 0 || *m > 255 {
				return f, bodyErr(name("stratum.min"), "%d is out of range 0–255", *m)
			}
			f.StratumMin = m
		}
		if m := b.Stratum.Max; m != nil {
			if *m < 0 || *m > 255 {
				return f, bodyErr(name("stratum.max"), "%d is out of range 0–255", *m)
			}
			f.StratumMax = m
		}
		if f.StratumMin != nil && f.StratumMax != nil && *f.StratumMin > *f.StratumMax {
			return f, bodyErr(name("stratum"), "min %d is above max %d", *f.StratumMin, *f.StratumMax)
		}
	}
	var err error
	if b.SeenAfter != nil {
		if f.SeenAfter, err = parseTime(name("seen_after"), *b.SeenAfter, bodyErr); err != nil {
			return f, err
		}
	}
	if b.SeenBefore != nil {
		if f.SeenBefore, err = parseTime(name("seen_before"), *b.SeenBefore, bodyErr); err != nil {
			return f, err
		}
	}
	if b.FirstSeenAfter != nil {
		if f.FirstSeenAfter, err = parseTime(name("first_seen_after"), *b.FirstSeenAfter, bodyErr); err != nil {
			return f, err
		}
	}
	if b.FirstSeenBefore != nil {
		if f.FirstSeenBefore, err = parseTime(name("first_seen_before"), *b.FirstSeenBefore, bodyErr); err != nil {
			return f, err
		}
	}
	if b.UnansweredAfter != nil {
		if f.UnansweredAfter, err = parseTime(name("unanswered_after"), *b.UnansweredAfter, bodyErr); err != nil {
			return f, err
		}
	}
	if err := checkWindow(&f, name(""), bodyErr); err != nil {
		return f, err
	}
	if b.MinSessions != nil {
		if *b.MinSessions < 0 {
			return f, bodyErr(name("min_sessions"), "%d is negative", *b.MinSessions)
		}
		f.MinSessions = *b.MinSessions
	}
	if b.MaxInterval != nil {
		if f.MaxInterval, err = checkSeconds(name("max_interval"), *b.MaxInterval, bodyErr); err != nil {
			return f, err
		}
	}
	f.HasUnanswered = b.HasUnanswered
	f.HasKoD = b.HasKoD
	return f, nil
}
