package ingest_test

import (
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// rowsAndSessions reads the number of client rows and, for one client,
// its session count (0 without a row).
func rowsAndSessions(t *testing.T, h *harness, client string) (rows, sessions int64) {
	t.Helper()
	db := h.st.ReadDB()
	if err := db.QueryRow("SELECT count(*) FROM ntp_clients").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT coalesce(sum(session_count), 0) FROM ntp_clients WHERE client_ip = ?", client).Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	return rows, sessions
}

// MaxClients against a spoofed-source flood: the flood's unanswered
// clients fill the table up to nine tenths of the limit and no further;
// clients the server answered take the last tenth; once the table is full
// new clients are refused, counted per reason, and acknowledged, while the
// clients already stored keep every session.
func TestMaxClientsRefusesNewRowsAndKeepsKnownOnes(t *testing.T) {
	const limit = 100
	h := start(t, ingest.Config{MaxClients: limit, BatchSize: 10, BatchInterval: 10 * time.Millisecond})
	var answered session.Session
	for _, s := range storetest.Sessions(200, 1, 31) {
		if s.Answered && s.KoD == "" {
			answered = s
			break
		}
	}
	mk := func(i int, ans bool) session.Session {
		s := answered
		s.ClientIP = storetest.Client(i)
		s.ClientPort = uint16(1024 + i%60000)
		s.Timestamp = storetest.Base.Add(time.Duration(i) * time.Millisecond)
		if !ans {
			s = session.Session{ClientIP: s.ClientIP, ClientPort: s.ClientPort, ServerIP: s.ServerIP, ServerPort: 123,
				Interface: s.Interface, Version: 4, Mode: 3, Poll: 6, PacketLength: 48, Timestamp: s.Timestamp}
		}
		return s
	}
	var all []session.Session
	// 1. 300 distinct unanswered sources: 90 rows, 210 refused.
	for i := range 300 {
		all = append(all, mk(i, false))
	}
	// 2. 15 new answered clients: 10 rows (90 → 100), 5 refused.
	for i := 1000; i < 1015; i++ {
		all = append(all, mk(i, true))
	}
	// 3. A known unanswered client answered at last, and a known answered
	// one again: both rows are updated although the table is full.
	all = append(all, mk(5, true), mk(1003, true))
	c := connect(t, h.addr, "w-limit")
	sendAll(t, c, all)
	waitAcked(t, c, uint64(len(all)))

	rows, _ := rowsAndSessions(t, h, "")
	if rows != limit {
		t.Errorf("%d client rows, want the limit %d", rows, limit)
	}
	for _, tc := range []struct {
		client int
		want   int64
	}{{5, 2}, {89, 1}, {90, 0}, {299, 0}, {1000, 1}, {1003, 2}, {1009, 1}, {1010, 0}, {1014, 0}} {
		_, n := rowsAndSessions(t, h, storetest.Client(tc.client).String())
		if n != tc.want {
			t.Errorf("client %d (%s): %d sessions stored, want %d", tc.client, storetest.Client(tc.client), n, tc.want)
		}
	}
	snap := h.srv.Snapshot()
	if got := snap.RejectedByReason[ingest.RejectClientLimit]; got != 210 {
		t.Errorf("refused under %s: %d sessions, want 210", ingest.RejectClientLimit, got)
	}
	if got := snap.RejectedByReason[ingest.RejectClientLimitAnswered]; got != 5 {
		t.Errorf("refused under %s: %d sessions, want 5", ingest.RejectClientLimitAnswered, got)
	}
	if snap.ClientsRefused != 215 || snap.MaxClients != limit {
		t.Errorf("clients refused %d (limit %d), want 215 (limit %d)", snap.ClientsRefused, snap.MaxClients, limit)
	}
	if snap.TotalInserted != limit {
		t.Errorf("rows inserted %d, want %d", snap.TotalInserted, limit)
	}
}

// Rows deleted by a cleanup make room again: the limit counts the table
// afresh rather than trusting its running count for ever.
func TestMaxClientsRoomAfterCleanup(t *testing.T) {
	const limit = 20
	h := start(t, ingest.Config{MaxClients: limit, BatchSize: 5, BatchInterval: 10 * time.Millisecond})
	c := connect(t, h.addr, "w-cleanup")
	first := storetest.Sessions(40, 40, 32)
	for i := range first {
		first[i].ClientIP = storetest.Client(i)
		first[i].Answered = true
	}
	sendAll(t, c, first)
	waitAcked(t, c, uint64(len(first)))
	if rows, _ := rowsAndSessions(t, h, ""); rows != limit {
		t.Fatalf("%d rows, want %d", rows, limit)
	}
	if _, err := h.st.Cleanup(t.Context(), storetest.Base.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	later := storetest.Sessions(10, 10, 33)
	for i := range later {
		later[i].ClientIP = storetest.Client(500 + i)
		later[i].Timestamp = storetest.Base.Add(2 * time.Hour)
	}
	// The committer recounts at most once a second; send until the rows
	// arrive, each batch of new clients a fresh chance.
	deadline := time.Now().Add(20 * time.Second)
	seq := uint64(len(first))
	for {
		sendAll(t, c, later)
		seq += uint64(len(later))
		waitAcked(t, c, seq)
		if rows, _ := rowsAndSessions(t, h, ""); rows > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new row stored after the cleanup emptied the table")
		}
		time.Sleep(300 * time.Millisecond)
	}
	if rows, _ := rowsAndSessions(t, h, ""); rows > limit {
		t.Errorf("%d rows after the cleanup, want at most %d", rows, limit)
	}
}
