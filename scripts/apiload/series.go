package main

// The traffic series of the benchmark database: minute buckets for the
// last --series-days and hour buckets for the last --series-hour-days on
// every interface, written straight into series_minute and series_hour,
// and the UTC days those hours roll up to into series_day, because a
// month of real commits would take hours. They replace the buckets the
// clients' fill wrote.

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/hll"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// minutePool is an hour of minutes of one interface: perMinute requests a
// minute from distinct clients of the interface's share of clients, with
// the timings of the fill's sessions.
func minutePool(iface, ifaces, clients, perMinute int, seed uint64) []store.SeriesBucket {
	rng := rand.New(rand.NewPCG(seed, 11))
	pool := make([]store.SeriesBucket, 60)
	share := max(1, clients/ifaces)
	for m := range pool {
		b := &pool[m]
		for range perMinute {
			i := iface + ifaces*rng.IntN(share)
			b.Clients.Add(hll.HashAddr(clientAddr(i)))
			if rng.IntN(50) == 0 {
				b.Modes[6]++
				continue
			}
			b.Requests++
			switch r := rng.IntN(100); {
			case r < 8:
				b.Versions[3]++
			case r < 9:
				b.Versions[2]++
			default:
				b.Versions[4]++
			}
			if rng.IntN(20) == 0 {
				b.Unanswered++
				continue
			}
			b.Answered++
			if rng.IntN(100) == 0 {
				b.KoD++
				if b.KoDCodes == nil {
					b.KoDCodes = map[string]int64{}
				}
				b.KoDCodes["RATE"]++
			}
			p := 20e-6 + rng.Float64()*80e-6
			b.Processing.Observe(p)
			b.Wire.Observe(p + 50e-6 + rng.ExpFloat64()*200e-6)
			if rng.IntN(3) != 0 {
				b.Latency.Observe(math.Min(0.0002+rng.ExpFloat64()*0.01, 3600))
			}
		}
		b.NewClients = int64(perMinute / 20)
	}
	return pool
}

// fillSeries writes the series of ifaces interfaces ending at the minute
// before the second whole hour after end: ahead of the clock, so that a
// load run within the hour after the fill finds the last minutes before
// its now filled, as a live server's are, and reads them.
func fillSeries(ctx context.Context, dbPath string, ifaces, clients, perMinute, minuteDays, hourDays int, end time.Time) error {
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	cols := "(interface_name, bucket, " + store.SeriesRowColumns + ") VALUES (?, ?" +
		strings.Repeat(", ?", strings.Count(store.SeriesRowColumns, ",")+1) + ")"
	end = end.Truncate(time.Hour).Add(2 * time.Hour)
	for i := range ifaces {
		name := fmt.Sprintf("eth%d", i)
		pool := minutePool(i, ifaces, clients, perMinute, uint64(i+1))
		var hour store.SeriesBucket
		for m := range pool {
			hour.Merge(&pool[m])
		}
		minuteRows := make([][]any, len(pool))
		for m := range pool {
			if minuteRows[m], err = pool[m].RowValues(); err != nil {
				return err
			}
		}
		hourRow, err := hour.RowValues()
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
		// Each UTC day holds the hours of it that were written: the first
		// and the last day of the range only some.
		hoursOfDay := map[int64]int{}
		for h := range hourDays * 24 {
			at := end.Add(-time.Duration(h+1) * time.Hour)
			if _, err := hourIns.ExecContext(ctx, append([]any{name, at.Unix()}, hourRow...)...); err != nil {
				return err
			}
			hoursOfDay[at.Truncate(store.DayStep).Unix()]++
		}
		dayIns, err := tx.PrepareContext(ctx, "INSERT OR REPLACE INTO series_day "+cols)
		if err != nil {
			return err
		}
		dayRows := map[int][]any{} // by hours in the day
		for day, n := range hoursOfDay {
			if dayRows[n] == nil {
				var d store.SeriesBucket
				for range n {
					d.Merge(&hour)
				}
				if dayRows[n], err = d.RowValues(); err != nil {
					return err
				}
			}
			if _, err := dayIns.ExecContext(ctx, append([]any{name, day}, dayRows[n]...)...); err != nil {
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
