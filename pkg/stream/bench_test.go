package stream_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
)

// BenchmarkPublish is the stream's cost per committed session: batches of
// 100 sessions from 6,400 distinct clients gathered and published to each
// audience, every subscriber's queue taken after each batch as its writer
// would. publish-ns/event is the part on ingestion's path (Batch.Add and
// Publish), ns/event the whole (with the Takes, which run on the
// subscribers' goroutines).
//
//	go test -run '^$' -bench Publish -benchmem ./pkg/stream
func BenchmarkPublish(b *testing.B) {
	narrow := stream.Filter{Prefix: netip.MustParsePrefix("198.18.7.0/24")}
	for _, tc := range []struct {
		name    string
		filters []stream.Filter
	}{
		{"subs=1", []stream.Filter{{}}},
		{"subs=32", repeat(stream.Filter{}, 32)},
		{"subs=32@/24", repeat(narrow, 32)},
		{"subs=32-distinct", distinct(32)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const per = 100
			br := stream.New(stream.Config{MaxSubscribers: len(tc.filters)})
			defer br.Close()
			subs := make([]*stream.Subscriber, len(tc.filters))
			for i, f := range tc.filters {
				s, err := br.Subscribe(f)
				if err != nil {
					b.Fatal(err)
				}
				subs[i] = s
			}
			batches := make([][]stream.Event, 64)
			for i := range batches {
				batches[i] = make([]stream.Event, per)
				for j := range per {
					n := i*per + j
					batches[i][j] = event(uint64(n+1), fmt.Sprintf("198.18.%d.%d", n>>8&0xff, n&0xff))
				}
			}
			bufs := make([][]byte, len(subs))
			x := br.NewBatch() // reused, as the writer reuses its batches
			var spent time.Duration
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				x.Reset()
				for _, e := range batches[i%len(batches)] {
					x.Add(e.WorkerID, e.Seq, &e.Session)
				}
				br.Publish(x)
				spent += time.Since(start)
				for k, s := range subs {
					for bufs[k] = s.Take(bufs[k]); len(bufs[k]) > 0; bufs[k] = s.Take(bufs[k]) {
					}
				}
			}
			b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N*per), "publish-ns/event")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/event")
			if st := br.Stats(); st.Dropped != 0 {
				b.Fatalf("%d dropped", st.Dropped)
			}
		})
	}
}

func repeat(f stream.Filter, n int) []stream.Filter {
	out := make([]stream.Filter, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// distinct is n filters no two alike: one /24 each, the worst case for
// grouping.
func distinct(n int) []stream.Filter {
	out := make([]stream.Filter, n)
	for i := range out {
		out[i] = stream.Filter{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i), 0}), 24)}
	}
	return out
}
