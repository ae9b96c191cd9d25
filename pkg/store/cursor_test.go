package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// cursorPopulation is 300 clients from the generator's mix (ties in every
// count) and 40 without a key in the nullable orders: 20 that sent one
// mode 6 query (no latency, processing or interval) and 20 that sent one
// unanswered request; committed over two interfaces.
func cursorPopulation(t *testing.T) *Store {
	t.Helper()
	s := openTest(t, Options{})
	ss := storetest.Sessions(3000, 300, 7)
	for i := range 20 {
		ss = append(ss, sess(fmt.Sprintf("203.0.113.%d", i+1), float64(i), mode(2, 6)),
			sess(fmt.Sprintf("203.0.113.%d", i+101), float64(i)))
	}
	b := NewBatch()
	for i := range ss {
		if i%3 == 0 {
			ss[i].Interface = "eth1"
		}
		b.Add("w", ss[i].Interface, uint64(i+1), &ss[i])
	}
	if _, err := s.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return s
}

// walk pages through the list by cursor and returns the ids in order.
func walk(t *testing.T, s *Store, f ClientFilter, order Sort, size int) []int64 {
	t.Helper()
	var ids []int64
	p := Page{Number: 1, Size: size}
	for range 10000 {
		rows, next, err := s.ListClients(context.Background(), f, order, p)
		if err != nil {
			t.Fatalf("%v page after %v: %v", order, p.After, err)
		}
		for _, c := range rows {
			ids = append(ids, c.ID)
		}
		if next == nil {
			return ids
		}
		if len(rows) != size {
			t.Fatalf("%v: a page of %d rows with a next cursor; pages before the end are full", order, len(rows))
		}
		// Through the text an API client holds, as the API does.
		c, err := ParseCursor(next.String())
		if err != nil {
			t.Fatalf("ParseCursor(%q): %v", next.String(), err)
		}
		p = Page{Size: size, After: &c}
	}
	t.Fatal("walk did not end")
	return nil
}

// TestCursorWalkEqualsWholeList walks every sort order in both directions
// by cursor, with and without a filter, and gets exactly the rows of the
// whole list in its order: none twice, none skipped, across ties and the
// NULL keys of the nullable orders.
func TestCursorWalkEqualsWholeList(t *testing.T) {
	s := cursorPopulation(t)
	filters := map[string]ClientFilter{
		"all":  {},
		"eth1": {Interfaces: []string{"eth1"}},
	}
	for _, field := range SortFields() {
		for _, desc := range []bool{false, true} {
			order := Sort{Field: SortField(field), Desc: desc}
			for name, f := range filters {
				var whole []int64
				rows, next, err := s.ListClients(context.Background(), f, order, Page{Number: 1, Size: 1000})
				if err != nil {
					t.Fatal(err)
				}
				if next != nil {
					t.Fatalf("%v %s: one page of 1000 holds every row, yet a next cursor came back", order, name)
				}
				for _, c := range rows {
					whole = append(whole, c.ID)
				}
				if len(whole) < 100 {
					t.Fatalf("%v %s: only %d rows", order, name, len(whole))
				}
				if col := sortColumns[order.Field]; col.nullable {
					if nulls := countNullKeys(t, s, col); nulls < 20 {
						t.Fatalf("%v: %d rows without a key; the walk must cross into them", order, nulls)
					}
				}
				for _, size := range []int{3, 50} {
					if got := walk(t, s, f, order, size); !slices.Equal(got, whole) {
						t.Errorf("%v %s, pages of %d: %d ids by cursor, %d in the whole list; first difference at %d",
							order, name, size, len(got), len(whole), firstDiff(got, whole))
					}
				}
			}
		}
	}
}

func countNullKeys(t *testing.T, s *Store, col sortColumn) int {
	t.Helper()
	var n int
	if err := s.ReadDB().QueryRow("SELECT count(*) FROM ntp_clients WHERE " + col.expr + " IS NULL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestCursorAfterOffsetPage continues a page-number page by its cursor.
func TestCursorAfterOffsetPage(t *testing.T) {
	s := cursorPopulation(t)
	order := Sort{Field: SortLatency, Desc: true}
	first, next, err := s.ListClients(context.Background(), ClientFilter{}, order, Page{Number: 3, Size: 20})
	if err != nil || next == nil || len(first) != 20 {
		t.Fatalf("page 3: %d rows, next %v, %v", len(first), next, err)
	}
	byCursor, _, err := s.ListClients(context.Background(), ClientFilter{}, order, Page{Size: 20, After: next})
	if err != nil {
		t.Fatal(err)
	}
	byNumber, _, err := s.ListClients(context.Background(), ClientFilter{}, order, Page{Number: 4, Size: 20})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(byCursor, byNumber, func(a, b Client) bool { return a.ID == b.ID }) {
		t.Error("the page after page 3's cursor is not page 4")
	}
}

func TestParseCursorRefuses(t *testing.T) {
	good := Cursor{sort: Sort{Field: SortSessionCount, Desc: true}, key: int64(5), id: 9}.String()
	if _, err := ParseCursor(good); err != nil {
		t.Fatalf("a cursor String made: %v", err)
	}
	tests := map[string]string{
		"empty":        "",
		"not base64":   "!!!",
		"not json":     "bm90IGpzb24",                                                 // "not json"
		"version 2":    "eyJ2IjoyLCJzIjoibGFzdF9zZWVuIiwiayI6IngiLCJpIjoxfQ",          // {"v":2,"s":"last_seen","k":"x","i":1}
		"unknown sort": "eyJ2IjoxLCJzIjoibm9wZSIsImsiOjEsImkiOjF9",                    // {"v":1,"s":"nope","k":1,"i":1}
		"key type":     "eyJ2IjoxLCJzIjoic2Vzc2lvbl9jb3VudCIsImsiOiJ4IiwiaSI6MX0",     // session_count with "x"
		"null key":     "eyJ2IjoxLCJzIjoic2Vzc2lvbl9jb3VudCIsImsiOm51bGwsImkiOjF9",    // session_count with null
		"short ip":     "eyJ2IjoxLCJzIjoiY2xpZW50X2lwIiwiayI6ImMwMDAwMjAxIiwiaSI6MX0", // 4-byte key
	}
	for name, in := range tests {
		if _, err := ParseCursor(in); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: err = %v, want ErrBadCursor", name, err)
		}
	}
}

func TestCursorOfAnotherOrder(t *testing.T) {
	s := cursorPopulation(t)
	_, next, err := s.ListClients(context.Background(), ClientFilter{}, Sort{Field: SortClientIP}, Page{Number: 1, Size: 5})
	if err != nil || next == nil {
		t.Fatal(next, err)
	}
	_, _, err = s.ListClients(context.Background(), ClientFilter{}, Sort{Field: SortClientIP, Desc: true}, Page{Size: 5, After: next})
	if !errors.Is(err, ErrBadCursor) {
		t.Errorf("a client_ip asc cursor with client_ip desc: %v, want ErrBadCursor", err)
	}
}
