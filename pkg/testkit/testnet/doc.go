// Package testnet builds small, real network topologies for tests: a Linux
// bridge in the root network namespace and one network namespace per host,
// each joined to the bridge by a veth pair, plus helpers that run real NTP
// software (chronyd, ntpsec's ntpd, ntpdig, ntpdate) and hand-made UDP
// packets inside those namespaces.
//
// Everything a test creates has a name unique to the run and is removed by
// t.Cleanup on every exit path, processes first (by PID), then namespaces,
// veths and the bridge. A test binary that dies without running its
// cleanups (killed, or ended by go test -timeout) leaves a record in
// /run/ntp-monitor-testnet (and package leftover's claims on its daemons'
// directories), and the next New removes what it left. Only documentation
// addresses are used: hosts get 192.0.2.X/24 and 2001:db8:0:1::X/64.
//
// Typical use:
//
//	func TestSomething(t *testing.T) {
//		testnet.Require(t) // skips unless root with ip(8) available
//		n := testnet.New(t)
//		srv := n.AddHost("srv")
//		cli := n.AddHost("cli")
//		chrony := srv.StartChronyd(t, testnet.ChronyOptions{})
//		// Capture on n.Bridge (in promiscuous mode, see below) or on
//		// srv.Peer, the server's root-side veth end.
//		if _, err := cli.ChronyQuery(ctx, srv.V4); err != nil { … }
//		clients, err := chrony.Clients(ctx)
//	}
//
// Capturing: the bridge has no address and IPv6 disabled, so it carries only
// the hosts' traffic. A Linux bridge hands the frames it forwards between
// two ports to its own device, where a capture sees them, only while it
// floods them (MAC not learned yet) or while the device is in promiscuous
// mode: a non-promiscuous capture on Net.Bridge (tcpdump -p) sees nothing
// once the hosts have talked. So capture on Net.Bridge in promiscuous mode
// (the libpcap and tcpdump default), or on a host's Peer, which sees every
// frame to and from that host whatever the mode.
//
// What else is here: Host.Command, Run and Start run programs in a
// namespace, Net.StartCmd tracks a root-namespace process (a collector,
// tcpdump) the same way; Host.AddAddr adds an address nothing listens on;
// Host.ListenUDP and SendUDP send hand-made packets (NTPRequest,
// ControlRequest build them); StartChronyd/Clients and StartNtpsec/MRUList
// give a server and its own view of its clients; ChronyQuery, Ntpdig and
// Ntpdate are one-shot clients.
//
// No NTP program started here can set the host clock: every command runs
// under setpriv with CAP_SYS_TIME removed from the bounding and inheritable
// sets, servers run with chronyd -x, and one-shot chrony clients use -Q.
package testnet
