package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/api"
)

// specDoc is the API's own contract, served as it was compiled in.
type specDoc struct {
	body []byte
	etag string
}

func newSpecDoc() specDoc {
	b := api.OpenAPI()
	sum := sha256.Sum256(b)
	return specDoc{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// GET /api/openapi.yaml: the OpenAPI document, for client generators
// and API browsers. The ETag is the document's hash, so a client revalidates
// for free and an upgraded collector is noticed.
func (s *Server) openAPI(c *gin.Context) {
	if _, err := newQuery(c); err != nil {
		badRequest(c, err)
		return
	}
	c.Header("Content-Type", "application/yaml")
	c.Header("ETag", s.spec.etag)
	c.Header("Cache-Control", "no-cache")
	http.ServeContent(c.Writer, c.Request, "openapi.yaml", time.Time{}, bytes.NewReader(s.spec.body))
}
