package store

import (
	"cmp"
	"context"
	"database/sql"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// derivedPopulation commits clients whose derived values are known and
// distinct, and returns the store:
//
//	198.51.100.1  3 answered, 10 s apart    interval 10      processing 2 ms
//	198.51.100.2  2 answered, 64 s apart    interval 64      processing 0.5 ms
//	198.51.100.3  1 answered                no interval      processing 4 ms
//	198.51.100.4  4 unanswered, 1 s apart   interval 1       no processing
//	198.51.100.5  2 KoD answers, 30 s apart interval 30      processing 0.1 ms, answer ratio 0
//	198.51.100.6  mode 6 packets only       no requests: no interval, ratio or processing
//	198.51.100.7  2 answered 5.0005 s apart interval 5.0005  processing 1 ms (sub-millisecond times)
func derivedPopulation(t *testing.T) *Store {
	t.Helper()
	s := openTest(t, Options{})
	commitAll(t, s, "w", 1,
		sess("198.51.100.1", 0, answered(0.01, 0.001, 0.002)),
		sess("198.51.100.1", 10, answered(0.01, 0.002, 0.003)),
		sess("198.51.100.1", 20, answered(0.01, 0.003, 0.004)),
		sess("198.51.100.2", 100, answered(-1, 0.0005, 0.001)),
		sess("198.51.100.2", 164, answered(-1, 0.0005, 0.001)),
		sess("198.51.100.3", 5, answered(0.02, 0.004, 0.005)),
		sess("198.51.100.4", 50),
		sess("198.51.100.4", 51),
		sess("198.51.100.4", 52),
		sess("198.51.100.4", 53),
		sess("198.51.100.5", 200, answered(-1, 0.0001, 0.0002), kod("RATE")),
		sess("198.51.100.5", 230, answered(-1, 0.0001, 0.0002), kod("RATE")),
		sess("198.51.100.6", 300, mode(2, 6)),
		sess("198.51.100.6", 301, mode(2, 6)),
		sess("198.51.100.7", 400.0004, answered(0.01, 0.001, 0.002)),
		sess("198.51.100.7", 405.0009, answered(0.01, 0.001, 0.002)),
	)
	return s
}

func allClients(t *testing.T, s *Store, f ClientFilter, order Sort) []Client {
	t.Helper()
	out, _, err := s.ListClients(context.Background(), f, order, Page{Number: 1, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDerivedColumnsSQL holds each derived column's SQL to its Go value
// over stored rows: null in the same rows, equal elsewhere (to rounding).
func TestDerivedColumnsSQL(t *testing.T) {
	s := derivedPopulation(t)
	rows := allClients(t, s, ClientFilter{}, Sort{Field: SortClientIP})
	if len(rows) != 7 {
		t.Fatalf("%d rows, want 7", len(rows))
	}
	for _, d := range DerivedColumns() {
		for i := range rows {
			c := &rows[i]
			var got sql.NullFloat64
			if err := s.ReadDB().QueryRow("SELECT "+d.expr+" FROM ntp_clients WHERE id = ?", c.ID).Scan(&got); err != nil {
				t.Fatalf("%s: %v", d.Name, err)
			}
			want, ok := d.Value(c)
			if got.Valid != ok || ok && math.Abs(got.Float64-want) > 1e-12*math.Abs(want) {
				t.Errorf("%s of %s: SQL %v (valid %v), Go %v (valid %v)", d.Name, c.ClientIP, got.Float64, got.Valid, want, ok)
			}
		}
	}
}

// TestAnswerRatioExcludesKoD: a Kiss-o'-Death is a refusal, not an answer.
func TestAnswerRatioExcludesKoD(t *testing.T) {
	s := derivedPopulation(t)
	want := map[string]float64{"198.51.100.1": 1, "198.51.100.4": 0, "198.51.100.5": 0}
	for _, c := range allClients(t, s, ClientFilter{}, Sort{}) {
		r, ok := c.AnswerRatio()
		if w, listed := want[c.ClientIP]; listed && (!ok || r != w) {
			t.Errorf("%s (answered %d, KoD %d of %d): answer ratio %v, %v; want %v", c.ClientIP,
				c.AnsweredCount, c.KoDCount, c.Requests(), r, ok, w)
		}
		if c.ClientIP == "198.51.100.6" && ok {
			t.Errorf("%s has no requests but an answer ratio %v", c.ClientIP, r)
		}
	}
}

// TestSortByDerived: processing and interval order the list by the means
// the rows show, clients without one last in both directions.
func TestSortByDerived(t *testing.T) {
	s := derivedPopulation(t)
	tests := []struct {
		order Sort
		want  string // last octets, in order
	}{
		{Sort{Field: SortProcessing, Desc: true}, "3 1 7 2 5 6 4"},
		{Sort{Field: SortProcessing}, "5 2 7 1 3 4 6"},
		{Sort{Field: SortInterval}, "4 7 1 5 2 3 6"},
		{Sort{Field: SortInterval, Desc: true}, "2 5 1 7 4 6 3"},
	}
	for _, tc := range tests {
		t.Run(string(tc.order.Field)+map[bool]string{true: " desc", false: " asc"}[tc.order.Desc], func(t *testing.T) {
			var got []string
			for _, c := range allClients(t, s, ClientFilter{}, tc.order) {
				got = append(got, c.ClientIP[strings.LastIndexByte(c.ClientIP, '.')+1:])
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("order %s, want %s", strings.Join(got, " "), tc.want)
			}
		})
	}
	// The same order page by page: ties and nulls never make a row appear
	// twice or not at all.
	for _, f := range []SortField{SortProcessing, SortInterval} {
		var paged []int64
		for p := 1; p <= 4; p++ {
			rows, _, err := s.ListClients(context.Background(), ClientFilter{}, Sort{Field: f, Desc: true}, Page{Number: p, Size: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range rows {
				paged = append(paged, c.ID)
			}
		}
		var whole []int64
		for _, c := range allClients(t, s, ClientFilter{}, Sort{Field: f, Desc: true}) {
			whole = append(whole, c.ID)
		}
		if !slices.Equal(paged, whole) {
			t.Errorf("%s: pages of 2 give %v, one page %v", f, paged, whole)
		}
	}
}

// TestMaxInterval keeps the clients polling at least as fast as the bound,
// in the list and in its count, and agrees with the intervals the rows show.
func TestMaxInterval(t *testing.T) {
	s := derivedPopulation(t)
	everyone := allClients(t, s, ClientFilter{}, Sort{})
	tests := []struct {
		max  time.Duration
		want string
	}{
		{500 * time.Millisecond, ""},
		{time.Second, "4"},
		{5 * time.Second, "4"}, // 7's 5.0005 s is over it
		{5001 * time.Millisecond, "4 7"},
		{30 * time.Second, "1 4 5 7"},
		{time.Hour, "1 2 4 5 7"},
	}
	for _, tc := range tests {
		f := ClientFilter{MaxInterval: tc.max}
		var got []string
		for _, c := range allClients(t, s, f, Sort{Field: SortClientIP}) {
			got = append(got, c.ClientIP[strings.LastIndexByte(c.ClientIP, '.')+1:])
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("max interval %v: clients %s, want %s", tc.max, strings.Join(got, " "), tc.want)
		}
		n, err := s.CountClients(context.Background(), f)
		if err != nil || n != int64(len(got)) {
			t.Errorf("max interval %v: count %d, %v; the list has %d", tc.max, n, err, len(got))
		}
		// What the rows say of themselves.
		var byGo []string
		for _, c := range slices.SortedFunc(slices.Values(everyone), func(a, b Client) int { return cmp.Compare(a.ClientIP, b.ClientIP) }) {
			if v, ok := c.AvgRequestInterval(); ok && v <= tc.max.Seconds() {
				byGo = append(byGo, c.ClientIP[strings.LastIndexByte(c.ClientIP, '.')+1:])
			}
		}
		if !slices.Equal(byGo, got) {
			t.Errorf("max interval %v: the rows' own intervals select %v, the filter %v", tc.max, byGo, got)
		}
	}
}
