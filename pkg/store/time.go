package store

import (
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// formatTime is t as stored: session.TimeLayout text compares like the time
// itself.
func formatTime(t time.Time) string { return session.FormatTime(t) }
