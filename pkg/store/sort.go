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
	kind     keyKind
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
	SortLastSeen:     {expr: "last_seen_timestamp", kind: keyText},
	SortFirstSeen:    {expr: "first_seen_timestamp", kind: keyText},
	SortSessionCount: {expr: "session_count", kind: keyInt},
	SortClientIP:     {expr: "client_ip_bytes", kind: keyBlob},
	SortLatency:      {expr: avgLatencySQL, kind: keyReal, nullable: true},
	SortUnanswered:   {expr: "unanswered_count", kind: keyInt},
	SortProcessing:   {expr: avgProcessingSQL, kind: keyReal, nullable: true},
	SortInterval:     {expr: avgIntervalSQL, kind: keyReal, nullable: true},
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

// field is the sort field, last_seen when unset.
func (s Sort) field() SortField {
	if s.Field == "" {
		return SortLastSeen
	}
	return s.Field
}

// column is the SQL of s's field.
func (s Sort) column() (sortColumn, error) {
	col, ok := sortColumns[s.field()]
	if !ok {
		return sortColumn{}, fmt.Errorf("store: unknown sort field %q", s.Field)
	}
	return col, nil
}

// dir is s's direction in SQL.
func (s Sort) dir() string {
	if s.Desc {
		return " DESC"
	}
	return " ASC"
}

func (s Sort) orderBy() (string, error) {
	col, err := s.column()
	if err != nil {
		return "", err
	}
	nulls := ""
	if col.nullable {
		nulls = " NULLS LAST"
	}
	// id breaks ties so that pages never overlap or skip rows.
	return " ORDER BY " + col.expr + s.dir() + nulls + ", id" + s.dir(), nil
}
