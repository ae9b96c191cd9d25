package httpapi

// The REST face of the worker supervisor: the host's network interfaces and
// the capture worker on each (list, start, stop, status).

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/pkg/supervisor"
)

// supervisorError maps the supervisor's sentinel errors to a status and code.
func (s *Server) supervisorError(c *gin.Context, what string, err error) {
	switch {
	case errors.Is(err, supervisor.ErrInvalid):
		fail(c, http.StatusBadRequest, CodeInvalidParameter, err.Error())
	case errors.Is(err, supervisor.ErrNoSuchInterface):
		fail(c, http.StatusNotFound, CodeNoSuchInterface, err.Error()+"; GET /api/ntp/interfaces lists this host's interfaces")
	case errors.Is(err, supervisor.ErrNotRunning):
		fail(c, http.StatusNotFound, CodeNotRunning, err.Error())
	case errors.Is(err, supervisor.ErrAlreadyRunning):
		fail(c, http.StatusConflict, CodeAlreadyRunning, err.Error())
	case errors.Is(err, supervisor.ErrWorkerBinary):
		s.log.ErrorContext(c.Request.Context(), what, "err", err)
		fail(c, http.StatusInternalServerError, CodeWorkerBinary, err.Error())
	case errors.Is(err, supervisor.ErrClosed):
		fail(c, http.StatusServiceUnavailable, CodeUnavailable, err.Error())
	default:
		s.internalError(c, what, err)
	}
}

// withSupervisor answers 503 when the collector runs without one.
func (s *Server) withSupervisor(c *gin.Context) (Supervisor, bool) {
	if s.cfg.Supervisor == nil {
		fail(c, http.StatusServiceUnavailable, CodeSupervisorMissing, "supervisor not enabled in this collector")
		return nil, false
	}
	return s.cfg.Supervisor, true
}

// interfaceName validates the :name path parameter.
func (s *Server) interfaceName(c *gin.Context) (string, bool) {
	name := c.Param("name")
	if err := supervisor.ValidateName(name); err != nil {
		failField(c, http.StatusBadRequest, CodeInvalidParameter, "name", err.Error())
		return "", false
	}
	return name, true
}

// interfaceRequest does what every /api/ntp/interfaces/:name endpoint does
// first: refuse query parameters, check that a supervisor runs, validate the
// name. It has answered the request when ok is false.
func (s *Server) interfaceRequest(c *gin.Context) (sup Supervisor, name string, ok bool) {
	if _, err := newQuery(c); err != nil {
		badRequest(c, err)
		return nil, "", false
	}
	if sup, ok = s.withSupervisor(c); !ok {
		return nil, "", false
	}
	if name, ok = s.interfaceName(c); !ok {
		return nil, "", false
	}
	return sup, name, true
}

// GET /api/ntp/interfaces
func (s *Server) listInterfaces(c *gin.Context) {
	if _, err := newQuery(c); err != nil {
		badRequest(c, err)
		return
	}
	sup, ok := s.withSupervisor(c)
	if !ok {
		return
	}
	ifs, err := sup.Interfaces(c.Request.Context())
	if err != nil {
		s.supervisorError(c, "list interfaces", err)
		return
	}
	if ifs == nil {
		ifs = []supervisor.InterfaceInfo{}
	}
	s.writeJSON(c, http.StatusOK, gin.H{"data": ifs})
}

// POST /api/ntp/interfaces/:name/start
func (s *Server) startInterface(c *gin.Context) {
	sup, name, ok := s.interfaceRequest(c)
	if !ok {
		return
	}
	var opts supervisor.Options
	if err := decodeJSON(c, &opts, true); err != nil {
		badRequest(c, err)
		return
	}
	if err := opts.Validate(); err != nil {
		badRequest(c, bodyErr("", "%v", err))
		return
	}
	st, err := sup.Start(c.Request.Context(), name, opts)
	if err != nil {
		s.supervisorError(c, "start worker", err)
		return
	}
	s.writeJSON(c, http.StatusCreated, st)
}

// POST /api/ntp/interfaces/:name/stop
func (s *Server) stopInterface(c *gin.Context) {
	sup, name, ok := s.interfaceRequest(c)
	if !ok {
		return
	}
	var empty struct{}
	if err := decodeJSON(c, &empty, true); err != nil {
		badRequest(c, err)
		return
	}
	st, err := sup.Stop(c.Request.Context(), name)
	if err != nil {
		s.supervisorError(c, "stop worker", err)
		return
	}
	s.writeJSON(c, http.StatusOK, st)
}

// GET /api/ntp/interfaces/:name/status
func (s *Server) interfaceStatus(c *gin.Context) {
	sup, name, ok := s.interfaceRequest(c)
	if !ok {
		return
	}
	st, err := sup.Status(name)
	if err != nil {
		s.supervisorError(c, "worker status", err)
		return
	}
	s.writeJSON(c, http.StatusOK, st)
}
