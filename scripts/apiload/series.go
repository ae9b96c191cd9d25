package main

// The traffic series of the benchmark database: minute buckets for the
// last --series-days and hour buckets for the last --series-hour-days on
// every interface, written straight into series_minute and series_hour (the
// schema of migration 0006) because a month of real commits would take
// hours. They replace the buckets the clients' fill wrote. A later
// schema's migration rolls them up further on the first open, as it does
// for any database upgraded in place.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/hll"
	"github.com/ntp-monitor/ntp-monitor/pkg/loghist"
)

// benchBucket is one synthetic bucket: counts and sketches.
type benchBucket struct {
	requests, answered, unanswered, kod, newClients int64
	versions                                        [6]int64
	mode6, mode7                                    int64
	clients                                         hll.Sketch
	proc, wire, lat                                 loghist.Histogram
}

func (b *benchBucket) merge(o *benchBucket) {
	b.requests += o.requests
	b.answered += o.answered
	b.unanswered += o.unanswered
	b.kod += o.kod
	b.newClients += o.newClients
	for i := range b.versions {
		b.versions[i] += o.versions[i]
	}
	b.mode6 += o.mode6
	b.mode7 += o.mode7
	b.clients.Merge(&o.clients)
	b.proc.Merge(&o.proc)
	b.wire.Merge(&o.wire)
	b.lat.Merge(&o.lat)
}

// row is the bucket as the series tables' columns after interface_name
// and bucket.
func (b *benchBucket) row() ([]any, error) {
	var codes any
	if b.kod > 0 {
		j, _ := json.Marshal(map[string]int64{"RATE": b.kod})
		codes = string(j)
	}
	a := []any{b.requests, b.answered, b.unanswered, b.kod, codes,
		b.versions[1], b.versions[2], b.versions[3], b.versions[4], b.versions[5],
		int64(0), int64(0), int64(0), b.mode6, b.mode7, b.newClients, int64(0)}
	c, err := b.clients.AppendBinary(nil)
	if err != nil {
		return nil, err
	}
	a = append(a, c)
	for _, h := range []*loghist.Histogram{&b.proc, &b.wire, &b.lat} {
		e, err := h.AppendBinary(nil)
		if err != nil {
			return nil, err
		}
		a = append(a, e)
	}
	return a, nil
}

// minutePool is an hour of minutes of one interface: perMinute requests a
// minute from distinct clients of the interface's share of clients, with
// the timings of the fill's sessions.
func minutePool(iface, ifaces, clients, perMinute int, seed uint64) []benchBucket {
	rng := rand.New(rand.NewPCG(seed, 11))
	pool := make([]benchBucket, 60)
	share := max(1, clients/ifaces)
	for m := range pool {
		b := &pool[m]
		for range perMinute {
			i := iface + ifaces*rng.IntN(share)
			b.clients.Add(hll.HashAddr(clientAddr(i)))
			if rng.IntN(50) == 0 {
				b.mode6++
				continue
			}
			b.requests++
			switch r := rng.IntN(100); {
			case r < 8:
				b.versions[3]++
			case r < 9:
				b.versions[2]++
			default:
				b.versions[4]++
			}
			if rng.IntN(20) == 0 {
				b.unanswered++
				continue
			}
			b.answered++
			if rng.IntN(100) == 0 {
				b.kod++
			}
			p := 20e-6 + rng.Float64()*80e-6
			b.proc.Observe(p)
			b.wire.Observe(p + 50e-6 + rng.ExpFloat64()*200e-6)
			if rng.IntN(3) != 0 {
				b.lat.Observe(math.Min(0.0002+rng.ExpFloat64()*0.01, 3600))
			}
		}
		b.newClients = int64(perMinute / 20)
	}
	return pool
}

// fillSeries writes the series of ifaces interfaces ending at the minute
// before end.
func fillSeries(ctx context.Context, dbPath string, ifaces, clients, perMinute, minuteDays, hourDays int, end time.Time) error {
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	const cols = `(interface_name, bucket, requests, answered, unanswered, kod, kod_codes,
		version1, version2, version3, version4, version5, mode1, mode2, mode5, mode6, mode7,
		new_clients, snaplen_cut, clients, processing, wire, latency)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	end = end.Truncate(time.Hour)
	for i := range ifaces {
		name := fmt.Sprintf("eth%d", i)
		pool := minutePool(i, ifaces, clients, perMinute, uint64(i+1))
		var hour benchBucket
		for m := range pool {
			hour.merge(&pool[m])
		}
		minuteRows := make([][]any, len(pool))
		for m := range pool {
			if minuteRows[m], err = pool[m].row(); err != nil {
				return err
			}
		}
		hourRow, err := hour.row()
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		minIns, err := tx.PrepareContext(ctx, "INSERT OR REPLACE INTO series_minute "+cols)
		if err != nil {
			return err
		}
		hourIns, err := tx.PrepareContext(ctx, "INSERT OR REPLACE INTO series_hour "+cols)
		if err != nil {
			return err
		}
		for m := range minuteDays * 24 * 60 {
			at := end.Add(-time.Duration(m+1) * time.Minute)
			if _, err := minIns.ExecContext(ctx, append([]any{name, at.Unix()}, minuteRows[at.Minute()]...)...); err != nil {
				return err
			}
		}
		for h := range hourDays * 24 {
			at := end.Add(-time.Duration(h+1) * time.Hour)
			if _, err := hourIns.ExecContext(ctx, append([]any{name, at.Unix()}, hourRow...)...); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	// The series began when the hours did.
	_, err = db.ExecContext(ctx, "UPDATE series_info SET series_start = ?", end.Add(-time.Duration(hourDays)*24*time.Hour).Unix())
	return err
}
