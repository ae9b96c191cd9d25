package httpapi

import (
	"database/sql"
	"math"
	"strconv"
	"strings"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// A client row is written by hand, not through encoding/json: an export
// writes a million of them, and one table of columns keeps the JSON, NDJSON
// and CSV forms in the same order with the same names (the store's column
// names, plus the derived averages).
type column struct {
	name string
	// appendJSON appends the JSON value; appendCSV the CSV field (empty for
	// null). Both are nil-free.
	appendJSON func(b []byte, c *store.Client) []byte
	appendCSV  func(b []byte, c *store.Client) []byte
}

func intCol(name string, get func(*store.Client) int64) column {
	f := func(b []byte, c *store.Client) []byte { return strconv.AppendInt(b, get(c), 10) }
	return column{name, f, f}
}

func nullIntCol(name string, get func(*store.Client) sql.NullInt64) column {
	return column{name,
		func(b []byte, c *store.Client) []byte {
			v := get(c)
			if !v.Valid {
				return append(b, "null"...)
			}
			return strconv.AppendInt(b, v.Int64, 10)
		},
		func(b []byte, c *store.Client) []byte {
			v := get(c)
			if !v.Valid {
				return b
			}
			return strconv.AppendInt(b, v.Int64, 10)
		}}
}

func appendFloat(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func validFloat(v float64, ok bool) bool { return ok && !math.IsNaN(v) && !math.IsInf(v, 0) }

func floatCol(name string, get func(*store.Client) (float64, bool)) column {
	return column{name,
		func(b []byte, c *store.Client) []byte {
			v, ok := get(c)
			if !validFloat(v, ok) {
				return append(b, "null"...)
			}
			return appendFloat(b, v)
		},
		func(b []byte, c *store.Client) []byte {
			v, ok := get(c)
			if !validFloat(v, ok) {
				return b
			}
			return appendFloat(b, v)
		}}
}

func nullFloatCol(name string, get func(*store.Client) sql.NullFloat64) column {
	return floatCol(name, func(c *store.Client) (float64, bool) { v := get(c); return v.Float64, v.Valid })
}

func plainFloatCol(name string, get func(*store.Client) float64) column {
	return floatCol(name, func(c *store.Client) (float64, bool) { return get(c), true })
}

func strCol(name string, get func(*store.Client) (string, bool)) column {
	return column{name,
		func(b []byte, c *store.Client) []byte {
			s, ok := get(c)
			if !ok {
				return append(b, "null"...)
			}
			return wire.AppendString(b, s)
		},
		func(b []byte, c *store.Client) []byte {
			s, ok := get(c)
			if !ok {
				return b
			}
			return appendCSVField(b, s)
		}}
}

func nullStrCol(name string, get func(*store.Client) sql.NullString) column {
	return strCol(name, func(c *store.Client) (string, bool) { v := get(c); return v.String, v.Valid })
}

func textCol(name string, get func(*store.Client) string) column {
	return strCol(name, func(c *store.Client) (string, bool) { return get(c), true })
}

// appendCSVField quotes s per RFC 4180 when it holds a comma, quote, CR or
// LF, or starts with a space.
func appendCSVField(b []byte, s string) []byte {
	if s == "" || !strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ' && s[0] != '\t' {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

var clientColumns = []column{
	intCol("id", func(c *store.Client) int64 { return c.ID }),
	textCol("client_ip", func(c *store.Client) string { return c.ClientIP }),
	nullIntCol("client_port", func(c *store.Client) sql.NullInt64 { return c.ClientPort }),
	nullStrCol("server_ip", func(c *store.Client) sql.NullString { return c.ServerIP }),
	nullIntCol("server_port", func(c *store.Client) sql.NullInt64 { return c.ServerPort }),
	textCol("interface_name", func(c *store.Client) string { return c.InterfaceName }),
	nullIntCol("ntp_version", func(c *store.Client) sql.NullInt64 { return c.NTPVersion }),
	nullIntCol("mode", func(c *store.Client) sql.NullInt64 { return c.Mode }),
	nullIntCol("stratum", func(c *store.Client) sql.NullInt64 { return c.Stratum }),
	nullIntCol("precision", func(c *store.Client) sql.NullInt64 { return c.Precision }),
	nullFloatCol("root_delay", func(c *store.Client) sql.NullFloat64 { return c.RootDelay }),
	nullFloatCol("root_dispersion", func(c *store.Client) sql.NullFloat64 { return c.RootDispersion }),
	nullStrCol("reference_id", func(c *store.Client) sql.NullString { return c.ReferenceID }),
	nullStrCol("leap_indicator", func(c *store.Client) sql.NullString { return c.LeapIndicator }),
	nullIntCol("poll_interval", func(c *store.Client) sql.NullInt64 { return c.PollInterval }),
	nullFloatCol("reference_timestamp", func(c *store.Client) sql.NullFloat64 { return c.ReferenceTimestamp }),
	nullFloatCol("originate_timestamp", func(c *store.Client) sql.NullFloat64 { return c.OriginateTimestamp }),
	nullFloatCol("receive_timestamp", func(c *store.Client) sql.NullFloat64 { return c.ReceiveTimestamp }),
	nullFloatCol("transmit_timestamp", func(c *store.Client) sql.NullFloat64 { return c.TransmitTimestamp }),
	nullFloatCol("client_to_server_latency_seconds", func(c *store.Client) sql.NullFloat64 { return c.Latency }),
	nullFloatCol("server_processing_time_seconds", func(c *store.Client) sql.NullFloat64 { return c.Processing }),
	nullFloatCol("total_process_time_seconds", func(c *store.Client) sql.NullFloat64 { return c.Total }),
	nullIntCol("packet_length", func(c *store.Client) sql.NullInt64 { return c.PacketLength }),
	nullStrCol("session_timestamp", func(c *store.Client) sql.NullString { return c.SessionTimestamp }),
	textCol("first_seen_timestamp", func(c *store.Client) string { return c.FirstSeen }),
	textCol("last_seen_timestamp", func(c *store.Client) string { return c.LastSeen }),
	intCol("session_count", func(c *store.Client) int64 { return c.SessionCount }),
	intCol("answered_count", func(c *store.Client) int64 { return c.AnsweredCount }),
	intCol("unanswered_count", func(c *store.Client) int64 { return c.UnansweredCount }),
	intCol("kod_count", func(c *store.Client) int64 { return c.KoDCount }),
	nullStrCol("last_kod_code", func(c *store.Client) sql.NullString { return c.LastKoDCode }),
	nullStrCol("last_kod_timestamp", func(c *store.Client) sql.NullString { return c.LastKoDTimestamp }),
	intCol("mode1_count", func(c *store.Client) int64 { return c.Mode1Count }),
	intCol("mode2_count", func(c *store.Client) int64 { return c.Mode2Count }),
	intCol("mode5_count", func(c *store.Client) int64 { return c.Mode5Count }),
	intCol("mode6_count", func(c *store.Client) int64 { return c.Mode6Count }),
	intCol("mode7_count", func(c *store.Client) int64 { return c.Mode7Count }),
	intCol("latency_count", func(c *store.Client) int64 { return c.LatencyCount }),
	nullFloatCol("latency_min", func(c *store.Client) sql.NullFloat64 { return c.LatencyMin }),
	nullFloatCol("latency_max", func(c *store.Client) sql.NullFloat64 { return c.LatencyMax }),
	plainFloatCol("latency_sum", func(c *store.Client) float64 { return c.LatencySum }),
	nullFloatCol("processing_min", func(c *store.Client) sql.NullFloat64 { return c.ProcessingMin }),
	nullFloatCol("processing_max", func(c *store.Client) sql.NullFloat64 { return c.ProcessingMax }),
	plainFloatCol("processing_sum", func(c *store.Client) float64 { return c.ProcessingSum }),
	nullFloatCol("total_min", func(c *store.Client) sql.NullFloat64 { return c.TotalMin }),
	nullFloatCol("total_max", func(c *store.Client) sql.NullFloat64 { return c.TotalMax }),
	plainFloatCol("total_sum", func(c *store.Client) float64 { return c.TotalSum }),
	textCol("created_at", func(c *store.Client) string { return c.CreatedAt }),
	textCol("updated_at", func(c *store.Client) string { return c.UpdatedAt }),
	floatCol("avg_latency_seconds", (*store.Client).AvgLatency),
	floatCol("avg_processing_seconds", (*store.Client).AvgProcessing),
	floatCol("avg_total_seconds", (*store.Client).AvgTotal),
	floatCol("answer_ratio", (*store.Client).AnswerRatio),
	floatCol("avg_request_interval_seconds", (*store.Client).AvgRequestInterval),
}

// jsonKeys holds each column's `"name":` prefix, with the separating comma
// for all but the first.
var jsonKeys = func() []string {
	k := make([]string, len(clientColumns))
	for i, col := range clientColumns {
		sep := ","
		if i == 0 {
			sep = "{"
		}
		k[i] = sep + strconv.Quote(col.name) + ":"
	}
	return k
}()

// appendClientJSON appends c as one JSON object.
func appendClientJSON(b []byte, c *store.Client) []byte {
	for i, col := range clientColumns {
		b = append(b, jsonKeys[i]...)
		b = col.appendJSON(b, c)
	}
	return append(b, '}')
}

// appendCSVHeader appends the header line.
func appendCSVHeader(b []byte) []byte {
	for i, col := range clientColumns {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, col.name...)
	}
	return append(b, '\r', '\n')
}

// appendClientCSV appends c as one CSV record, CRLF-terminated as RFC 4180
// has it.
func appendClientCSV(b []byte, c *store.Client) []byte {
	for i, col := range clientColumns {
		if i > 0 {
			b = append(b, ',')
		}
		b = col.appendCSV(b, c)
	}
	return append(b, '\r', '\n')
}
