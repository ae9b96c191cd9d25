package httpapi

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ntp-monitor/ntp-monitor/pkg/buildinfo"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
)

// Metrics is the collector's Prometheus exporter, on a registry of its own
// (no global state). Ingestion counters, queue depth and worker capture
// counters are read from the ingestion snapshot at scrape time and the
// workers' ones folded by interface (metrics_workers.go); batch latency is
// a histogram fed through ObserveBatch; client counts come from the store
// at scrape time.
type Metrics struct {
	reg          *prometheus.Registry
	batchSeconds prometheus.Histogram
	batchSize    prometheus.Histogram
	workers      *workerSeries
	committed    *committedTraffic

	mu     sync.Mutex
	store  *store.Store
	ingest Ingest
	stream *stream.Broadcaster
}

// NewMetrics makes the exporter. Pass it in Config.Metrics, its
// ObserveBatch to the ingestion server's OnBatch hook and its
// ObserveCommit to OnCommit (metrics_committed.go).
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), workers: newWorkerSeries(MaxInterfaceSeries)}
	m.committed = newCommittedTraffic(m.workers.label)
	m.batchSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "ntp_collector_batch_commit_seconds",
		Help: "Time to commit one batch of sessions to the store.",
		// 0.5 ms to ~4 s: a batch of 100 takes about a millisecond, a slow
		// disk or a fsync per commit much more.
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	m.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ntp_collector_batch_sessions",
		Help:    "Sessions per committed batch.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 9),
	})
	m.reg.MustRegister(m.batchSeconds, m.batchSize, (*scrapeCollector)(m), m.committed, buildInfoGauge(buildinfo.Read()),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// buildInfoGauge is ntp_build_info: always 1, its labels say which build
// runs, so that a dashboard can show the version and an alert can join on
// it (count by (version) (ntp_build_info) during an upgrade).
func buildInfoGauge(b buildinfo.Info) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "ntp_build_info",
		Help:        "The collector's build: version, commit and Go version as labels; the value is 1.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion},
	})
	g.Set(1)
	return g
}

// ObserveBatch records one committed batch; its signature matches the
// ingestion server's OnBatch hook.
func (m *Metrics) ObserveBatch(sessions, rows int, d time.Duration) {
	m.batchSeconds.Observe(d.Seconds())
	m.batchSize.Observe(float64(sessions))
}

// Registry is the registry the exporter serves, for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func (m *Metrics) attach(s *store.Store, in Ingest, b *stream.Broadcaster) {
	m.mu.Lock()
	m.store, m.ingest, m.stream = s, in, b
	m.mu.Unlock()
}

var (
	descReceived   = prometheus.NewDesc("ntp_collector_sessions_received_total", "Session lines received and decoded.", nil, nil)
	descProcessed  = prometheus.NewDesc("ntp_collector_sessions_processed_total", "Sessions taken off the queue by the writer.", nil, nil)
	descCommitted  = prometheus.NewDesc("ntp_collector_sessions_committed_total", "Sessions committed to the store.", nil, nil)
	descDuplicates = prometheus.NewDesc("ntp_collector_duplicates_skipped_total", "Resent sessions skipped as already committed.", nil, nil)
	descInserted   = prometheus.NewDesc("ntp_collector_rows_inserted_total", "Client rows created.", nil, nil)
	descUpdated    = prometheus.NewDesc("ntp_collector_rows_updated_total", "Client rows updated.", nil, nil)
	descBatches    = prometheus.NewDesc("ntp_collector_batches_committed_total", "Batches committed.", nil, nil)
	descCommitFail = prometheus.NewDesc("ntp_collector_commit_failures_total", "Failed commit attempts.", nil, nil)
	descErrors     = prometheus.NewDesc("ntp_collector_processing_errors_total", "Refused lines and connections, by kind.", []string{"kind"}, nil)
	descRejected   = prometheus.NewDesc("ntp_ingest_rejected_total", "Sessions refused (acknowledged, not stored), by reason: a field out of its physical bounds, or client_limit and client_limit_answered for new clients beyond --max-clients.", []string{"reason"}, nil)
	descRefused    = prometheus.NewDesc("ntp_ingest_clients_refused_total", "New client rows kept out by --max-clients, counted per batch.", nil, nil)
	descQueue      = prometheus.NewDesc("ntp_collector_queue_sessions", "Sessions waiting in the ingestion queue.", nil, nil)
	descQueueCap   = prometheus.NewDesc("ntp_collector_queue_capacity_sessions", "Capacity of the ingestion queue.", nil, nil)
	descWorkers    = prometheus.NewDesc("ntp_collector_connected_workers", "Workers connected now.", nil, nil)
	descListenerUp = prometheus.NewDesc("ntp_collector_listener_up", "1 when the ingestion listener accepts connections.", nil, nil)
	descWriterUp   = prometheus.NewDesc("ntp_collector_writer_alive", "1 when the batch writer runs.", nil, nil)
	descWorkerLag  = prometheus.NewDesc("ntp_worker_unacked_sessions", "Sessions received from the interface's workers and not yet committed.", workerLabels, nil)

	// The worker series are labelled by interface, not by the random id
	// of each worker run: a label per run made one new series per restart,
	// and /metrics grew without bound (363 KB after 2,000 runs).
	workerLabels = []string{"interface"}
	descPackets  = prometheus.NewDesc("ntp_worker_packets_total", "Packets the interface's workers read from their capture.", workerLabels, nil)
	descKDrops   = prometheus.NewDesc("ntp_worker_kernel_drops_total", "Packets the kernel dropped (pcap ps_drop).", workerLabels, nil)
	descIfDrops  = prometheus.NewDesc("ntp_worker_interface_drops_total", "Packets the interface dropped (pcap ps_ifdrop).", workerLabels, nil)
	descDecErr   = prometheus.NewDesc("ntp_worker_decode_errors_total", "Frames or NTP payloads that did not decode.", workerLabels, nil)
	descSessions = prometheus.NewDesc("ntp_worker_sessions_total", "Sessions the interface's workers produced, by outcome.", append(workerLabels, "outcome"), nil)
	descOther    = prometheus.NewDesc("ntp_worker_other_mode_packets_total", "Mode 1, 2, 5, 6, 7 packets reported.", workerLabels, nil)
	descLost     = prometheus.NewDesc("ntp_worker_lost_sessions_total", "Sessions the workers dropped from a full resend buffer.", workerLabels, nil)
	descEvicted  = prometheus.NewDesc("ntp_worker_evicted_requests_total", "Pending requests the workers dropped unpaired to stay within --max-pending (a flood of requests).", workerLabels, nil)
	descShed     = prometheus.NewDesc("ntp_worker_shed_sessions_total", "Unanswered sessions the workers did not spool because their resend buffer was half full (a flood of requests).", workerLabels, nil)
	descPending  = prometheus.NewDesc("ntp_worker_pending_requests", "Requests waiting for a response in the interface's connected workers.", workerLabels, nil)

	descStreamSubs    = prometheus.NewDesc("ntp_collector_stream_subscribers", "Live session streams (GET /api/ntp/stream) open now.", nil, nil)
	descStreamSent    = prometheus.NewDesc("ntp_collector_stream_events_sent_total", "Sessions handed to live stream subscribers.", nil, nil)
	descStreamDropped = prometheus.NewDesc("ntp_collector_stream_events_dropped_total", "Sessions a live stream subscriber lost because it fell behind (its buffer was full).", nil, nil)

	descClients = prometheus.NewDesc("ntp_clients", "Client rows in the store, by interface.", []string{"interface"}, nil)
	descDBBytes = prometheus.NewDesc("ntp_store_size_bytes", "Database size on disk, WAL included.", nil, nil)
	descStoreUp = prometheus.NewDesc("ntp_store_up", "1 when the store answered the scrape's queries.", nil, nil)

	// Distinct clients are read from the traffic series' sketches at
	// scrape time: a sum of per-bucket counts would count a client once
	// per minute it polls.
	descDistinct = prometheus.NewDesc("ntp_series_distinct_clients",
		"Distinct client addresses on the interface over the window (5m, 1h, 24h, whole minutes up to the scrape), from the traffic series: exact to 256, then within about 1.6 %; the _other interface sums its members.",
		[]string{"interface", "window"}, nil)
)

// descKoD5m is the kiss-o'-death answers of the last five minutes by code.
var descKoD5m = prometheus.NewDesc("ntp_series_kod_answers_5m",
	"Kiss-o'-Death answers on the interface in the last 5 minutes (whole minutes up to the scrape), by kiss code, from the traffic series.",
	[]string{"interface", "code"}, nil)

// distinctWindows are the windows of ntp_series_distinct_clients.
var distinctWindows = []struct {
	label string
	d     time.Duration
}{{"5m", 5 * time.Minute}, {"1h", time.Hour}, {"24h", 24 * time.Hour}}

// scrapeCollector reads the live sources at scrape time.
type scrapeCollector Metrics

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReceived, descProcessed, descCommitted, descDuplicates, descInserted,
		descUpdated, descBatches, descCommitFail, descErrors, descRejected, descRefused, descQueue, descQueueCap, descWorkers, descListenerUp,
		descWriterUp, descWorkerLag, descPackets, descKDrops, descIfDrops, descDecErr, descSessions, descOther,
		descLost, descEvicted, descShed, descPending, descStreamSubs, descStreamSent, descStreamDropped, descClients, descDBBytes,
		descStoreUp, descDistinct, descKoD5m} {
		ch <- d
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	st, in, bc := c.store, c.ingest, c.stream
	c.mu.Unlock()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if in != nil {
		sn := in.Snapshot()
		counter(descReceived, sn.TotalReceived)
		counter(descProcessed, sn.TotalProcessed)
		counter(descCommitted, sn.CommittedSessions)
		counter(descDuplicates, sn.DuplicatesSkipped)
		counter(descInserted, sn.TotalInserted)
		counter(descUpdated, sn.TotalUpdated)
		counter(descBatches, sn.BatchesCommitted)
		counter(descCommitFail, sn.CommitFailures)
		for k, v := range sn.ErrorsByKind {
			counter(descErrors, v, k)
		}
		for r, v := range sn.RejectedByReason {
			counter(descRejected, v, r)
		}
		counter(descRefused, sn.ClientsRefused)
		gauge(descQueue, float64(sn.QueueSize))
		gauge(descQueueCap, float64(sn.QueueCapacity))
		gauge(descWorkers, float64(sn.ConnectedWorkers))
		gauge(descListenerUp, b2f(sn.ListenerUp))
		gauge(descWriterUp, b2f(sn.WriterAlive))
		for _, w := range c.workers.fold(sn.Workers) {
			gauge(descWorkerLag, float64(w.lag), w.label)
			gauge(descPending, float64(w.pending), w.label)
			t := &w.total
			counter(descPackets, t.packets, w.label)
			counter(descKDrops, t.kernelDrops, w.label)
			counter(descIfDrops, t.interfaceDrops, w.label)
			counter(descDecErr, t.decodeErrors, w.label)
			counter(descSessions, t.answered, w.label, "answered")
			counter(descSessions, t.unanswered, w.label, "unanswered")
			counter(descOther, t.otherModes, w.label)
			counter(descLost, t.lost, w.label)
			counter(descEvicted, t.evicted, w.label)
			counter(descShed, t.shed, w.label)
		}
	}
	if bc != nil {
		ss := bc.Stats()
		gauge(descStreamSubs, float64(ss.Subscribers))
		counter(descStreamSent, ss.Sent)
		counter(descStreamDropped, ss.Dropped)
	}
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up := true
	if counts, err := st.InterfaceClients(ctx); err == nil {
		for label, n := range c.workers.foldClients(counts) {
			gauge(descClients, float64(n), label)
		}
	} else {
		up = false
	}
	if dbs, err := st.Stats(ctx); err == nil {
		gauge(descDBBytes, float64(dbs.SizeBytes()))
	} else {
		up = false
	}
	now := time.Now()
	for _, w := range distinctWindows {
		tot, _, err := st.SeriesTotals(ctx, now.Add(-w.d), now, nil)
		if err != nil {
			up = false
			break
		}
		counts := make(map[string]int64, len(tot))
		for iface, b := range tot {
			counts[iface] = int64(b.Clients.Count())
		}
		for label, n := range c.workers.foldClients(counts) {
			gauge(descDistinct, float64(n), label, w.label)
		}
		if w.label != "5m" {
			continue
		}
		byCode := make(map[string]map[string]int64)
		for iface, b := range tot {
			for code, n := range b.KoDCodes {
				if byCode[code] == nil {
					byCode[code] = make(map[string]int64)
				}
				byCode[code][iface] = n
			}
		}
		for code, counts := range byCode {
			for label, n := range c.workers.foldClients(counts) {
				gauge(descKoD5m, float64(n), label, code)
			}
		}
	}
	gauge(descStoreUp, b2f(up))
}
