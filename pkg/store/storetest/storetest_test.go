package storetest

import (
	"net/netip"
	"testing"
	"time"
)

func TestClientDistinct(t *testing.T) {
	const n = 300000 // past the end of the IPv4 range
	seen := make(map[netip.Addr]int, n)
	v4 := 0
	for i := range n {
		a := Client(i)
		if j, dup := seen[a]; dup {
			t.Fatalf("Client(%d) = Client(%d) = %s", i, j, a)
		}
		seen[a] = i
		switch {
		case a.Is4():
			v4++
			if !netip.MustParsePrefix("198.18.0.0/15").Contains(a) {
				t.Fatalf("Client(%d) = %s, outside 198.18.0.0/15", i, a)
			}
		case !netip.MustParsePrefix("2001:db8::/32").Contains(a):
			t.Fatalf("Client(%d) = %s, outside 2001:db8::/32", i, a)
		}
	}
	if v4 != 1<<17 {
		t.Errorf("%d IPv4 clients, want %d", v4, 1<<17)
	}
}

func TestLatencies(t *testing.T) {
	var l Latencies
	if l.Percentile(50) != 0 {
		t.Error("empty Percentile not 0")
	}
	for i := 100; i >= 1; i-- {
		l = append(l, time.Duration(i))
	}
	if l.Percentile(50) != 50 || l.Percentile(99) != 99 || l.Percentile(100) != 100 {
		t.Errorf("p50, p99, p100 = %d, %d, %d", l.Percentile(50), l.Percentile(99), l.Percentile(100))
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	a, b := Sessions(500, 50, 9), Sessions(500, 50, 9)
	kinds := map[string]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("session %d differs between runs with the same seed", i)
		}
		switch {
		case !a[i].IsRequest():
			kinds["other"]++
		case a[i].KoD != "":
			kinds["kod"]++
		case a[i].Answered:
			kinds["answered"]++
		default:
			kinds["unanswered"]++
		}
	}
	for _, k := range []string{"other", "answered", "unanswered"} {
		if kinds[k] == 0 {
			t.Errorf("no %s sessions in 500: %v", k, kinds)
		}
	}
}
