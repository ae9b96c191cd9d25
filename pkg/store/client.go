package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Client is one row of ntp_clients: a client address as seen on one capture
// interface. The "last packet" fields describe the client's most recent
// session; the counters and min/max/sum fields aggregate all of them.
// Nullable columns use the sql.Null types so that a row scans without
// allocating for every field. Each field is the Value of one column of
// clientTable (columns.go), which says what the column holds and how it
// folds.
type Client struct {
	ID                 int64
	ClientIP           string
	ClientPort         sql.NullInt64
	ServerIP           sql.NullString
	ServerPort         sql.NullInt64
	InterfaceName      string
	NTPVersion         sql.NullInt64
	Stratum            sql.NullInt64
	Precision          sql.NullInt64
	RootDelay          sql.NullFloat64
	RootDispersion     sql.NullFloat64
	ReferenceID        sql.NullString
	LeapIndicator      sql.NullString
	PollInterval       sql.NullInt64
	ReferenceTimestamp sql.NullFloat64
	OriginateTimestamp sql.NullFloat64
	ReceiveTimestamp   sql.NullFloat64
	TransmitTimestamp  sql.NullFloat64
	Latency            sql.NullFloat64 // client_to_server_latency_seconds
	Processing         sql.NullFloat64 // server_processing_time_seconds
	Total              sql.NullFloat64 // total_process_time_seconds
	PacketLength       sql.NullInt64
	SessionTimestamp   sql.NullString
	FirstSeen          string
	LastSeen           string
	SessionCount       int64
	CreatedAt          string
	UpdatedAt          string
	Mode               sql.NullInt64
	AnsweredCount      int64
	UnansweredCount    int64
	// LastUnansweredTimestamp is last_unanswered_timestamp.
	LastUnansweredTimestamp sql.NullString
	KoDCount                int64
	LastKoDCode             sql.NullString
	LastKoDTimestamp        sql.NullString
	Mode1Count              int64
	Mode2Count              int64
	Mode5Count              int64
	Mode6Count              int64
	Mode7Count              int64
	LatencyCount            int64
	LatencyMin              sql.NullFloat64
	LatencyMax              sql.NullFloat64
	LatencySum              float64
	ProcessingMin           sql.NullFloat64
	ProcessingMax           sql.NullFloat64
	ProcessingSum           float64
	TotalMin                sql.NullFloat64
	TotalMax                sql.NullFloat64
	TotalSum                float64
}

// clientSelect is the select list of a Client row: the names of
// readColumns, in order.
var clientSelect = func() string {
	names := make([]string, len(readColumns))
	for i, col := range readColumns {
		names[i] = col.Name
	}
	return strings.Join(names, ", ")
}()

// scanArgs returns the scan targets of c in clientSelect's order.
func (c *Client) scanArgs() []any {
	dest := make([]any, len(readColumns))
	for i, col := range readColumns {
		dest[i] = col.Value(c)
	}
	return dest
}

// scanClients scans the rows, which select clientSelect, one after the
// other into c, calling each after every row: c holds only the current row,
// so a caller that streams keeps no more than one in memory.
func scanClients(rows *sql.Rows, c *Client, each func() error) error {
	dest := c.scanArgs()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan client: %w", err)
		}
		if err := each(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// queryClients runs q, which selects clientSelect, on the read pool and
// returns every row; size is the number of rows expected, 0 when unknown.
func (s *Store) queryClients(ctx context.Context, size int, q string, args ...any) ([]Client, error) {
	rows, err := s.ReadDB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Client, 0, size)
	var c Client
	err = scanClients(rows, &c, func() error {
		out = append(out, c)
		return nil
	})
	return out, err
}

// Requests is the number of client requests (answered or not) the row
// aggregates; other-mode packets are counted separately.
func (c *Client) Requests() int64 { return c.AnsweredCount + c.UnansweredCount }

// AvgLatency is the mean client-to-server latency over the sessions that had
// a usable one.
func (c *Client) AvgLatency() (float64, bool) { return ratio(c.LatencySum, c.LatencyCount) }

// AvgProcessing is the mean server processing time over answered sessions.
func (c *Client) AvgProcessing() (float64, bool) { return ratio(c.ProcessingSum, c.AnsweredCount) }

// AvgTotal is the mean request-to-response time on the wire over answered
// sessions.
func (c *Client) AvgTotal() (float64, bool) { return ratio(c.TotalSum, c.AnsweredCount) }

// AnswerRatio is the share of requests that got a real answer: answered
// requests less those answered with a Kiss-o'-Death, over all requests. A
// KoD is the server refusing the client, so a client answered only with
// KoD has a ratio of 0, although its answered_count counts those replies.
func (c *Client) AnswerRatio() (float64, bool) {
	return ratio(float64(c.AnsweredCount-c.KoDCount), c.Requests())
}

// AvgRequestInterval is the mean time between the client's requests: the
// span from first to last seen divided by the gaps between requests. It needs
// two requests.
func (c *Client) AvgRequestInterval() (float64, bool) {
	n := c.Requests()
	if n < 2 {
		return 0, false
	}
	first, err1 := time.Parse(time.RFC3339Nano, c.FirstSeen)
	last, err2 := time.Parse(time.RFC3339Nano, c.LastSeen)
	if err1 != nil || err2 != nil || last.Before(first) {
		return 0, false
	}
	return last.Sub(first).Seconds() / float64(n-1), true
}

func ratio(sum float64, n int64) (float64, bool) {
	if n <= 0 {
		return 0, false
	}
	return sum / float64(n), true
}
