package supervisor

import (
	"fmt"
	"strings"
)

// maxNameLen is IFNAMSIZ (16) less the terminating NUL.
const maxNameLen = 15

// ValidateName checks that name can be a Linux interface name and is safe to
// put on a worker's command line and into file names (ntp_<name>.log). It is
// stricter than the kernel, which accepts any bytes but '/', ':' and
// whitespace: only ASCII letters, digits, '.', '_' and '-' are allowed, the
// name may not start with '-' or '.', and may not contain "..". Every name a
// Linux distribution generates (eth0, enp3s0f1, wlp2s0, br-1a2b3c, eth0.100,
// veth1a2b, wg0) passes. The error wraps ErrInvalid.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty interface name", ErrInvalid)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: interface name is %d bytes, at most %d allowed", ErrInvalid, len(name), maxNameLen)
	case name[0] == '-' || name[0] == '.':
		return fmt.Errorf("%w: interface name %q may not start with %q", ErrInvalid, name, name[0])
	case strings.Contains(name, ".."):
		return fmt.Errorf("%w: interface name %q may not contain \"..\"", ErrInvalid, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '.' || c == '_' || c == '-' {
			continue
		}
		return fmt.Errorf("%w: interface name %q contains %q; only letters, digits, '.', '_' and '-' are allowed", ErrInvalid, name, c)
	}
	return nil
}
