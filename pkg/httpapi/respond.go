package httpapi

// Answers are rendered whole before the status line goes out. Gin's own
// JSON rendering writes the status first and the body after: when encoding
// fails (a +Inf in a statistic, which JSON cannot spell) the client got
// 200 and an empty body, an answer that looks valid and is not. Here an
// answer that cannot be encoded is a logged 500 with an error body. The
// client rows, NDJSON and CSV are appended by hand (render.go) and cannot
// fail; export is the one endpoint that streams, and it aborts the
// connection on an error rather than finish a truncated body.
// TestNoUnbufferedRendering holds the package to this.

import (
	"encoding/json"
	"math"
	"net/http"

	"github.com/gin-gonic/gin"
)

// writeJSON answers status with v as JSON.
func (s *Server) writeJSON(c *gin.Context, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.internalError(c, "encode the answer", err)
		return
	}
	c.Data(status, jsonContentType, b)
}

// finite is v when it is a number JSON can spell, else nil (null): a sum
// of huge values overflows to +Inf, and no average of it means anything.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// abortJSON ends the handler chain with an error body, which always
// encodes.
func abortJSON(c *gin.Context, status int, body errorBody) {
	b, err := json.Marshal(body)
	if err != nil {
		b = []byte(`{"error":{"code":"internal","message":"unencodable error"}}`)
		status = http.StatusInternalServerError
	}
	c.Abort()
	c.Data(status, jsonContentType, b)
}
