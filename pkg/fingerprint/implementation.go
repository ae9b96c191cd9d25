package fingerprint

import "fmt"

// Implementation is the NTP software a client is taken to run. The zero
// value is Unknown: nothing has been classified yet. Its names (String) are
// the values of the API's implementation field and filter.
type Implementation uint8

// The implementations Classify tells apart.
const (
	Unknown          Implementation = iota // not classified (no request seen)
	Chrony                                 // chronyd, daemon or chronyd -Q
	Ntpd                                   // the ntp.org or ntpsec daemon
	Sntp                                   // one-shot SNTP clients: ntpsec's ntpdig (and Debian's ntpdate wrapper)
	Ntpdate                                // the classic ntp.org ntpdate
	Busybox                                // busybox ntpd
	SystemdTimesyncd                       // systemd-timesyncd
	Openntpd                               // OpenNTPD
	W32time                                // the Windows Time service
	Apple                                  // macOS timed / sntp
	NTS                                    // any client using Network Time Security extension fields
	Other                                  // a request no rule recognises
)

var implementationNames = [...]string{
	Unknown:          "unknown",
	Chrony:           "chrony",
	Ntpd:             "ntpd",
	Sntp:             "sntp",
	Ntpdate:          "ntpdate",
	Busybox:          "busybox",
	SystemdTimesyncd: "systemd-timesyncd",
	Openntpd:         "openntpd",
	W32time:          "w32time",
	Apple:            "apple",
	NTS:              "nts",
	Other:            "other",
}

// Implementations lists every implementation a client can be classified
// as, in a stable order (Unknown is not among them).
func Implementations() []Implementation {
	out := make([]Implementation, 0, len(implementationNames)-1)
	for i := Chrony; i <= Other; i++ {
		out = append(out, i)
	}
	return out
}

// String returns the implementation's name: "chrony", "ntpd", …,
// "systemd-timesyncd", "other"; "unknown" for the zero value.
func (i Implementation) String() string {
	if int(i) < len(implementationNames) {
		return implementationNames[i]
	}
	return fmt.Sprintf("implementation(%d)", uint8(i))
}

// ParseImplementation is the inverse of String. It returns
// ErrUnknownImplementation for any other name.
func ParseImplementation(name string) (Implementation, error) {
	for i, n := range implementationNames {
		if n == name {
			return Implementation(i), nil
		}
	}
	return Unknown, fmt.Errorf("%w: %q", ErrUnknownImplementation, name)
}

// MarshalText implements encoding.TextMarshaler with the name.
func (i Implementation) MarshalText() ([]byte, error) {
	if int(i) >= len(implementationNames) {
		return nil, fmt.Errorf("%w: %d", ErrUnknownImplementation, uint8(i))
	}
	return []byte(implementationNames[i]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseImplementation.
func (i *Implementation) UnmarshalText(b []byte) error {
	v, err := ParseImplementation(string(b))
	if err != nil {
		return err
	}
	*i = v
	return nil
}
