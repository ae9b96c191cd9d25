package main_test

import (
	"context"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// checkSeriesOnce holds the series in db to the sessions sent: every minute
// of every interface counts each session once (requests, answers, KoDs,
// other modes), and the new clients add up to the client rows, each
// created once.
func checkSeriesOnce(t *testing.T, db string, ss []session.Session) {
	t.Helper()
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tally := storetest.NewTally()
	from, to := ss[0].Timestamp, ss[0].Timestamp
	for i := range ss {
		tally.Add(&ss[i])
		from, to = minTime(from, ss[i].Timestamp), maxTime(to, ss[i].Timestamp)
	}
	res, err := st.Series(context.Background(), store.SeriesQuery{From: from, To: to.Add(time.Minute), Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var newClients int64
	for _, ser := range res.Series {
		for _, p := range ser.Points {
			want := tally.Range(ser.Interface, p.Start, p.Start.Add(time.Minute))
			if p.Requests != want.Requests || p.Answered != want.Answered || p.KoD != want.KoD ||
				p.Modes[6] != want.Modes[6] || p.Modes[7] != want.Modes[7] || p.Wire.Count() != uint64(len(want.Wire)) {
				t.Errorf("%s %s: requests %d answered %d kod %d modes 6/7 %d/%d wire %d; want %d %d %d %d/%d %d",
					ser.Interface, p.Start.Format("15:04"), p.Requests, p.Answered, p.KoD, p.Modes[6], p.Modes[7], p.Wire.Count(),
					want.Requests, want.Answered, want.KoD, want.Modes[6], want.Modes[7], len(want.Wire))
			}
			newClients += p.NewClients
		}
	}
	if len(res.Series) != len(tally.Interfaces()) {
		t.Errorf("series of %d interfaces, want %d", len(res.Series), len(tally.Interfaces()))
	}
	var rows int64
	if err := st.ReadDB().QueryRow("SELECT count(*) FROM ntp_clients").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if newClients != rows {
		t.Errorf("new clients in the series %d, client rows %d: want one each", newClients, rows)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
