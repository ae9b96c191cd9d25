// Command genpcap writes a synthetic NTP capture (see package pcapgen):
//
//	go run ./scripts/genpcap -o benchdata/ntp-1m.pcap -requests 500000 -clients 10000 -ipv6-every 2
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapgen"
)

func main() {
	var cfg pcapgen.Config
	out := flag.String("o", "", "output file (required)")
	flag.IntVar(&cfg.Requests, "requests", 1000, "client requests")
	flag.IntVar(&cfg.Clients, "clients", 100, "distinct clients")
	flag.IntVar(&cfg.IPv6Every, "ipv6-every", 2, "every n-th client on IPv6 (0: none)")
	flag.IntVar(&cfg.UnansweredEvery, "unanswered-every", 0, "every n-th request unanswered (0: none, 1: all)")
	flag.IntVar(&cfg.KoDEvery, "kod-every", 0, "every n-th request answered with a RATE kiss-o'-death")
	flag.IntVar(&cfg.ControlEvery, "control-every", 0, "a mode 6 query after every n-th request")
	flag.IntVar(&cfg.RandomTransmitEvery, "random-transmit-every", 3, "every n-th client hides its transmit time like chrony")
	vlan := flag.Uint("vlan", 0, "802.1Q VLAN ID (0: untagged)")
	sll2 := flag.Bool("sll2", false, "Linux cooked v2 frames instead of Ethernet")
	flag.DurationVar(&cfg.Interval, "interval", time.Microsecond, "time between requests")
	flag.DurationVar(&cfg.Delay, "delay", 150*time.Microsecond, "request to response on the wire")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	flag.Parse()
	if *out == "" || *vlan > 4094 {
		flag.Usage()
		os.Exit(2)
	}
	cfg.VLAN = uint16(*vlan)
	if *sll2 {
		cfg.Link = frame.LinkLinuxSLL2
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genpcap:", err)
		os.Exit(1)
	}
	sum, err := pcapgen.Write(f, cfg)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genpcap:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d packets, %d requests (%d IPv4, %d IPv6), %d answered, %d unanswered, %d KoD, %d mode 6\n",
		*out, sum.Packets, sum.Requests, sum.IPv4, sum.IPv6, sum.Answered, sum.Unanswered, sum.KoD, sum.Control)
}
