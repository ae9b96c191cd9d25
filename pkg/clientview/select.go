package clientview

import (
	"context"
	"fmt"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
	"github.com/ntp-monitor/ntp-monitor/pkg/human"
)

// ScanRows is how many of the most recently seen clients an order the API
// does not offer is applied to, when a limit is set: ten pages of the API,
// enough to rank every client of a typical server, and cheap to read.
const ScanRows = 10 * apiclient.MaxPageSize

// Query selects the rows of `clients`.
type Query struct {
	CIDR      string
	Interface string
	Order     Order
	// Limit is the number of rows wanted; 0 means every matching client.
	Limit int
	// Scan bounds the rows an order the API does not offer is applied to
	// when Limit is set; 0 means ScanRows.
	Scan int
}

// Result is a selection of rows.
type Result struct {
	Rows []apiclient.ClientRow
	// Total is the number of clients matching the filters.
	Total int64
	// Scanned is the number of rows read to choose Rows.
	Scanned int
	// Note, when not empty, tells the reader how the rows were chosen when
	// that is not what --sort alone suggests.
	Note string
}

// Select reads the rows q asks for. An order the API offers is the API's;
// another is applied here over the most recently seen clients.
func Select(ctx context.Context, api *apiclient.Client, q Query) (*Result, error) {
	lq := apiclient.ListQuery{CIDR: q.CIDR, Interface: q.Interface}
	want := q.Limit
	if f := q.Order.APIField(); f != "" {
		lq.SortBy, lq.SortOrder = f, q.Order.Direction()
		rows, total, err := fetch(ctx, api, lq, want)
		if err != nil {
			return nil, err
		}
		return &Result{Rows: rows, Total: total, Scanned: len(rows)}, nil
	}
	lq.SortBy, lq.SortOrder = "last_seen", "desc"
	scan := 0 // all
	if want > 0 {
		scan = q.Scan
		if scan <= 0 {
			scan = ScanRows
		}
		scan = max(want, scan)
	}
	rows, total, err := fetch(ctx, api, lq, scan)
	if err != nil {
		return nil, err
	}
	sortRows(rows, q.Order)
	res := &Result{Rows: rows, Total: total, Scanned: len(rows)}
	if want > 0 && len(rows) > want {
		res.Rows = rows[:want]
	}
	if int64(len(rows)) < total {
		res.Note = fmt.Sprintf("the API cannot sort by %s yet: these are the %s most recently seen of %s matching clients, sorted here",
			q.Order.Name(), human.Count(int64(len(rows))), human.Count(total))
	}
	return res, nil
}

// fetch reads up to n rows (all when n is 0) page by page. Rows are
// identified by id: a row that moves to a later page between two requests
// (a client seen again, with last_seen order) is kept once.
func fetch(ctx context.Context, api *apiclient.Client, q apiclient.ListQuery, n int) ([]apiclient.ClientRow, int64, error) {
	q.PageSize = apiclient.MaxPageSize
	if n > 0 && n < q.PageSize {
		q.PageSize = n
	}
	var rows []apiclient.ClientRow
	seen := make(map[int64]bool)
	var total int64
	for q.Page = 1; ; q.Page++ {
		page, err := api.ListClients(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		if q.Page == 1 {
			total = page.Pagination.Total
		}
		for _, r := range page.Data {
			if !seen[r.ID] {
				seen[r.ID] = true
				rows = append(rows, r)
			}
		}
		if (n > 0 && len(rows) >= n) || len(page.Data) < q.PageSize || int64(q.Page) >= page.Pagination.TotalPages {
			break
		}
	}
	if n > 0 && len(rows) > n {
		rows = rows[:n]
	}
	return rows, total, nil
}
