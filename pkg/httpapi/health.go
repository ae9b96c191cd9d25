package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/pkg/buildinfo"
	"github.com/ntp-monitor/ntp-monitor/pkg/supervisor"
)

type healthCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

type healthWorker struct {
	Interface string `json:"interface"`
	State     string `json:"state"`
	PID       int    `json:"pid,omitempty"`
}

type healthResponse struct {
	Status        string         `json:"status"` // "ok" or "unhealthy"
	Failing       []string       `json:"failing"`
	Checks        []healthCheck  `json:"checks"`
	QueueSize     *int           `json:"queue_size,omitempty"`
	QueueCapacity *int           `json:"queue_capacity,omitempty"`
	Workers       []healthWorker `json:"workers,omitempty"`
	// Build says which collector answers: what --version prints.
	Build buildinfo.Info `json:"build"`
}

// health answers 200 when every check passes and 503 naming the failing
// ones otherwise.
//
// /health (full=false) checks the collector itself: the database answers a
// real query, the ingestion listener is up and the batch writer alive. It is
// what a process monitor should restart on. /api/ntp/history/health
// (full=true) adds the supervised workers: one in state failed (restarted
// too often) makes it unhealthy too, because capture on that interface has
// stopped — something an operator must look at, but restarting the
// collector would not cure.
func (s *Server) health(full bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, err := newQuery(c); err != nil {
			badRequest(c, err)
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		resp := healthResponse{Failing: []string{}, Build: s.build}
		add := func(name string, err error) {
			hc := healthCheck{Name: name, OK: err == nil}
			if err != nil {
				hc.Detail = err.Error()
				resp.Failing = append(resp.Failing, name)
			}
			resp.Checks = append(resp.Checks, hc)
		}
		var one int
		err := s.cfg.Store.ReadDB().QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM ntp_clients LIMIT 1)").Scan(&one)
		add("database", err)
		if s.cfg.Ingest != nil {
			sn := s.cfg.Ingest.Snapshot()
			add("ingestion", s.cfg.Ingest.Health())
			resp.QueueSize, resp.QueueCapacity = &sn.QueueSize, &sn.QueueCapacity
		}
		if full && s.cfg.Supervisor != nil {
			ifs, err := s.cfg.Supervisor.Interfaces(ctx)
			add("supervisor", err)
			for _, i := range ifs {
				if i.Monitoring == supervisor.StateStopped || i.Monitoring == "" {
					continue
				}
				resp.Workers = append(resp.Workers, healthWorker{Interface: i.Name, State: string(i.Monitoring), PID: i.PID})
				if i.Monitoring == supervisor.StateFailed {
					hc := healthCheck{Name: "worker:" + i.Name, OK: false, Detail: "worker failed: restarted too often; see its status"}
					resp.Checks = append(resp.Checks, hc)
					resp.Failing = append(resp.Failing, hc.Name)
				}
			}
		}
		status := http.StatusOK
		resp.Status = "ok"
		if len(resp.Failing) > 0 {
			status = http.StatusServiceUnavailable
			resp.Status = "unhealthy"
		}
		s.writeJSON(c, status, resp)
	}
}
