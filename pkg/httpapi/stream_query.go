package httpapi

import (
	"strconv"
	"strings"

	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
)

// streamQueryNames are the filters of GET /api/ntp/stream.
var streamQueryNames = []string{"interface_name", "cidr", "client_ip", "answered", "kod", "mode"}

// parseStreamQuery reads the filters of GET /api/ntp/stream from a raw
// query string, with the client list's rules for the parameters they
// share (interface_name, cidr). A bad one is a validation error naming it.
func parseStreamQuery(raw string) (stream.Filter, error) {
	var f stream.Filter
	q, err := parseQuery(raw, nil, streamQueryNames...)
	if err != nil {
		return f, err
	}
	if s, ok := q.str("interface_name"); ok {
		if err := checkInterfaceName("interface_name", s, paramErr); err != nil {
			return f, err
		}
		f.Interface = s
	}
	if s, ok := q.str("cidr"); ok {
		if f.Prefix, err = parsePrefix("cidr", s, paramErr); err != nil {
			return f, err
		}
	}
	if s, ok := q.str("client_ip"); ok {
		a, ok := parseAddr(s)
		if !ok {
			return f, paramErr("client_ip", "%q is not an IP address", s)
		}
		f.ClientIP = a
	}
	if f.Answered, err = q.boolean("answered"); err != nil {
		return f, err
	}
	if f.KoD, err = q.boolean("kod"); err != nil {
		return f, err
	}
	if s, ok := q.str("mode"); ok {
		if f.Modes, err = parseModes("mode", s); err != nil {
			return f, err
		}
	}
	return f, nil
}

// boolean reads true or false; absent is nil.
func (q query) boolean(name string) (*bool, error) {
	s, ok := q.str(name)
	if !ok {
		return nil, nil
	}
	switch s {
	case "true":
		v := true
		return &v, nil
	case "false":
		v := false
		return &v, nil
	}
	return nil, paramErr(name, "%q is not true or false", s)
}

// parseModes reads a comma-separated list of NTP modes (0–7), such as
// 6,7, into a set with bit m for mode m.
func parseModes(field, s string) (uint8, error) {
	var set uint8
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		m, err := strconv.Atoi(part)
		if err != nil || m < 0 || m > 7 {
			if part == "" {
				return 0, paramErr(field, "value %d of %q is empty; give modes 0–7 separated by commas, such as 6,7", i+1, s)
			}
			return 0, paramErr(field, "%q is not an NTP mode 0–7; give modes separated by commas, such as 6,7", part)
		}
		set |= 1 << m
	}
	return set, nil
}
