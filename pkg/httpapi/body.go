package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// maxBody bounds every JSON request body.
const maxBody = 1 << 20

// requireJSON answers 415 to a POST whose Content-Type is not
// application/json, one with an empty body included. Every POST of the API
// takes JSON; and what a browser sends to another origin without asking
// first — a form, a no-cors fetch — can only be text/plain, a form or
// multipart, so this also keeps a forged request out before any other
// check.
//
// A request no route takes (FullPath is empty) passes, to get its 404 or
// 405.
func requireJSON() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Method != http.MethodPost || c.FullPath() == "" {
			c.Next()
			return
		}
		ct := c.GetHeader("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			msg := fmt.Sprintf("Content-Type %q: send application/json", ct)
			if ct == "" {
				msg = "no Content-Type: every POST takes application/json, an empty body too"
			}
			fail(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, msg)
			return
		}
		c.Next()
	}
}

// readJSONRequest does what every endpoint that takes a JSON body does
// first: refuse query parameters, then decode the body into v as
// decodeJSON does. It has answered 400 (or 413) when it returns false.
func readJSONRequest(c *gin.Context, v any, emptyOK bool) bool {
	if _, err := newQuery(c); err != nil {
		badRequest(c, err)
		return false
	}
	if err := decodeJSON(c, v, emptyOK); err != nil {
		badRequest(c, err)
		return false
	}
	return true
}

// decodeJSON reads the request body into v: one JSON object, no unknown
// fields, no trailing data, at most maxBody bytes. Errors name the field.
// An empty body is allowed only when emptyOK.
func decodeJSON(c *gin.Context, v any, emptyOK bool) error {
	body := http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			if emptyOK {
				return nil
			}
			return bodyErr("", "the request body is empty; send a JSON object")
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err)
		}
		return bodyErr("", "unexpected data after the JSON object")
	}
	return nil
}

// jsonError turns encoding/json's errors into ones that name the field.
func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return &validationError{code: CodeBodyTooLarge, msg: fmt.Sprintf("the request body is over %d bytes", mbe.Limit)}
	case errors.As(err, &syn):
		return bodyErr("", "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return bodyErr("", "the body must be a JSON object, not %s", typ.Value)
		}
		return bodyErr(field, "expected %s, got %s", jsonTypeName(typ.Type.String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bodyErr("", "the JSON body ends too early")
	}
	// encoding/json reports unknown fields only as text: json: unknown field "x".
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return bodyErr(name, "unknown field")
	}
	return bodyErr("", "%v", err)
}

func jsonTypeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.Contains(goType, "int"):
		return "an integer"
	case strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.Contains(goType, "string"):
		return "a string"
	}
	return "an object"
}
