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
	// SortProcessing orders by the client's mean server processing time
	// (T3 − T2, avg_processing_seconds).
	SortProcessing SortField = "processing"
	// SortInterval orders by the client's mean request interval
	// (avg_request_interval_seconds).
	SortInterval SortField = "interval"
)

// sortColumn is the SQL expression a sort field orders by. A nullable one
// puts the rows without a value (a client with no usable latency, one with
// a single request and so no interval) last in either direction.
type sortColumn struct {
	expr     string
	nullable bool
}

// sortColumns maps each sort field to its SQL. client_ip sorts by the
// 16-byte form, so addresses order numerically (and IPv4, as
// ::ffff:a.b.c.d, sorts among IPv6 where it belongs); latency, processing
// and interval sort by the means the API shows for each client, in the SQL
// of their derived columns. Latency has an index on that expression
// (migration 0004); processing and interval have none yet and read every
// row of the selection.
var sortColumns = map[SortField]sortColumn{
	SortLastSeen:     {expr: "last_seen_timestamp"},
	SortFirstSeen:    {expr: "first_seen_timestamp"},
	SortSessionCount: {expr: "session_count"},
	SortClientIP:     {expr: "client_ip_bytes"},
	SortLatency:      {expr: avgLatencySQL, nullable: true},
	SortUnanswered:   {expr: "unanswered_count"},
	SortProcessing:   {expr: avgProcessingSQL, nullable: true},
	SortInterval:     {expr: avgIntervalSQL, nullable: true},
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
	if col.nullable {
		nulls = " NULLS LAST"
	}
	// id breaks ties so that pages never overlap or skip rows.
	return " ORDER BY " + col.expr + dir + nulls + ", id" + dir, nil
}
