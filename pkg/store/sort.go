package store

import (
	"fmt"
	"slices"
)

// SortField names a sort order the API offers. Only these reach SQL, through
// the sortColumns whitelist.
type SortField string

// Sort fields.
const (
	SortLastSeen     SortField = "last_seen"
	SortFirstSeen    SortField = "first_seen"
	SortSessionCount SortField = "session_count"
	SortClientIP     SortField = "client_ip"
	SortLatency      SortField = "latency"
	SortUnanswered   SortField = "unanswered"
)

// sortColumns maps each sort field to its SQL expression. client_ip sorts by
// the 16-byte form, so addresses order numerically (and IPv4, as
// ::ffff:a.b.c.d, sorts among IPv6 where it belongs); latency sorts by the
// client's mean latency, clients without one last in either direction.
var sortColumns = map[SortField]string{
	SortLastSeen:     "last_seen_timestamp",
	SortFirstSeen:    "first_seen_timestamp",
	SortSessionCount: "session_count",
	SortClientIP:     "client_ip_bytes",
	SortLatency:      "(latency_sum / NULLIF(latency_count, 0))",
	SortUnanswered:   "unanswered_count",
}

// SortFields lists the accepted sort fields.
func SortFields() []string {
	out := make([]string, 0, len(sortColumns))
	for k := range sortColumns {
		out = append(out, string(k))
	}
	slices.Sort(out)
	return out
}

// ValidSortField reports whether s names a sort field.
func ValidSortField(s string) bool {
	_, ok := sortColumns[SortField(s)]
	return ok
}

// Sort is an order for client lists. The zero value is last_seen ascending;
// callers normally set Desc.
type Sort struct {
	Field SortField
	Desc  bool
}

func (s Sort) orderBy() (string, error) {
	f := s.Field
	if f == "" {
		f = SortLastSeen
	}
	col, ok := sortColumns[f]
	if !ok {
		return "", fmt.Errorf("store: unknown sort field %q", f)
	}
	dir := " ASC"
	if s.Desc {
		dir = " DESC"
	}
	nulls := ""
	if f == SortLatency {
		nulls = " NULLS LAST"
	}
	// id breaks ties so that pages never overlap or skip rows.
	return " ORDER BY " + col + dir + nulls + ", id" + dir, nil
}
