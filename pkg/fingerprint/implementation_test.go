package fingerprint_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/fingerprint"
)

// TestImplementationNames checks the names the API will use, both ways.
func TestImplementationNames(t *testing.T) {
	want := []string{"chrony", "ntpd", "sntp", "ntpdate", "busybox", "systemd-timesyncd", "openntpd",
		"w32time", "apple", "nts", "other"}
	impls := fingerprint.Implementations()
	if len(impls) != len(want) {
		t.Fatalf("%d implementations, want %d", len(impls), len(want))
	}
	for i, impl := range impls {
		if impl.String() != want[i] {
			t.Errorf("implementation %d is %q, want %q", i, impl, want[i])
		}
		back, err := fingerprint.ParseImplementation(want[i])
		if err != nil || back != impl {
			t.Errorf("ParseImplementation(%q) = %v, %v", want[i], back, err)
		}
		b, err := json.Marshal(impl)
		if err != nil || string(b) != `"`+want[i]+`"` {
			t.Errorf("JSON of %v: %s, %v", impl, b, err)
		}
		var fromJSON fingerprint.Implementation
		if err := json.Unmarshal(b, &fromJSON); err != nil || fromJSON != impl {
			t.Errorf("JSON %s gave %v, %v", b, fromJSON, err)
		}
	}
	if fingerprint.Unknown.String() != "unknown" {
		t.Errorf("zero value is %q", fingerprint.Unknown)
	}
	for _, bad := range []string{"", "Chrony", "windows", "ntpd "} {
		if _, err := fingerprint.ParseImplementation(bad); !errors.Is(err, fingerprint.ErrUnknownImplementation) {
			t.Errorf("ParseImplementation(%q): %v, want ErrUnknownImplementation", bad, err)
		}
	}
	if _, err := fingerprint.Implementation(200).MarshalText(); !errors.Is(err, fingerprint.ErrUnknownImplementation) {
		t.Errorf("MarshalText of 200: %v", err)
	}
}
