package top

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
	"github.com/ntp-monitor/ntp-monitor/pkg/clientview"
	"github.com/ntp-monitor/ntp-monitor/pkg/human"
	"github.com/ntp-monitor/ntp-monitor/pkg/termtable"
)

// header is the frame's first line: what is shown, from where, when.
type header struct {
	every time.Duration
	keys  bool // q quits: only on a terminal
}

// writeText prints f as plain text; ages are relative to f.At.
func (h header) writeText(w io.Writer, f *Frame) error {
	var b strings.Builder
	fmt.Fprintf(&b, "ntp-collector top · %s · %s · every %s", f.API, f.At.Format("2006-01-02 15:04:05 MST"), human.Seconds(h.every.Seconds()))
	if h.keys {
		b.WriteString(" · q quits")
	}
	b.WriteString("\n")
	if f.Error != "" {
		fmt.Fprintf(&b, "\nerror: %s\nretrying every %s\n", f.Error, human.Seconds(h.every.Seconds()))
		_, err := io.WriteString(w, b.String())
		return err
	}
	if in := f.Ingestion; in != nil {
		fmt.Fprintf(&b, "ingestion %s sessions/s · queue %s of %s · %s connected · %s rows · database %s\n",
			human.RatePtr(in.SessionsPerSecond), human.Count(in.QueueSize), human.Count(in.QueueCapacity),
			plural(in.ConnectedWorkers, "worker", "workers"), human.Count(in.Rows), human.Bytes(in.DatabaseBytes))
	}
	b.WriteString("\n")
	writeInterfaces(&b, f.Interfaces)
	fmt.Fprintf(&b, "REQ/S %s; ANS%% UNANS/S DROPS/S over the workers' latest stats report;\n", intervalText(f.IntervalSeconds))
	fmt.Fprintf(&b, "KOD/S and the totals from the statistics %s; - not measured yet\n", statsAge(f.StatisticsAt, f.At))
	writeClients(&b, "TOP TALKERS (most requests)", f.TopTalkers, f.At)
	writeClients(&b, "LATEST UNANSWERED", f.LatestUnanswered, f.At)
	writeClients(&b, "LATEST KISS-O'-DEATH", f.LatestKoD, f.At)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeInterfaces(b *strings.Builder, rows []InterfaceRow) {
	if len(rows) == 0 {
		b.WriteString("no interface has sessions yet: start a worker with POST /api/ntp/interfaces/<name>/start (GET /api/ntp/interfaces lists them)\n")
		return
	}
	t := termtable.New(
		termtable.Column{Header: "INTERFACE", Align: termtable.Left},
		termtable.Column{Header: "WORKERS", Align: termtable.Right},
		termtable.Column{Header: "REQ/S", Align: termtable.Right},
		termtable.Column{Header: "ANS%", Align: termtable.Right},
		termtable.Column{Header: "UNANS/S", Align: termtable.Right},
		termtable.Column{Header: "KOD/S", Align: termtable.Right},
		termtable.Column{Header: "DROPS/S", Align: termtable.Right},
		termtable.Column{Header: "CLIENTS", Align: termtable.Right},
		termtable.Column{Header: "ACTIVE 1H", Align: termtable.Right},
		termtable.Column{Header: "REQUESTS", Align: termtable.Right},
		termtable.Column{Header: "UNANSWERED", Align: termtable.Right},
		termtable.Column{Header: "KOD", Align: termtable.Right},
	)
	for _, r := range rows {
		t.Row(r.Interface, human.Count(int64(r.Workers)), human.RatePtr(r.RequestsPerSecond), human.PercentPtr(r.AnsweredRatio),
			human.RatePtr(r.UnansweredPerSecond), human.RatePtr(r.KoDPerSecond), human.RatePtr(r.KernelDropsPerSecond),
			human.Count(r.Clients), human.Count(r.ActiveClientsLastHour), human.Count(r.Sessions),
			human.Count(r.Unanswered), human.Count(r.KoD))
	}
	t.WriteTo(b)
}

func writeClients(b *strings.Builder, title string, rows []apiclient.ClientRow, now time.Time) {
	fmt.Fprintf(b, "\n%s\n", title)
	if len(rows) == 0 {
		b.WriteString("(none)\n")
		return
	}
	clientview.Brief().Write(b, rows, now)
}

func intervalText(s float64) string {
	if s <= 0 {
		return "from the next refresh on"
	}
	return "over the last " + human.Seconds(s)
}

// statsAge says how old the interface statistics are.
func statsAge(at, now time.Time) string {
	if at.IsZero() {
		return "not computed"
	}
	return "computed " + human.Ago(at, now)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return human.Count(n) + " " + many
}
