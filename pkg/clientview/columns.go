package clientview

import (
	"io"
	"math"
	"strconv"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
	"github.com/ntp-monitor/ntp-monitor/pkg/human"
	"github.com/ntp-monitor/ntp-monitor/pkg/termtable"
)

// column is one column of a client table: its header, alignment and cell.
type column struct {
	header string
	align  termtable.Align
	cell   func(c *apiclient.ClientRow, now time.Time) string
}

// Columns is a set of columns of a client table.
type Columns []column

// Full is the column set of `clients`: what `chronyc clients` and
// `ntpq -c mrulist` show, and what an operator asks next (answered share,
// KoD and its code, control queries, processing time).
func Full() Columns {
	return Columns{colAddress, colInterface, colRequests, colAnswered, colUnanswered, colKoD, colControl, colVersion, colPoll, colInterval, colLastSeen, colProcessing}
}

// Brief is the narrower set of `top`'s client lists.
func Brief() Columns {
	return Columns{colAddress, colInterface, colRequests, colAnswered, colUnanswered, colKoD, colInterval, colLastSeen}
}

var (
	colAddress    = column{"ADDRESS", termtable.Left, func(c *apiclient.ClientRow, _ time.Time) string { return c.ClientIP }}
	colInterface  = column{"IFACE", termtable.Left, func(c *apiclient.ClientRow, _ time.Time) string { return c.InterfaceName }}
	colRequests   = column{"REQS", termtable.Right, func(c *apiclient.ClientRow, _ time.Time) string { return human.Count(c.SessionCount) }}
	colAnswered   = column{"ANS%", termtable.Right, func(c *apiclient.ClientRow, _ time.Time) string { return human.PercentPtr(c.AnswerRatio) }}
	colUnanswered = column{"UNANS", termtable.Right, func(c *apiclient.ClientRow, _ time.Time) string { return human.Count(c.UnansweredCount) }}
	colKoD        = column{"KOD", termtable.Left, kodCell}
	colControl    = column{"M6/M7", termtable.Right, controlCell}
	colVersion    = column{"V", termtable.Right, func(c *apiclient.ClientRow, _ time.Time) string { return intPtr(c.NTPVersion) }}
	colPoll       = column{"POLL", termtable.Right, func(c *apiclient.ClientRow, _ time.Time) string { return pollCell(c.PollInterval) }}
	colInterval   = column{"INTERVAL", termtable.Right, func(c *apiclient.ClientRow, _ time.Time) string { return human.SecondsPtr(c.AvgRequestInterval) }}
	colLastSeen   = column{"LAST SEEN", termtable.Left, func(c *apiclient.ClientRow, now time.Time) string { return human.Ago(c.LastSeen, now) }}
	colProcessing = column{"PROC", termtable.Right, func(c *apiclient.ClientRow, _ time.Time) string { return human.SecondsPtr(c.AvgProcessing) }}
)

// kodCell is the number of Kiss-o'-Death answers and the latest code:
// "3 RATE"; "-" for none.
func kodCell(c *apiclient.ClientRow, _ time.Time) string {
	if c.KoDCount == 0 {
		return human.Missing
	}
	s := human.Count(c.KoDCount)
	if c.LastKoDCode != nil && *c.LastKoDCode != "" {
		s += " " + *c.LastKoDCode
	}
	return s
}

// controlCell counts mode 6 and mode 7 (control and private) packets,
// "mode6/mode7"; "-" for none, so that the few clients sending them stand
// out.
func controlCell(c *apiclient.ClientRow, _ time.Time) string {
	if c.Mode6Count == 0 && c.Mode7Count == 0 {
		return human.Missing
	}
	return human.Count(c.Mode6Count) + "/" + human.Count(c.Mode7Count)
}

// pollCell shows the poll exponent of the latest request as the interval it
// stands for, in whole seconds as ntpq does ("64 s", "1,024 s"); exponents
// outside what NTP uses are shown as durations.
func pollCell(p *int) string {
	switch {
	case p == nil:
		return human.Missing
	case *p >= 0 && *p <= 24:
		return human.Count(1<<*p) + " s"
	}
	return human.Seconds(math.Ldexp(1, *p))
}

func intPtr(v *int) string {
	if v == nil {
		return human.Missing
	}
	return strconv.Itoa(*v)
}

// Write prints rows as an aligned table with the given columns; ages are
// relative to now.
func (cols Columns) Write(w io.Writer, rows []apiclient.ClientRow, now time.Time) error {
	tc := make([]termtable.Column, len(cols))
	for i, c := range cols {
		tc[i] = termtable.Column{Header: c.header, Align: c.align}
	}
	t := termtable.New(tc...)
	for i := range rows {
		cells := make([]string, len(cols))
		for j, c := range cols {
			cells[j] = c.cell(&rows[i], now)
		}
		t.Row(cells...)
	}
	_, err := t.WriteTo(w)
	return err
}
