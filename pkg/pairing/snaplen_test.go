package pairing

import (
	"testing"
)

// cut marks the event's packet as cut by the snaplen.
func cut(ev event) event {
	ev.p.Cut = true
	return ev
}

// A session is marked SnaplenCut when its request or its response was cut,
// answered or not, and so is an other-mode packet that was; a cut request
// still pairs with its response.
func TestSnaplenCut(t *testing.T) {
	tests := []struct {
		name   string
		events []event
		want   []bool // SnaplenCut of each session, in emission order
	}{
		{"whole", []event{
			req(0, clientA, 40000, server4, ntpAt(-1)),
			resp(1, server4, clientA, 40000, ntpAt(-1), ntpAt(0.2), ntpAt(0.3)),
		}, []bool{false}},
		{"request cut", []event{
			cut(req(0, clientA, 40000, server4, ntpAt(-1))),
			resp(1, server4, clientA, 40000, ntpAt(-1), ntpAt(0.2), ntpAt(0.3)),
		}, []bool{true}},
		{"response cut", []event{
			req(0, clientA, 40000, server4, ntpAt(-1)),
			cut(resp(1, server4, clientA, 40000, ntpAt(-1), ntpAt(0.2), ntpAt(0.3))),
		}, []bool{true}},
		{"unanswered, cut", []event{
			cut(req(0, clientA, 40000, server4, ntpAt(-1))),
			req(1, clientB, 40000, server4, ntpAt(0)),
			expireAll,
		}, []bool{true, false}},
		{"other mode", []event{
			cut(other(0, clientA, 6, 400)),
			other(1, clientB, 6, 12),
		}, []bool{true, false}},
		{"a cut request does not mark the next session", []event{
			cut(req(0, clientA, 40000, server4, ntpAt(-1))),
			resp(1, server4, clientA, 40000, ntpAt(-1), ntpAt(0.2), ntpAt(0.3)),
			req(2, clientA, 40000, server4, ntpAt(1)),
			resp(3, server4, clientA, 40000, ntpAt(1), ntpAt(2.2), ntpAt(2.3)),
		}, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, tab := run(t, Config{}, tt.events)
			if len(got) != len(tt.want) {
				t.Fatalf("%d sessions, want %d", len(got), len(tt.want))
			}
			for i, s := range got {
				if s.SnaplenCut != tt.want[i] {
					t.Errorf("session %d (%s, answered %v): SnaplenCut %v, want %v", i, s.ClientIP, s.Answered, s.SnaplenCut, tt.want[i])
				}
			}
			if c := tab.Counters(); c.Unmatched != 0 {
				t.Errorf("%d responses unmatched", c.Unmatched)
			}
		})
	}
}
