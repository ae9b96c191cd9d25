package apiclient

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// MaxPageSize is the largest page the API serves.
const MaxPageSize = 1000

// ListQuery is the query of GET /api/ntp/history/clients. Zero fields are
// left out, so the API applies its defaults.
type ListQuery struct {
	Page       int
	PageSize   int
	SearchIP   string
	CIDR       string
	Interface  string
	NTPVersion *int
	SeenAfter  time.Time
	SeenBefore time.Time
	// SortBy is one of the API's sort fields (last_seen, session_count, …);
	// SortOrder asc or desc.
	SortBy    string
	SortOrder string
}

func (q ListQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Page > 0 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.PageSize > 0 {
		v.Set("page_size", strconv.Itoa(q.PageSize))
	}
	set("search_ip", q.SearchIP)
	set("cidr", q.CIDR)
	set("interface_name", q.Interface)
	if q.NTPVersion != nil {
		v.Set("ntp_version", strconv.Itoa(*q.NTPVersion))
	}
	if !q.SeenAfter.IsZero() {
		v.Set("seen_after", q.SeenAfter.UTC().Format(time.RFC3339Nano))
	}
	if !q.SeenBefore.IsZero() {
		v.Set("seen_before", q.SeenBefore.UTC().Format(time.RFC3339Nano))
	}
	set("sort_by", q.SortBy)
	set("sort_order", q.SortOrder)
	return v
}

// ListClients reads one page of GET /api/ntp/history/clients.
func (c *Client) ListClients(ctx context.Context, q ListQuery) (*ClientList, error) {
	var out ClientList
	if err := c.get(ctx, "/api/ntp/history/clients", q.values(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SearchRequest is the body of POST /api/ntp/history/search.
type SearchRequest struct {
	Filters    *Filters  `json:"filters,omitempty"`
	Sort       *Sort     `json:"sort,omitempty"`
	Pagination *PageSpec `json:"pagination,omitempty"`
}

// Filters narrow a search; every field set must hold (AND), values in one
// list are alternatives (OR).
type Filters struct {
	ClientIPs      []string   `json:"client_ips,omitempty"`
	SearchIP       string     `json:"search_ip,omitempty"`
	InterfaceNames []string   `json:"interface_names,omitempty"`
	CIDRs          []string   `json:"cidrs,omitempty"`
	NTPVersions    []int      `json:"ntp_versions,omitempty"`
	Stratum        *Range     `json:"stratum,omitempty"`
	SeenAfter      *time.Time `json:"seen_after,omitempty"`
	SeenBefore     *time.Time `json:"seen_before,omitempty"`
	MinSessions    *int64     `json:"min_sessions,omitempty"`
	HasUnanswered  *bool      `json:"has_unanswered,omitempty"`
	HasKoD         *bool      `json:"has_kod,omitempty"`
}

// Range is an inclusive range; a nil bound is open.
type Range struct {
	Min *int `json:"min,omitempty"`
	Max *int `json:"max,omitempty"`
}

// Sort is a search's order: By one of the API's sort fields, Order asc or
// desc.
type Sort struct {
	By    string `json:"by,omitempty"`
	Order string `json:"order,omitempty"`
}

// PageSpec selects a page of a search.
type PageSpec struct {
	Page     int `json:"page,omitempty"`
	PageSize int `json:"page_size,omitempty"`
}

// SearchClients runs POST /api/ntp/history/search.
func (c *Client) SearchClients(ctx context.Context, r SearchRequest) (*ClientList, error) {
	var out ClientList
	if err := c.post(ctx, "/api/ntp/history/search", r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
