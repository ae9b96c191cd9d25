package store

import (
	"slices"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// Column describes one column of ntp_clients. The package's column table
// (clientTable, in columns.go) is the one place a column is written down: the select list and the scan targets of
// every read, the upsert that folds a batch into the table, and the
// API's JSON and CSV rows (package httpapi) are all built from it, and a
// test holds it against the migrated schema. Adding a column is one entry
// in clientTable, a field in Client when the column is read back, and a
// migration; the API then shows it, and its contract (the Client schema in
// api/openapi.yaml, which the API's tests hold responses to) names it.
type Column struct {
	// Name is the column's name in SQL, and in the API's JSON and CSV.
	Name string
	// Value returns a pointer to the column's field in c: what a row scans
	// into and what a renderer reads. It is *int64, *float64 or *string for
	// a NOT NULL column, *sql.NullInt64, *sql.NullFloat64 or
	// *sql.NullString for a nullable one. It is nil for a column the store
	// writes but never reads back (client_ip_bytes, an index key).
	Value func(c *Client) any

	typ     sqlType
	notNull bool
	fold    fold
	// bind is the column's value for a batch row about to be upserted, as
	// database/sql takes it (int64, float64, string, []byte or nil for
	// NULL); now is the commit's time. It is nil for id, which SQLite
	// assigns.
	bind func(r *row, now string) any
}

// sqlType is a column's declared type, as PRAGMA table_info reports it.
type sqlType string

const (
	sqlInteger sqlType = "INTEGER"
	sqlReal    sqlType = "REAL"
	sqlText    sqlType = "TEXT"
	sqlBlob    sqlType = "BLOB"
)

// fold is how the upsert merges a batch row into the row already stored
// for the same client and interface.
type fold uint8

const (
	// keep: written when the row is inserted and never changed: what
	// identifies the row, and when it was created.
	keep fold = iota
	// replace: the batch row's value wins.
	replace
	// newestSession: the value from whichever side has the newer
	// session_timestamp (the batch row on a tie), so a late batch of old
	// sessions never overwrites the description of the latest one.
	newestSession
	// newestKoD: the same, by last_kod_timestamp; a batch row without a
	// kiss code (NULL) never wins.
	newestKoD
	// sum: counters and sums add up.
	sum
	// least and greatest: the smaller and the larger value; NULL on one
	// side yields the other.
	least
	greatest
)

// DerivedColumn is a value the API shows beside the stored columns,
// computed from a Client row rather than stored: false means null.
type DerivedColumn struct {
	Name  string
	Value func(c *Client) (float64, bool)

	// expr computes the same value in SQL, NULL where Value is false, so
	// that a list can be sorted and filtered by what its rows show. A test
	// holds the two to each other over stored rows.
	expr string
}

// clientTable is ntp_clients, column by column, in the order of the API's
// JSON and CSV rows. Times are TEXT in session.TimeLayout, so that text
// order is time order; NTP timestamps are REAL Unix seconds.
var clientTable = []Column{
	{Name: "id", typ: sqlInteger, notNull: true, fold: keep,
		Value: func(c *Client) any { return &c.ID }},
	{Name: "client_ip", typ: sqlText, notNull: true, fold: keep,
		Value: func(c *Client) any { return &c.ClientIP },
		bind:  func(r *row, _ string) any { return r.key.ip.String() }},
	// The 16-byte form, IPv4 as ::ffff:a.b.c.d, so that a CIDR filter is an
	// index range and addresses sort numerically.
	{Name: "client_ip_bytes", typ: sqlBlob, notNull: true, fold: keep,
		bind: func(r *row, _ string) any { return ipBytes(r.key.ip) }},
	{Name: "client_port", typ: sqlInteger, fold: newestSession,
		Value: func(c *Client) any { return &c.ClientPort },
		bind:  latest(func(s *session.Session) any { return int64(s.ClientPort) })},
	{Name: "server_ip", typ: sqlText, fold: newestSession,
		Value: func(c *Client) any { return &c.ServerIP },
		bind: latest(func(s *session.Session) any {
			if !s.ServerIP.IsValid() {
				return nil
			}
			return s.ServerIP.Unmap().String()
		})},
	{Name: "server_port", typ: sqlInteger, fold: newestSession,
		Value: func(c *Client) any { return &c.ServerPort },
		bind:  latest(func(s *session.Session) any { return int64(s.ServerPort) })},
	{Name: "interface_name", typ: sqlText, notNull: true, fold: keep,
		Value: func(c *Client) any { return &c.InterfaceName },
		bind:  func(r *row, _ string) any { return r.key.iface }},
	{Name: "ntp_version", typ: sqlInteger, fold: newestSession,
		Value: func(c *Client) any { return &c.NTPVersion },
		bind:  latest(func(s *session.Session) any { return int64(s.Version) })},
	{Name: "mode", typ: sqlInteger, fold: newestSession,
		Value: func(c *Client) any { return &c.Mode },
		bind:  latest(func(s *session.Session) any { return int64(s.Mode) })},

	// The latest session's response: NULL unless it was answered.
	{Name: "stratum", typ: sqlInteger, fold: newestSession,
		Value: func(c *Client) any { return &c.Stratum },
		bind:  response(func(s *session.Session) any { return int64(s.Stratum) })},
	{Name: "precision", typ: sqlInteger, fold: newestSession,
		Value: func(c *Client) any { return &c.Precision },
		bind:  response(func(s *session.Session) any { return int64(s.Precision) })},
	{Name: "root_delay", typ: sqlReal, fold: newestSession,
		Value: func(c *Client) any { return &c.RootDelay },
		bind:  response(func(s *session.Session) any { return s.RootDelay })},
	{Name: "root_dispersion", typ: sqlReal, fold: newestSession,
		Value: func(c *Client) any { return &c.RootDispersion },
		bind:  response(func(s *session.Session) any { return s.RootDispersion })},
	{Name: "reference_id", typ: sqlText, fold: newestSession,
		Value: func(c *Client) any { return &c.ReferenceID },
		bind:  response(func(s *session.Session) any { return nullString(s.ReferenceID) })},
	{Name: "leap_indicator", typ: sqlText, fold: newestSession,
		Value: func(c *Client) any { return &c.LeapIndicator },
		bind:  response(func(s *session.Session) any { return nullString(s.Leap) })},
	{Name: "poll_interval", typ: sqlInteger, fold: newestSession,
		Value: func(c *Client) any { return &c.PollInterval },
		bind:  latest(func(s *session.Session) any { return int64(s.Poll) })},
	{Name: "reference_timestamp", typ: sqlReal, fold: newestSession,
		Value: func(c *Client) any { return &c.ReferenceTimestamp },
		bind:  response(func(s *session.Session) any { return nullZero(s.ReferenceTime) })},
	{Name: "originate_timestamp", typ: sqlReal, fold: newestSession,
		Value: func(c *Client) any { return &c.OriginateTimestamp },
		bind:  response(func(s *session.Session) any { return nullZero(s.OriginateTime) })},
	{Name: "receive_timestamp", typ: sqlReal, fold: newestSession,
		Value: func(c *Client) any { return &c.ReceiveTimestamp },
		bind:  response(func(s *session.Session) any { return nullZero(s.ReceiveTime) })},
	{Name: "transmit_timestamp", typ: sqlReal, fold: newestSession,
		Value: func(c *Client) any { return &c.TransmitTimestamp },
		bind:  response(func(s *session.Session) any { return nullZero(s.TransmitTime) })},
	{Name: "client_to_server_latency_seconds", typ: sqlReal, fold: newestSession,
		Value: func(c *Client) any { return &c.Latency },
		bind: response(func(s *session.Session) any {
			if !s.LatencyValid {
				return nil // the client hid its transmit time
			}
			return s.Latency
		})},
	{Name: "server_processing_time_seconds", typ: sqlReal, fold: newestSession,
		Value: func(c *Client) any { return &c.Processing },
		bind:  response(func(s *session.Session) any { return s.Processing })},
	{Name: "total_process_time_seconds", typ: sqlReal, fold: newestSession,
		Value: func(c *Client) any { return &c.Total },
		bind:  response(func(s *session.Session) any { return s.Total })},

	{Name: "packet_length", typ: sqlInteger, fold: newestSession,
		Value: func(c *Client) any { return &c.PacketLength },
		bind:  latest(func(s *session.Session) any { return int64(s.PacketLength) })},
	{Name: "session_timestamp", typ: sqlText, fold: newestSession,
		Value: func(c *Client) any { return &c.SessionTimestamp },
		bind:  latest(func(s *session.Session) any { return formatTime(s.Timestamp) })},
	// Over every packet, requests and other modes.
	{Name: "first_seen_timestamp", typ: sqlText, notNull: true, fold: least,
		Value: func(c *Client) any { return &c.FirstSeen },
		bind:  func(r *row, _ string) any { return formatTime(r.first) }},
	{Name: "last_seen_timestamp", typ: sqlText, notNull: true, fold: greatest,
		Value: func(c *Client) any { return &c.LastSeen },
		bind:  func(r *row, _ string) any { return formatTime(r.last) }},

	{Name: "session_count", typ: sqlInteger, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.SessionCount },
		bind:  func(r *row, _ string) any { return r.sessions }},
	{Name: "answered_count", typ: sqlInteger, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.AnsweredCount },
		bind:  func(r *row, _ string) any { return r.answered }},
	{Name: "unanswered_count", typ: sqlInteger, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.UnansweredCount },
		bind:  func(r *row, _ string) any { return r.unanswered }},
	// NULL until a request goes unanswered, and for rows from before
	// migration 0007, whose past is not known.
	{Name: "last_unanswered_timestamp", typ: sqlText, fold: greatest,
		Value: func(c *Client) any { return &c.LastUnansweredTimestamp },
		bind: func(r *row, _ string) any {
			if r.unanswered == 0 {
				return nil
			}
			return formatTime(r.unansweredTime)
		}},
	{Name: "kod_count", typ: sqlInteger, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.KoDCount },
		bind:  func(r *row, _ string) any { return r.kod }},
	{Name: "last_kod_code", typ: sqlText, fold: newestKoD,
		Value: func(c *Client) any { return &c.LastKoDCode },
		bind:  kodValue(func(r *row) any { return r.kodCode })},
	{Name: "last_kod_timestamp", typ: sqlText, fold: newestKoD,
		Value: func(c *Client) any { return &c.LastKoDTimestamp },
		bind:  kodValue(func(r *row) any { return formatTime(r.kodTime) })},

	// Other-mode packets, per mode.
	{Name: "mode1_count", typ: sqlInteger, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.Mode1Count },
		bind:  func(r *row, _ string) any { return r.modes[1] }},
	{Name: "mode2_count", typ: sqlInteger, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.Mode2Count },
		bind:  func(r *row, _ string) any { return r.modes[2] }},
	{Name: "mode5_count", typ: sqlInteger, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.Mode5Count },
		bind:  func(r *row, _ string) any { return r.modes[5] }},
	{Name: "mode6_count", typ: sqlInteger, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.Mode6Count },
		bind:  func(r *row, _ string) any { return r.modes[6] }},
	{Name: "mode7_count", typ: sqlInteger, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.Mode7Count },
		bind:  func(r *row, _ string) any { return r.modes[7] }},

	// Timing aggregates. Latency has a count of its own (clients that hide
	// their transmit time have none); processing and total exist for every
	// answered session. Min and max are NULL until there is a value.
	{Name: "latency_count", typ: sqlInteger, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.LatencyCount },
		bind:  func(r *row, _ string) any { return r.latCount }},
	{Name: "latency_min", typ: sqlReal, fold: least,
		Value: func(c *Client) any { return &c.LatencyMin },
		bind:  func(r *row, _ string) any { return metric(r.latCount, r.latMin) }},
	{Name: "latency_max", typ: sqlReal, fold: greatest,
		Value: func(c *Client) any { return &c.LatencyMax },
		bind:  func(r *row, _ string) any { return metric(r.latCount, r.latMax) }},
	{Name: "latency_sum", typ: sqlReal, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.LatencySum },
		bind:  func(r *row, _ string) any { return r.latSum }},
	{Name: "processing_min", typ: sqlReal, fold: least,
		Value: func(c *Client) any { return &c.ProcessingMin },
		bind:  func(r *row, _ string) any { return metric(r.procCount, r.procMin) }},
	{Name: "processing_max", typ: sqlReal, fold: greatest,
		Value: func(c *Client) any { return &c.ProcessingMax },
		bind:  func(r *row, _ string) any { return metric(r.procCount, r.procMax) }},
	{Name: "processing_sum", typ: sqlReal, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.ProcessingSum },
		bind:  func(r *row, _ string) any { return r.procSum }},
	{Name: "total_min", typ: sqlReal, fold: least,
		Value: func(c *Client) any { return &c.TotalMin },
		bind:  func(r *row, _ string) any { return metric(r.procCount, r.totalMin) }},
	{Name: "total_max", typ: sqlReal, fold: greatest,
		Value: func(c *Client) any { return &c.TotalMax },
		bind:  func(r *row, _ string) any { return metric(r.procCount, r.totalMax) }},
	{Name: "total_sum", typ: sqlReal, notNull: true, fold: sum,
		Value: func(c *Client) any { return &c.TotalSum },
		bind:  func(r *row, _ string) any { return r.totSum }},

	{Name: "created_at", typ: sqlText, notNull: true, fold: keep,
		Value: func(c *Client) any { return &c.CreatedAt },
		bind:  func(_ *row, now string) any { return now }},
	{Name: "updated_at", typ: sqlText, notNull: true, fold: replace,
		Value: func(c *Client) any { return &c.UpdatedAt },
		bind:  func(_ *row, now string) any { return now }},
}

// derivedColumns follow the stored ones in the API's rows.
var derivedColumns = []DerivedColumn{
	{"avg_latency_seconds", (*Client).AvgLatency, avgLatencySQL},
	{"avg_processing_seconds", (*Client).AvgProcessing, avgProcessingSQL},
	{"avg_total_seconds", (*Client).AvgTotal, avgTotalSQL},
	{"answer_ratio", (*Client).AnswerRatio, answerRatioSQL},
	{"avg_request_interval_seconds", (*Client).AvgRequestInterval, avgIntervalSQL},
}

// The derived values in SQL, each the counterpart of a method of Client.
// An index on one of them must repeat its expression exactly (migration
// 0004 indexes avgLatencySQL); without one, sorting or filtering by it
// reads every row of the selection (the README's performance section says
// what that costs).
const (
	avgLatencySQL    = "(latency_sum / NULLIF(latency_count, 0))"
	avgProcessingSQL = "(processing_sum / NULLIF(answered_count, 0))"
	avgTotalSQL      = "(total_sum / NULLIF(answered_count, 0))"
	answerRatioSQL   = "(CAST(answered_count - kod_count AS REAL) / NULLIF(answered_count + unanswered_count, 0))"
	// Times are stored in session.TimeLayout, so whole seconds and the nine
	// fractional digits are read apart: SQLite's own parsing of a time keeps
	// three digits, and the interval would be off by up to a millisecond.
	avgIntervalSQL = "(CASE WHEN answered_count + unanswered_count >= 2 AND last_seen_timestamp >= first_seen_timestamp THEN" +
		" (unixepoch(substr(last_seen_timestamp, 1, 19)) - unixepoch(substr(first_seen_timestamp, 1, 19))" +
		" + (substr(last_seen_timestamp, 21, 9) - substr(first_seen_timestamp, 21, 9)) / 1e9)" +
		" / (answered_count + unanswered_count - 1) END)"
)

// readColumns are the columns a Client holds, in clientTable's order: the
// select list and the scan targets of every read.
var readColumns = slices.DeleteFunc(slices.Clone(clientTable), func(c Column) bool { return c.Value == nil })

// ClientColumns returns the columns a Client holds, in the order of the
// API's rows; the caller may keep and change the slice.
func ClientColumns() []Column { return slices.Clone(readColumns) }

// DerivedColumns returns the values the API computes from each row, in the
// order they follow ClientColumns.
func DerivedColumns() []DerivedColumn { return slices.Clone(derivedColumns) }

// latest binds a value of the row's latest session.
func latest(v func(s *session.Session) any) func(*row, string) any {
	return func(r *row, _ string) any { return v(&r.latest) }
}

// response binds a value of the latest session's response: NULL when that
// session was not answered.
func response(v func(s *session.Session) any) func(*row, string) any {
	return func(r *row, _ string) any {
		if !r.latest.Answered {
			return nil
		}
		return v(&r.latest)
	}
}

// kodValue binds a value of the row's latest kiss code: NULL when the batch
// saw none.
func kodValue(v func(r *row) any) func(*row, string) any {
	return func(r *row, _ string) any {
		if r.kod == 0 {
			return nil
		}
		return v(r)
	}
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullZero(v float64) any {
	if v == 0 {
		return nil
	}
	return v
}

// metric is a min or max that exists once n values were folded.
func metric(n int64, v float64) any {
	if n == 0 {
		return nil
	}
	return v
}
