package httpapi

import (
	"bufio"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

type exportBody struct {
	Format  string       `json:"format"`
	Limit   *int64       `json:"limit"`
	Filters *filtersBody `json:"filters"`
}

var exportFormats = map[string]struct{ contentType, ext string }{
	"json":   {"application/json; charset=utf-8", "json"},
	"ndjson": {"application/x-ndjson", "ndjson"},
	"csv":    {"text/csv; charset=utf-8", "csv"},
}

// exportStall is how long one write of an export may block on a client that
// does not read before the connection is dropped.
const exportStall = 30 * time.Second

// POST /api/ntp/history/export
//
// Rows stream from SQLite through a 64 KiB buffer to the client: memory does
// not depend on the size of the export. Once the first byte is out the
// status is 200; an error later aborts the connection, so the client sees a
// truncated transfer rather than a file that looks complete.
func (s *Server) export(c *gin.Context) {
	if _, err := newQuery(c); err != nil {
		badRequest(c, err)
		return
	}
	var body exportBody
	if err := decodeJSON(c, &body, false); err != nil {
		badRequest(c, err)
		return
	}
	ft, ok := exportFormats[body.Format]
	if !ok {
		badRequest(c, bodyErr("format", "%q is not json, ndjson or csv", body.Format))
		return
	}
	limit := s.cfg.ExportLimit
	if body.Limit != nil {
		if *body.Limit < 1 || *body.Limit > s.cfg.ExportLimit {
			badRequest(c, bodyErr("limit", "%d is out of range 1–%d", *body.Limit, s.cfg.ExportLimit))
			return
		}
		limit = *body.Limit
	}
	f, err := body.Filters.filter("filters.")
	if err != nil {
		badRequest(c, err)
		return
	}

	rc := http.NewResponseController(c.Writer)
	name := "ntp-clients-" + s.now().UTC().Format("20060102T150405Z") + "." + ft.ext
	c.Header("Content-Type", ft.contentType)
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Header("X-Export-Limit", formatInt(limit))
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)

	w := bufio.NewWriterSize(c.Writer, 64<<10)
	buf := make([]byte, 0, 4096)
	// Give each flush its own deadline instead of one for the whole export.
	flush := func() error {
		_ = rc.SetWriteDeadline(time.Now().Add(exportStall))
		return w.Flush()
	}
	switch body.Format {
	case "json":
		buf = append(buf, '[')
	case "csv":
		buf = appendCSVHeader(buf)
	}
	_, _ = w.Write(buf) // into the buffer: cannot fail before the first flush
	buf = buf[:0]
	first := true
	n, err := s.cfg.Store.ExportClients(c.Request.Context(), f, limit, func(cl *store.Client) error {
		switch body.Format {
		case "json":
			if !first {
				buf = append(buf, ',')
			}
			buf = append(buf, '\n')
			buf = appendClientJSON(buf, cl)
		case "ndjson":
			buf = appendClientJSON(buf, cl)
			buf = append(buf, '\n')
		case "csv":
			buf = appendClientCSV(buf, cl)
		}
		first = false
		if w.Available() < len(buf) {
			if err := flush(); err != nil {
				return err
			}
		}
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	})
	if err == nil && body.Format == "json" {
		_, err = w.Write([]byte("\n]\n"))
	}
	if err == nil {
		err = flush()
	}
	if err != nil {
		s.log.WarnContext(c.Request.Context(), "export aborted", "format", body.Format, "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	s.log.InfoContext(c.Request.Context(), "export", "format", body.Format, "rows", n)
}
