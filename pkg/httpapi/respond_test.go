package httpapi

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// TestNonFiniteStatistics: server processing times of 1e308 s overflow
// the stored sums to +Inf. The statistics then answered 200 with an empty
// body; now every endpoint answers JSON, with null where a figure is not
// a number.
func TestNonFiniteStatistics(t *testing.T) {
	st := openStore(t)
	huge := func(s *sessionT) { s.Processing = 1e308 }
	commit(t, st,
		sess("192.0.2.1", at(time.Second), huge), sess("192.0.2.1", at(2*time.Second), huge),
		sess("192.0.2.2", at(3*time.Second), huge))
	ts := newTestServer(t, st, nil)
	for _, path := range []string{"/api/ntp/history/interfaces/statistics", "/api/ntp/history/clients",
		"/api/ntp/history/clients/192.0.2.1", "/api/ntp/history/service/statistics", "/health", "/metrics"} {
		r := ts.do("GET", path, nil)
		wantStatus(t, r, http.StatusOK)
		if r.Body.Len() == 0 {
			t.Errorf("%s: 200 with an empty body", path)
		}
		if strings.HasPrefix(r.Header().Get("Content-Type"), "application/json") && !json.Valid(r.Body.Bytes()) {
			t.Errorf("%s: not JSON: %.300s", path, r.Body.String())
		}
	}
	r := ts.do("GET", "/api/ntp/history/interfaces/statistics", nil)
	var out struct {
		Data []struct {
			Processing map[string]any `json:"server_processing_time_seconds"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Body.Bytes(), &out); err != nil || len(out.Data) != 1 {
		t.Fatalf("statistics: %v: %s", err, r.Body.String())
	}
	p := out.Data[0].Processing
	if p["mean"] != nil || p["max"] != 1e308 || p["sessions"] != 3.0 {
		t.Errorf("processing statistics %v: want mean null (the sum is +Inf), max 1e308", p)
	}
	detail := decode[struct {
		Data []map[string]any `json:"data"`
	}](t, ts.do("GET", "/api/ntp/history/clients/192.0.2.1", nil))
	if v, ok := detail.Data[0]["avg_processing_seconds"]; !ok || v != nil {
		t.Errorf("avg_processing_seconds %v, want null", v)
	}
}

// TestUnencodableAnswer: an answer that cannot be encoded is a 500 with an
// error body, never a 200 with an empty one.
func TestUnencodableAnswer(t *testing.T) {
	ts := newTestServer(t, openStore(t), nil)
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest("GET", "/x", nil)
	ts.srv.writeJSON(c, http.StatusOK, map[string]float64{"mean": math.Inf(1)})
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %s", w.Code, w.Body.String())
	}
	var eb errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Code != CodeInternal {
		t.Errorf("body %s (%v)", w.Body.String(), err)
	}
}

// TestNoUnbufferedRendering: no handler writes through Gin's renderers,
// which send the status before they know the body encodes.
func TestNoUnbufferedRendering(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	banned := map[string]bool{"JSON": true, "IndentedJSON": true, "SecureJSON": true, "JSONP": true,
		"AsciiJSON": true, "PureJSON": true, "AbortWithStatusJSON": true, "Render": true, "XML": true,
		"YAML": true, "TOML": true, "ProtoBuf": true}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && banned[sel.Sel.Name] {
				t.Errorf("%s: .%s(…): render into a buffer first (writeJSON)", fset.Position(call.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
}
