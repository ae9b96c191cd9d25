package session

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestAppendTime(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	check := func(tm time.Time) {
		t.Helper()
		want := tm.UTC().Format(TimeLayout)
		if got := string(AppendTime(nil, tm)); got != want {
			t.Fatalf("AppendTime(%v) = %q, want %q", tm, got, want)
		}
		if got := FormatTime(tm); got != want {
			t.Fatalf("FormatTime(%v) = %q, want %q", tm, got, want)
		}
	}
	edges := []time.Time{
		{},
		time.Unix(0, 0),
		time.Unix(-1, 999_999_999),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), // beyond four digits: AppendFormat's form
		time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(-5, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1900, 2, 28, 12, 0, 0, 1, time.UTC),
		time.Date(2000, 2, 29, 23, 59, 59, 123_456_789, time.UTC),
		time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC),                             // NTP era 1
		time.Date(2026, 11, 25, 17, 51, 41, 123456789, time.FixedZone("x", 3600)), // not UTC
	}
	for _, tm := range edges {
		check(tm)
	}
	// Every day of four 400-year cycles around the present, at a random
	// second and nanosecond.
	for d := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 3200; d = d.AddDate(0, 0, 1) {
		check(d.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))))
	}
	for range 200_000 {
		check(time.Unix(r.Int64N(maxFastUnix-minFastUnix)+minFastUnix, r.Int64N(1e9)))
	}
}

func FuzzAppendTime(f *testing.F) {
	f.Add(int64(0), int64(0))
	f.Add(int64(1764093101), int64(123456789))
	f.Add(int64(minFastUnix), int64(0))
	f.Add(int64(maxFastUnix), int64(999_999_999))
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		tm := time.Unix(sec, nsec)
		if want, got := tm.UTC().Format(TimeLayout), string(AppendTime(nil, tm)); got != want {
			t.Fatalf("AppendTime(%d, %d) = %q, want %q", sec, nsec, got, want)
		}
	})
}

func BenchmarkAppendTime(b *testing.B) {
	tm := time.Date(2026, 11, 25, 17, 51, 41, 123456789, time.UTC)
	buf := make([]byte, 0, 64)
	b.Run("fixed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendTime(buf[:0], tm)
		}
	})
	b.Run("AppendFormat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = tm.UTC().AppendFormat(buf[:0], TimeLayout)
		}
	})
}
