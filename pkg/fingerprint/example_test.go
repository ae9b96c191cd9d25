package fingerprint_test

import (
	"fmt"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/fingerprint"
	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
)

// A collector keeps one Sequence per client, folds in each request's
// Features as the sessions arrive and classifies the client.
func Example() {
	// Four requests of chronyd's iburst, 2 s apart, each from a new
	// port: precision 32, poll 6, a random transmit timestamp.
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var seq fingerprint.Sequence
	var res fingerprint.Result
	for i := range 4 {
		p := ntp.Packet{Version: 4, Mode: ntp.ModeClient, Poll: 6, Precision: 32, Transmit: ntp.Time(0x9f3492f2_3ab4a4af + uint64(i)<<40)}
		f := fingerprint.Extract(&p, uint16(40000+i), ntp.HeaderSize, at)
		seq.Add(f, uint16(40000+i), at)
		res = fingerprint.Classify(f, &seq)
		at = at.Add(2 * time.Second)
	}
	fmt.Println(res.Implementation, res.Confidence)
	fmt.Println(res.Evidence)
	fmt.Println("opening burst:", seq.Burst, "new ports:", seq.PortChanges, "median interval:", seq.MedianInterval().Round(time.Millisecond))
	// Output:
	// chrony 0.95
	// chrony-minimal-request: precision 32, non-zero poll, state fields zero, random transmit timestamp
	// opening burst: 4 new ports: 3 median interval: 2.828s
}
