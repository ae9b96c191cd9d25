package httpapi

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Error codes: the stable vocabulary of {"error":{"code":…}}. Clients branch
// on the code; the message is for people and may change.
const (
	CodeInvalidParameter  = "invalid_parameter"   // 400: a query or path parameter is missing, unknown or out of range
	CodeInvalidBody       = "invalid_body"        // 400: the JSON body is malformed, has an unknown field, a wrong type or a bad value
	CodeUnauthorized      = "unauthorized"        // 401: no bearer token, or a malformed Authorization header
	CodeForbidden         = "forbidden"           // 403: a bearer token that does not open this endpoint
	CodeCrossOrigin       = "cross_origin"        // 403: a state-changing request from another origin
	CodeNotFound          = "not_found"           // 404: no such route or client
	CodeNoSuchInterface   = "no_such_interface"   // 404: the host has no interface of that name
	CodeNotRunning        = "not_running"         // 404: no worker is supervised on that interface
	CodeMethodNotAllowed  = "method_not_allowed"  // 405
	CodeAlreadyRunning    = "already_running"     // 409: a worker already runs on that interface
	CodeBodyTooLarge      = "body_too_large"      // 413
	CodeUnsupportedMedia  = "unsupported_media"   // 415: a POST whose Content-Type is not application/json
	CodeMisdirected       = "misdirected"         // 421: a Host header that does not name this collector
	CodeInternal          = "internal"            // 500
	CodeWorkerBinary      = "worker_binary"       // 500: the worker executable is missing or not executable
	CodeUnavailable       = "unavailable"         // 503: a part the request needs is down (named in the message)
	CodeSupervisorMissing = "supervisor_disabled" // 503: the collector runs without a supervisor
	CodeTooManyStreams    = "too_many_streams"    // 503: --max-stream-clients live streams are open already
)

// apiError is the body of every error response.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the parameter or JSON field at fault, when there is one.
	Field string `json:"field,omitempty"`
}

type errorBody struct {
	Error apiError `json:"error"`
}

// validationError is a 4xx about one parameter or field.
type validationError struct {
	code  string
	field string
	msg   string
}

func (e *validationError) Error() string { return e.msg }

func (e *validationError) status() int {
	switch e.code {
	case CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func paramErr(field, format string, a ...any) error {
	return &validationError{code: CodeInvalidParameter, field: field, msg: field + ": " + fmt.Sprintf(format, a...)}
}

func bodyErr(field, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &validationError{code: CodeInvalidBody, field: field, msg: msg}
}

// fail answers with an error and stops the handler chain.
func fail(c *gin.Context, status int, code, msg string) {
	abortJSON(c, status, errorBody{apiError{Code: code, Message: msg}})
}

// failField answers with an error about one parameter or body field.
func failField(c *gin.Context, status int, code, field, msg string) {
	abortJSON(c, status, errorBody{apiError{Code: code, Message: msg, Field: field}})
}

// badRequest is the 400 of a validation error.
func badRequest(c *gin.Context, err error) {
	if ve, ok := err.(*validationError); ok {
		failField(c, ve.status(), ve.code, ve.field, ve.msg)
		return
	}
	fail(c, http.StatusBadRequest, CodeInvalidParameter, err.Error())
}

// internalError logs err with the request and answers 500 without details:
// they may name files and SQL.
func (s *Server) internalError(c *gin.Context, what string, err error) {
	s.log.ErrorContext(c.Request.Context(), what, "err", err, "method", c.Request.Method, "path", c.Request.URL.Path)
	fail(c, http.StatusInternalServerError, CodeInternal, what+" failed; see the collector log")
}
