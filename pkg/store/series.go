package store

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/hll"
	"github.com/ntp-monitor/ntp-monitor/pkg/loghist"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// The traffic series keeps, per interface, one bucket per minute
// (series_minute), per hour (series_hour) and per UTC day (series_day), the
// coarser ones the same minutes rolled up by the same commit. Every count
// adds and every sketch merges, so a bucket, an hour or any range of them
// is the same kind of value: a [SeriesBucket].
const (
	MinuteStep = time.Minute
	HourStep   = time.Hour
	DayStep    = 24 * time.Hour
)

// seriesTables names the table of each resolution, finest first; each
// step divides the next.
var seriesTables = []struct {
	step  time.Duration
	table string
	// deleted is the series_info column that records the cutoff before
	// which retention deleted the level's buckets; the coarsest level's
	// reads never fall back on a coarser one, and it records none.
	deleted string
}{
	{MinuteStep, "series_minute", "minutes_deleted_before"},
	{HourStep, "series_hour", "hours_deleted_before"},
	{DayStep, "series_day", ""},
}

// SeriesBucket is the traffic of one interface over one span of time: a
// stored minute or hour, or the merge of several.
//
// Distinct clients come from a HyperLogLog (package hll): exact up to
// hll.ExactLimit addresses, then within about 1.6 % (one standard error).
// The timings are log-scale histograms (package loghist, Prometheus's
// native-histogram schema 5) from which a percentile is read within
// loghist.RelativeError (1.09 %) of the exact percentile of the sessions.
type SeriesBucket struct {
	Requests, Answered, Unanswered, KoD int64
	KoDCodes                            map[string]int64
	// Versions counts requests by NTP version; index 1 to 5 are kept.
	Versions [6]int64
	// Modes counts other-mode packets by mode; 1, 2, 5, 6 and 7 are kept.
	Modes      [8]int64
	NewClients int64
	// SnaplenCut counts the sessions and other-mode packets of which the
	// capture cut a packet short after its NTP header (the worker's
	// snaplen): paired and counted all the same, their extension fields
	// or MAC unseen.
	SnaplenCut int64

	Clients                   hll.Sketch
	Processing, Wire, Latency loghist.Histogram
}

// seriesModes are the other modes a bucket keeps, as in ntp_clients.
var seriesModes = []int{1, 2, 5, 6, 7}

// fold adds one session (a request or an other-mode packet) to the bucket.
func (b *SeriesBucket) fold(s *session.Session, client netip.Addr) {
	b.Clients.Add(hll.HashAddr(client))
	if s.SnaplenCut {
		b.SnaplenCut++
	}
	if !s.IsRequest() {
		if int(s.Mode) < len(b.Modes) {
			b.Modes[s.Mode]++
		}
		return
	}
	b.Requests++
	if s.Version >= 1 && int(s.Version) < len(b.Versions) {
		b.Versions[s.Version]++
	}
	if !s.Answered {
		b.Unanswered++
		return
	}
	b.Answered++
	if s.KoD != "" {
		b.KoD++
		if b.KoDCodes == nil {
			b.KoDCodes = make(map[string]int64)
		}
		b.KoDCodes[s.KoD]++
	}
	// The collector refuses timings beyond session.MaxMetric; one that got
	// here all the same is left out, as the client row leaves out a value
	// that is not finite: sums of such values overflow to +Inf, which a
	// stored histogram may not hold, and the bucket could never be merged
	// into again.
	if metricInBounds(s.Processing) {
		b.Processing.Observe(s.Processing)
	}
	if metricInBounds(s.Total) {
		b.Wire.Observe(s.Total)
	}
	if s.LatencyValid && metricInBounds(s.Latency) {
		b.Latency.Observe(s.Latency)
	}
}

var maxMetric = session.MaxMetric.Seconds()

// metricInBounds reports whether v is a timing a valid session can carry.
func metricInBounds(v float64) bool { return v >= -maxMetric && v <= maxMetric }

// Merge adds every count and sketch of o to b.
func (b *SeriesBucket) Merge(o *SeriesBucket) {
	b.mergeCounts(o)
	b.Clients.Merge(&o.Clients)
	b.Processing.Merge(&o.Processing)
	b.Wire.Merge(&o.Wire)
	b.Latency.Merge(&o.Latency)
}

// mergeCounts adds the counts of o to b, not its sketches.
func (b *SeriesBucket) mergeCounts(o *SeriesBucket) {
	b.Requests += o.Requests
	b.Answered += o.Answered
	b.Unanswered += o.Unanswered
	b.KoD += o.KoD
	for code, n := range o.KoDCodes {
		if b.KoDCodes == nil {
			b.KoDCodes = make(map[string]int64)
		}
		b.KoDCodes[code] += n
	}
	for i := range b.Versions {
		b.Versions[i] += o.Versions[i]
	}
	for i := range b.Modes {
		b.Modes[i] += o.Modes[i]
	}
	b.NewClients += o.NewClients
	b.SnaplenCut += o.SnaplenCut
}

// reset empties the bucket, keeping the memory of its map and sketches.
func (b *SeriesBucket) reset() {
	clear(b.KoDCodes)
	b.Clients.Reset()
	b.Processing.Reset()
	b.Wire.Reset()
	b.Latency.Reset()
	b.Requests, b.Answered, b.Unanswered, b.KoD = 0, 0, 0, 0
	b.Versions, b.Modes = [6]int64{}, [8]int64{}
	b.NewClients, b.SnaplenCut = 0, 0
}

// Empty reports whether nothing was counted in the bucket.
func (b *SeriesBucket) Empty() bool {
	if b.Requests != 0 || b.NewClients != 0 || b.SnaplenCut != 0 {
		return false
	}
	for _, n := range b.Modes {
		if n != 0 {
			return false
		}
	}
	return true
}

// SeriesRowColumns are the columns of a series table after interface_name
// and bucket, in the order RowValues gives them and storedBucket scans them.
const SeriesRowColumns = seriesColumns

// seriesColumns: see SeriesRowColumns.
const seriesColumns = `requests, answered, unanswered, kod, kod_codes,
	version1, version2, version3, version4, version5,
	mode1, mode2, mode5, mode6, mode7,
	new_clients, snaplen_cut, clients, processing, wire, latency`

// storedBucket is one row of a series table as scanned, before its
// sketches are merged into a SeriesBucket.
type storedBucket struct {
	counts                       SeriesBucket // counts only
	modes                        [5]int64     // seriesModes' order
	codes                        *string
	clients, proc, wire, latency []byte
	scratch                      *[3]loghist.Decoded // the histograms as mergeStored decodes them
}

// dest are the scan targets of seriesColumns.
func (r *storedBucket) dest() []any {
	c := &r.counts
	return []any{&c.Requests, &c.Answered, &c.Unanswered, &c.KoD, &r.codes,
		&c.Versions[1], &c.Versions[2], &c.Versions[3], &c.Versions[4], &c.Versions[5],
		&r.modes[0], &r.modes[1], &r.modes[2], &r.modes[3], &r.modes[4],
		&c.NewClients, &c.SnaplenCut, &r.clients, &r.proc, &r.wire, &r.latency}
}

// mergeStored adds a scanned row to b. It checks every part before it
// changes b, so that a damaged row leaves b as it was; then it merges the
// blobs straight into b's sketches, touching only what the encodings hold
// (a histogram's used buckets, a sketch's registers), with no decoded copy
// of the row in between.
func (b *SeriesBucket) mergeStored(r *storedBucket) error {
	var codes map[string]int64
	if r.codes != nil {
		if err := json.Unmarshal([]byte(*r.codes), &codes); err != nil {
			return fmt.Errorf("kod_codes: %w", err)
		}
	}
	hists := [...]struct {
		name string
		blob []byte
		h    *loghist.Histogram
	}{
		{"processing", r.proc, &b.Processing},
		{"wire", r.wire, &b.Wire},
		{"latency", r.latency, &b.Latency},
	}
	if r.scratch == nil {
		r.scratch = new([3]loghist.Decoded)
	}
	dec := r.scratch
	for i, s := range hists {
		if s.blob == nil {
			continue
		}
		if err := dec[i].Decode(s.blob); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	// The sketch checks itself whole before it changes (hll.MergeBinary);
	// after it, the decoded histograms merge without fail.
	if r.clients != nil {
		if err := b.Clients.MergeBinary(r.clients); err != nil {
			return fmt.Errorf("clients: %w", err)
		}
	}
	for i, s := range hists {
		if s.blob != nil {
			s.h.MergeDecoded(&dec[i])
		}
	}
	c := r.counts
	c.KoDCodes = codes
	for i, mode := range seriesModes {
		c.Modes[mode] = r.modes[i]
	}
	b.mergeCounts(&c)
	return nil
}

// RowValues is the bucket as the series tables hold it: the values of
// SeriesRowColumns, in their order. The commit writes buckets with it; a
// loader that fills a series table directly (the API benchmark's month of
// synthetic buckets) writes the same encoding.
func (b *SeriesBucket) RowValues() ([]any, error) {
	var codes any
	if len(b.KoDCodes) > 0 {
		j, err := json.Marshal(b.KoDCodes)
		if err != nil {
			return nil, err
		}
		codes = string(j)
	}
	a := []any{b.Requests, b.Answered, b.Unanswered, b.KoD, codes,
		b.Versions[1], b.Versions[2], b.Versions[3], b.Versions[4], b.Versions[5]}
	for _, mode := range seriesModes {
		a = append(a, b.Modes[mode])
	}
	a = append(a, b.NewClients, b.SnaplenCut)
	if b.Clients.Count() == 0 {
		a = append(a, nil)
	} else {
		c, err := b.Clients.AppendBinary(nil)
		if err != nil {
			return nil, err
		}
		a = append(a, c)
	}
	for _, h := range []*loghist.Histogram{&b.Processing, &b.Wire, &b.Latency} {
		if h.Count() == 0 {
			a = append(a, nil)
			continue
		}
		e, err := h.AppendBinary(nil)
		if err != nil {
			return nil, err
		}
		a = append(a, e)
	}
	return a, nil
}
