package session

import "testing"

func TestLeapName(t *testing.T) {
	tests := []struct {
		li   uint8
		want string
	}{
		{0, LeapNoWarning}, {1, LeapAddSecond}, {2, LeapDelSecond}, {3, LeapUnsynchronized},
		{4, LeapNoWarning}, // only the two low bits are the indicator
		{0xff, LeapUnsynchronized},
	}
	for _, tt := range tests {
		if got := LeapName(tt.li); got != tt.want {
			t.Errorf("LeapName(%d) = %q, want %q", tt.li, got, tt.want)
		}
	}
}

func TestIsRequestMode(t *testing.T) {
	tests := []struct {
		version, mode uint8
		want          bool
	}{
		{4, 3, true},
		{3, 3, true},
		{1, 0, true},  // NTPv1 has no mode field
		{2, 0, false}, // mode 0 is reserved after v1
		{4, 4, false},
		{4, 1, false}, {4, 2, false}, {4, 5, false}, {4, 6, false}, {4, 7, false},
	}
	for _, tt := range tests {
		s := Session{Version: tt.version, Mode: tt.mode}
		if got := s.IsRequest(); got != tt.want {
			t.Errorf("version %d mode %d: IsRequest = %v, want %v", tt.version, tt.mode, got, tt.want)
		}
	}
}
