package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

const jsonContentType = "application/json; charset=utf-8"

// writeClientList answers a page of clients in the list envelope.
func writeClientList(c *gin.Context, rows []store.Client, next *store.Cursor, total int64, p store.Page) {
	b := make([]byte, 0, 64+len(rows)*1400)
	b = append(b, `{"data":[`...)
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendClientJSON(b, &rows[i])
	}
	b = append(b, `],"pagination":`...)
	b = appendPagination(b, p, next, total)
	b = append(b, '}')
	c.Data(http.StatusOK, jsonContentType, b)
}

// appendPagination writes the list's pagination object. A page reached by
// cursor has no number: page is null there.
func appendPagination(b []byte, p store.Page, next *store.Cursor, total int64) []byte {
	pages := (total + int64(p.Size) - 1) / int64(p.Size)
	b = append(b, `{"page":`...)
	if p.After == nil {
		b = strconv.AppendInt(b, int64(p.Number), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"page_size":`...)
	b = strconv.AppendInt(b, int64(p.Size), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, total, 10)
	b = append(b, `,"total_pages":`...)
	b = strconv.AppendInt(b, pages, 10)
	b = append(b, `,"next_cursor":`...)
	if next == nil {
		b = append(b, "null"...)
	} else {
		// The cursor is base64url: no character needs escaping.
		b = append(b, '"')
		b = append(b, next.String()...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// writePage answers one page of clients and the total that match.
func (s *Server) writePage(c *gin.Context, f store.ClientFilter, order store.Sort, p store.Page) {
	ctx := c.Request.Context()
	total, err := s.counts.get(ctx, f.Key(), func(ctx context.Context) (int64, error) { return s.cfg.Store.CountClients(ctx, f) })
	if err != nil {
		s.internalError(c, "count clients", err)
		return
	}
	rows := []store.Client{}
	var next *store.Cursor
	if p.After != nil || int64(p.Number-1)*int64(p.Size) < total {
		// The cursor was checked against the order when it was parsed.
		if rows, next, err = s.cfg.Store.ListClients(ctx, f, order, p); err != nil {
			s.internalError(c, "list clients", err)
			return
		}
	}
	writeClientList(c, rows, next, total, p)
}

// GET /api/ntp/history/clients
func (s *Server) listClients(c *gin.Context) {
	p, err := parseListQuery(c)
	if err != nil {
		badRequest(c, err)
		return
	}
	s.writePage(c, p.filter, p.sort, p.page)
}

// GET /api/ntp/history/clients/:client_ip
func (s *Server) clientDetail(c *gin.Context) {
	if _, err := newQuery(c); err != nil {
		badRequest(c, err)
		return
	}
	raw := c.Param("client_ip")
	addr, ok := parseAddr(raw)
	if !ok {
		failField(c, http.StatusBadRequest, CodeInvalidParameter, "client_ip", "client_ip: "+strconv.Quote(raw)+" is not an IP address")
		return
	}
	rows, err := s.cfg.Store.ClientsByIP(c.Request.Context(), addr)
	if err != nil {
		s.internalError(c, "client detail", err)
		return
	}
	if len(rows) == 0 {
		fail(c, http.StatusNotFound, CodeNotFound, "no client "+addr.String()+" in the history")
		return
	}
	b := make([]byte, 0, 64+len(rows)*1400)
	b = append(b, `{"client_ip":`...)
	b = strconv.AppendQuote(b, rows[0].ClientIP)
	b = append(b, `,"data":[`...)
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendClientJSON(b, &rows[i])
	}
	b = append(b, "]}"...)
	c.Data(http.StatusOK, jsonContentType, b)
}

type searchBody struct {
	Filters *filtersBody `json:"filters"`
	Sort    *struct {
		By    string `json:"by"`
		Order string `json:"order"`
	} `json:"sort"`
	Pagination *struct {
		Page     *int    `json:"page"`
		PageSize *int    `json:"page_size"`
		Cursor   *string `json:"cursor"`
	} `json:"pagination"`
}

// POST /api/ntp/history/search
func (s *Server) search(c *gin.Context) {
	var body searchBody
	if !readJSONRequest(c, &body, true) {
		return
	}
	f, err := body.Filters.filter("filters.")
	if err != nil {
		badRequest(c, err)
		return
	}
	order := store.Sort{Field: store.SortLastSeen, Desc: true}
	if body.Sort != nil {
		if order, err = parseSort("sort.by", "sort.order", body.Sort.By, body.Sort.Order, bodyErr); err != nil {
			badRequest(c, err)
			return
		}
	}
	page := store.Page{Number: 1, Size: defaultPageSize}
	if pg := body.Pagination; pg != nil {
		if pg.Page != nil {
			if *pg.Page < 1 || *pg.Page > maxPage {
				badRequest(c, bodyErr("pagination.page", "%d is out of range 1–%d", *pg.Page, maxPage))
				return
			}
			page.Number = *pg.Page
		}
		if pg.PageSize != nil {
			if *pg.PageSize < 1 || *pg.PageSize > maxPageSize {
				badRequest(c, bodyErr("pagination.page_size", "%d is out of range 1–%d", *pg.PageSize, maxPageSize))
				return
			}
			page.Size = *pg.PageSize
		}
		if pg.Cursor != nil {
			if page.After, err = parseCursor("pagination.cursor", *pg.Cursor, pg.Page != nil, order, bodyErr); err != nil {
				badRequest(c, err)
				return
			}
		}
	}
	s.writePage(c, f, order, page)
}
