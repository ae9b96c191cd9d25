package apiclient

import (
	"encoding/json"
	"slices"
	"time"
)

// ClientRow is one client address on one capture interface, the API's Client
// schema. Nullable fields are pointers, nil when the API sent null.
type ClientRow struct {
	ID            int64   `json:"id"`
	ClientIP      string  `json:"client_ip"`
	ClientPort    *int    `json:"client_port"`
	ServerIP      *string `json:"server_ip"`
	ServerPort    *int    `json:"server_port"`
	InterfaceName string  `json:"interface_name"`

	// The client's latest session.
	NTPVersion         *int     `json:"ntp_version"`
	Mode               *int     `json:"mode"`
	Stratum            *int     `json:"stratum"`
	Precision          *int     `json:"precision"`
	RootDelay          *float64 `json:"root_delay"`
	RootDispersion     *float64 `json:"root_dispersion"`
	ReferenceID        *string  `json:"reference_id"`
	LeapIndicator      *string  `json:"leap_indicator"`
	PollInterval       *int     `json:"poll_interval"` // log2 seconds
	ReferenceTimestamp *float64 `json:"reference_timestamp"`
	OriginateTimestamp *float64 `json:"originate_timestamp"`
	ReceiveTimestamp   *float64 `json:"receive_timestamp"`
	TransmitTimestamp  *float64 `json:"transmit_timestamp"`
	Latency            *float64 `json:"client_to_server_latency_seconds"`
	Processing         *float64 `json:"server_processing_time_seconds"`
	Total              *float64 `json:"total_process_time_seconds"`
	PacketLength       *int     `json:"packet_length"`
	SessionTimestamp   *string  `json:"session_timestamp"`

	// Aggregates over all the client's sessions.
	FirstSeen       time.Time `json:"first_seen_timestamp"`
	LastSeen        time.Time `json:"last_seen_timestamp"`
	SessionCount    int64     `json:"session_count"`
	AnsweredCount   int64     `json:"answered_count"`
	UnansweredCount int64     `json:"unanswered_count"`
	// LastUnanswered is the capture time of the latest unanswered request;
	// nil when none went unanswered or the row predates the field.
	LastUnanswered   *string  `json:"last_unanswered_timestamp"`
	KoDCount         int64    `json:"kod_count"`
	LastKoDCode      *string  `json:"last_kod_code"`
	LastKoDTimestamp *string  `json:"last_kod_timestamp"`
	Mode1Count       int64    `json:"mode1_count"`
	Mode2Count       int64    `json:"mode2_count"`
	Mode5Count       int64    `json:"mode5_count"`
	Mode6Count       int64    `json:"mode6_count"`
	Mode7Count       int64    `json:"mode7_count"`
	LatencyCount     int64    `json:"latency_count"`
	LatencyMin       *float64 `json:"latency_min"`
	LatencyMax       *float64 `json:"latency_max"`
	LatencySum       float64  `json:"latency_sum"`
	ProcessingMin    *float64 `json:"processing_min"`
	ProcessingMax    *float64 `json:"processing_max"`
	ProcessingSum    float64  `json:"processing_sum"`
	TotalMin         *float64 `json:"total_min"`
	TotalMax         *float64 `json:"total_max"`
	TotalSum         float64  `json:"total_sum"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`

	// Derived by the API.
	AvgLatency         *float64 `json:"avg_latency_seconds"`
	AvgProcessing      *float64 `json:"avg_processing_seconds"`
	AvgTotal           *float64 `json:"avg_total_seconds"`
	AnswerRatio        *float64 `json:"answer_ratio"`
	AvgRequestInterval *float64 `json:"avg_request_interval_seconds"`

	raw json.RawMessage
}

// clientFields has ClientRow's fields without its methods, for decoding.
type clientFields ClientRow

// UnmarshalJSON decodes a row and keeps the JSON it came from.
func (c *ClientRow) UnmarshalJSON(data []byte) error {
	var f clientFields
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	*c = ClientRow(f)
	c.raw = slices.Clone(data)
	return nil
}

// MarshalJSON returns the JSON the API sent for this row, unchanged (fields
// this package does not know included), or, for a row built in code, its
// fields.
func (c ClientRow) MarshalJSON() ([]byte, error) {
	if c.raw != nil {
		return c.raw, nil
	}
	return json.Marshal(clientFields(c))
}

// ClientList is one page of clients.
type ClientList struct {
	Data       []ClientRow `json:"data"`
	Pagination Pagination  `json:"pagination"`
}

// Pagination describes a page of a list.
type Pagination struct {
	Page       int   `json:"page"`
	PageSize   int   `json:"page_size"`
	Total      int64 `json:"total"`       // rows matching the filters
	TotalPages int64 `json:"total_pages"` // a page beyond it is empty
	// NextCursor, when not empty, reads the rows after this page at any
	// depth for the cost of a first page (pass it as the cursor parameter
	// with the same sort); empty at the end of the list.
	NextCursor string `json:"next_cursor"`
}
