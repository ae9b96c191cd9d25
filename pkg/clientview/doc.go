// Package clientview is the terminal view of the collector's client rows:
// the columns of `ntp-collector clients` (and the shorter set `top` uses),
// the orders it can sort by and how each maps onto the API, and the
// selection of rows through the API's paging.
//
// Sorting is table-driven (see sort.go). An order the API offers is asked of
// the API, which sorts the whole table; an order it does not offer yet is
// applied here, over the most recently seen clients (up to ScanRows of them,
// or all with no limit), and Result.Note says so. When the API gains an
// order, mapping it is one field of one line in the table, and a test
// checks the table against api/openapi.yaml.
//
// For scripts, WriteJSON prints a stable envelope around the rows exactly as
// the API sent them:
//
//	{"api": "http://127.0.0.1:8000", "generated_at": "…",
//	 "sort": {"by": "interval", "order": "asc", "api_sort_by": null},
//	 "total": 1234, "scanned": 1234, "data": [ …Client objects… ]}
//
// total counts the clients matching the filters, scanned the rows read to
// choose the ones in data, and api_sort_by is the API sort field used, null
// when the rows were sorted here.
package clientview
