package httpapi

import (
	"net/http"
	"strconv"
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
// Rows stream from SQLite to the client in chunks of a few thousand, read
// and rendered by parallel readers and written in id order: memory does not
// depend on the size of the export. Once the first byte is out the
// status is 200; an error later aborts the connection, so the client sees a
// truncated transfer rather than a file that looks complete.
func (s *Server) export(c *gin.Context) {
	var body exportBody
	if !readJSONRequest(c, &body, false) {
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

	// Each write gets its own deadline instead of one for the whole export:
	// a slow reader is fine, a stalled one is dropped.
	write := func(b []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(exportStall))
		_, err := c.Writer.Write(b)
		return err
	}
	var render func(b []byte, cl *store.Client) []byte
	var head, tail []byte
	switch body.Format {
	case "json":
		// Every row is rendered with a leading separator; the first one
		// written drops it.
		render = func(b []byte, cl *store.Client) []byte { return appendClientJSON(append(b, ",\n"...), cl) }
		head, tail = []byte("["), []byte("\n]\n")
	case "ndjson":
		render = func(b []byte, cl *store.Client) []byte { return append(appendClientJSON(b, cl), '\n') }
	case "csv":
		render = appendClientCSV
		head = appendCSVHeader(nil)
	}
	err = write(head)
	first := true
	var n int64
	if err == nil {
		n, err = s.cfg.Store.ExportRendered(c.Request.Context(), f, limit, s.exportWorkers, render, func(ch store.ExportChunk) error {
			b := ch.Buf
			if first && body.Format == "json" {
				b = b[1:]
			}
			first = false
			return write(b)
		})
	}
	if err == nil {
		err = write(tail)
	}
	if err == nil {
		err = rc.Flush()
	}
	if err != nil {
		s.log.WarnContext(c.Request.Context(), "export aborted", "format", body.Format, "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	s.log.InfoContext(c.Request.Context(), "export", "format", body.Format, "rows", n)
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
