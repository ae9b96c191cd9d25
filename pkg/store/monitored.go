package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// MonitoredInterface is one entry of the supervisor's desired state: an
// interface to capture on, the worker options for it, and whether a worker
// should be running.
type MonitoredInterface struct {
	Name      string
	Options   string // a JSON object
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SetMonitored records or replaces the desired state of interface name.
// optionsJSON must be a JSON object ("{}" when there are no options).
func (s *Store) SetMonitored(ctx context.Context, name, optionsJSON string, enabled bool) error {
	if name == "" {
		return fmt.Errorf("store: monitored interface: empty name")
	}
	if optionsJSON == "" {
		optionsJSON = "{}"
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(optionsJSON), &obj); err != nil || obj == nil {
		return fmt.Errorf("store: monitored interface %q: options are not a JSON object: %q", name, optionsJSON)
	}
	now := formatTime(time.Now())
	_, err := s.w.ExecContext(ctx, `INSERT INTO monitored_interfaces (name, options, enabled, created_at, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET options = excluded.options, enabled = excluded.enabled, updated_at = excluded.updated_at`,
		name, optionsJSON, enabled, now, now)
	return s.wrap(fmt.Sprintf("set monitored interface %q", name), err)
}

// DeleteMonitored forgets interface name; it reports whether it was known.
func (s *Store) DeleteMonitored(ctx context.Context, name string) (bool, error) {
	res, err := s.w.ExecContext(ctx, "DELETE FROM monitored_interfaces WHERE name = ?", name)
	if err != nil {
		return false, s.wrap(fmt.Sprintf("delete monitored interface %q", name), err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Monitored lists the desired state, ordered by interface name.
func (s *Store) Monitored(ctx context.Context) ([]MonitoredInterface, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT name, options, enabled, created_at, updated_at FROM monitored_interfaces ORDER BY name")
	if err != nil {
		return nil, s.wrap("list monitored interfaces", err)
	}
	defer rows.Close()
	var out []MonitoredInterface
	for rows.Next() {
		var m MonitoredInterface
		var created, updated string
		if err := rows.Scan(&m.Name, &m.Options, &m.Enabled, &created, &updated); err != nil {
			return nil, s.wrap("list monitored interfaces", err)
		}
		if m.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
			return nil, fmt.Errorf("store: monitored interface %q: created_at %q: %w", m.Name, created, err)
		}
		if m.UpdatedAt, err = time.Parse(time.RFC3339Nano, updated); err != nil {
			return nil, fmt.Errorf("store: monitored interface %q: updated_at %q: %w", m.Name, updated, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list monitored interfaces", err)
	}
	return out, nil
}
