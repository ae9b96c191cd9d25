package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

type cleanupBody struct {
	OlderThanDays *float64 `json:"older_than_days"`
	Before        *string  `json:"before"`
	DryRun        bool     `json:"dry_run"`
}

// maxCleanupDays bounds older_than_days (about 100 years).
const maxCleanupDays = 36500

type cleanupResponse struct {
	Deleted int64  `json:"deleted"`
	Matched int64  `json:"matched"`
	DryRun  bool   `json:"dry_run"`
	Before  string `json:"before"`
}

// POST /api/ntp/history/cleanup
func (s *Server) cleanup(c *gin.Context) {
	var body cleanupBody
	if !readJSONRequest(c, &body, false) {
		return
	}
	now := s.now().UTC()
	var before time.Time
	switch {
	case body.OlderThanDays != nil && body.Before != nil:
		badRequest(c, bodyErr("before", "give older_than_days or before, not both"))
		return
	case body.OlderThanDays != nil:
		d := *body.OlderThanDays
		if !(d > 0) || d > maxCleanupDays {
			badRequest(c, bodyErr("older_than_days", "%v is out of range: more than 0, at most %d", d, maxCleanupDays))
			return
		}
		before = now.Add(-time.Duration(d * float64(24*time.Hour)))
	case body.Before != nil:
		t, err := parseTime("before", *body.Before, bodyErr)
		if err != nil {
			badRequest(c, err)
			return
		}
		if t.After(now) {
			// A cutoff in the future would delete clients seen a moment
			// ago: almost certainly a mistake (a wrong year, a time zone).
			badRequest(c, bodyErr("before", "%s is in the future", *body.Before))
			return
		}
		before = t
	default:
		badRequest(c, bodyErr("", "give older_than_days (a number of days) or before (an RFC 3339 time)"))
		return
	}
	n, err := s.cfg.Store.Cleanup(c.Request.Context(), before, body.DryRun)
	if err != nil && !errors.Is(err, store.ErrCleanupBefore) {
		s.log.ErrorContext(c.Request.Context(), "cleanup", "err", err, "deleted_before_error", n)
		fail(c, http.StatusInternalServerError, CodeInternal, "cleanup failed after deleting "+strconv.FormatInt(n, 10)+" clients; see the collector log")
		return
	}
	resp := cleanupResponse{Matched: n, DryRun: body.DryRun, Before: before.Format(time.RFC3339Nano)}
	if !body.DryRun {
		resp.Deleted = n
		s.counts.invalidate()
		s.log.InfoContext(c.Request.Context(), "cleanup", "deleted", n, "before", resp.Before)
	}
	s.writeJSON(c, http.StatusOK, resp)
}
