#!/usr/bin/env bash
# Regenerates the golden NTP captures in pkg/ntp/testdata/golden: real
# requests and responses of chrony, ntpsec's ntpd, ntpdig, ntpdate and ntpq,
# captured with tcpdump in network namespaces that this script creates and
# removes again.
#
#   sudo scripts/golden-pcaps.sh [output-dir]
#
# GOLDEN_KEEP=1 keeps the daemons' configs and logs for a look afterwards.
#
# Topology (names carry this script's PID, so runs never collide):
#
#   gp-cli-PID  [gpcPID 192.0.2.2 2001:db8::a:2] ── veth ── [gpsPID 192.0.2.1 2001:db8::a:1]  gp-srv-PID
#               [VLAN 100: 192.0.2.66 2001:db8::b:2]         [VLAN 100: 192.0.2.65 2001:db8::b:1]
#
# The server namespace runs chronyd (-x: never touches a clock) and ntpsec's
# ntpd (unsynchronised, so it answers stratum 0 / INIT, and rate-limits with
# RATE kiss codes). Every daemon and client runs without CAP_SYS_TIME. The
# VLAN sub-interfaces need the kernel's 802.1Q support; without it the
# vlan capture is taken on the plain veth and the 802.1Q tag (VLAN 100) is
# inserted into each captured frame afterwards, which the README records.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
prog=golden-pcaps keep=${GOLDEN_KEEP:-}
. "$root/scripts/netns-capture.sh"
out=${1:-$root/pkg/ntp/testdata/golden}
ntpd=$root/.deps/ntpsec/usr/sbin/ntpd
ntpq=$root/.deps/ntpsec/usr/bin/ntpq
need chronyd ntpdig ntpdate tcpdump setpriv python3 ip
[ -x "$ntpd" ] && [ -x "$ntpq" ] || { echo "golden-pcaps.sh: $ntpd or $ntpq missing; run make deps" >&2; exit 1; }

id=$$
srv=gp-srv-$id
cli=gp-cli-$id
sveth=gps$id
cveth=gpc$id
namespaces=("$cli" "$srv")

in_srv() { ip netns exec "$srv" "${nocap[@]}" "$@"; }
in_cli() { ip netns exec "$cli" "${nocap[@]}" "$@"; }

echo "golden: namespaces $srv, $cli"
ip netns add "$srv"
ip netns add "$cli"
ip link add name "$sveth" netns "$srv" type veth peer name "$cveth" netns "$cli"
ip -n "$srv" link set lo up
ip -n "$cli" link set lo up
ip -n "$srv" link set "$sveth" up
ip -n "$cli" link set "$cveth" up
ip -n "$srv" addr add 192.0.2.1/26 dev "$sveth"
ip -n "$cli" addr add 192.0.2.2/26 dev "$cveth"
ip -n "$srv" addr add 2001:db8::a:1/112 dev "$sveth" nodad
ip -n "$cli" addr add 2001:db8::a:2/112 dev "$cveth" nodad

vlan=real
if ip -n "$srv" link add link "$sveth" name "$sveth.100" type vlan id 100 2>/dev/null &&
	ip -n "$cli" link add link "$cveth" name "$cveth.100" type vlan id 100 2>/dev/null; then
	ip -n "$srv" link set "$sveth.100" up
	ip -n "$cli" link set "$cveth.100" up
	ip -n "$srv" addr add 192.0.2.65/26 dev "$sveth.100"
	ip -n "$cli" addr add 192.0.2.66/26 dev "$cveth.100"
	ip -n "$srv" addr add 2001:db8::b:1/112 dev "$sveth.100" nodad
	ip -n "$cli" addr add 2001:db8::b:2/112 dev "$cveth.100" nodad
	vlan_v4=192.0.2.65 vlan_v6=2001:db8::b:1
else
	echo "golden: kernel has no 802.1Q support; the vlan capture gets its tag inserted afterwards"
	vlan=inserted
	vlan_v4=192.0.2.1 vlan_v6=2001:db8::a:1
fi

# start NAME CMD... runs CMD in the server namespace in the background.
start() {
	local name=$1
	shift
	spawn "$srv" "$tmp/$name.log" "$@"
}

# chronyd as a server on one IPv4 and one IPv6 address.
start_chronyd() {
	local name=$1 v4=$2 v6=$3 dir=$tmp/$1
	mkdir -p "$dir"
	cat >"$dir/chrony.conf" <<-EOF
		local stratum 8
		allow 192.0.2.0/24
		allow 2001:db8::/64
		bindaddress $v4
		bindaddress $v6
		cmdport 0
		bindcmdaddress $dir/chronyd.sock
		pidfile $dir/chronyd.pid
		driftfile $dir/chrony.drift
	EOF
	start "$name" chronyd -x -d -u root -f "$dir/chrony.conf"
}

start_ntpd() {
	local dir=$tmp/ntpd
	mkdir -p "$dir"
	cat >"$dir/ntp.conf" <<-EOF
		# No upstream: ntpd stays unsynchronised and answers stratum 0 / INIT.
		# Rate-limit everyone (with RATE kiss codes) but the IPv6 client, so
		# that ntpq's bursts of mode 6 queries get answered over IPv6 while
		# over IPv4 they run into the limit.
		restrict default kod limited
		restrict -6 default kod limited
		restrict 2001:db8::a:2
		driftfile $dir/ntp.drift
	EOF
	start ntpd "$ntpd" -n -c "$dir/ntp.conf" -p "$dir/ntpd.pid" -l "$dir/ntpd.log"
}

# capture NAME IFACE [tcpdump options...] starts tcpdump in the server
# namespace and waits until it is listening. Immediate mode, because
# without it the last TPACKET_V3 block (up to ~200 ms of packets) is still in
# the kernel ring when tcpdump is stopped, and is lost.
capture() {
	local name=$1 iface=$2
	shift 2
	ip netns exec "$srv" tcpdump -i "$iface" -s 256 -U --immediate-mode -w "$tmp/$name.pcap" "$@" 'udp port 123' \
		2>"$tmp/$name.tcpdump.log" &
	cap_pid=$!
	pids+=("$cap_pid")
	for _ in $(seq 100); do
		grep -q 'listening on' "$tmp/$name.tcpdump.log" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "golden: tcpdump did not start:" >&2
	cat "$tmp/$name.tcpdump.log" >&2
	return 1
}

# stop_capture NAME stops the running tcpdump and copies the file out.
stop_capture() {
	sleep 0.3
	kill -INT "$cap_pid"
	wait "$cap_pid" || true
	cp "$tmp/$1.pcap" "$out/$1.pcap"
	echo "golden: $1.pcap: $(grep -o '[0-9]* packets captured' "$tmp/$1.tcpdump.log")"
}

# wait_udp PORT waits until something listens on a UDP port in the server
# namespace.
wait_udp() {
	for _ in $(seq 100); do
		ip netns exec "$srv" ss -Hlun "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	echo "golden: nothing listens on udp/$1" >&2
	return 1
}

# chrony_query ADDR [server options] makes one chronyd -Q measurement.
chrony_query() {
	local addr=$1 dir
	shift
	dir=$(mktemp -d "$tmp/chronyc.XXXXXX")
	cat >"$dir/chrony.conf" <<-EOF
		server $addr iburst maxpoll 0 $*
		cmdport 0
		pidfile $dir/chronyd.pid
		bindcmdaddress $dir/chronyd.sock
	EOF
	in_cli chronyd -Q -u root -t 4 -f "$dir/chrony.conf" >"$dir/out.log" 2>&1 || true
}

# raw ADDR HEX... sends hand-made NTP packets (hex) from the client and
# waits briefly for each answer: the old-version and control requests that
# no packaged client sends any more.
raw() {
	in_cli python3 - "$@" <<-'EOF'
		import socket, sys
		addr = sys.argv[1]
		fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
		s = socket.socket(fam, socket.SOCK_DGRAM)
		s.settimeout(0.5)
		for h in sys.argv[2:]:
		    s.sendto(bytes.fromhex(h), (addr, 123))
		    try:
		        s.recv(2048)
		    except socket.timeout:
		        pass
	EOF
}

# Requests of NTPv1 (mode 0), v2 and v3 (mode 3) with a transmit timestamp,
# as old clients send them, and a mode 7 MON_GETLIST_1 ("monlist") query.
ts=$(python3 -c 'import time; t=time.time()+2208988800; print("%08x%08x" % (int(t), int((t%1)*2**32)))')
hdr_v1=08000000000000000000000000000000000000000000000000000000000000000000000000000000
hdr_v2=13000000000000000000000000000000000000000000000000000000000000000000000000000000
hdr_v3=1b000000000000000000000000000000000000000000000000000000000000000000000000000000
monlist=1700032a000000000000000000000000000000000000000000000000000000000000000000000000

mkdir -p "$out"
start_chronyd chronyd 192.0.2.1 2001:db8::a:1
wait_udp 123

echo "golden: chrony server"
capture chrony "$sveth"
chrony_query 192.0.2.1
chrony_query 2001:db8::a:1
chrony_query 192.0.2.1 version 3
in_cli ntpdig -t 2 192.0.2.1 >>"$tmp/clients.log" 2>&1 || true
in_cli ntpdig -t 2 2001:db8::a:1 >>"$tmp/clients.log" 2>&1 || true
in_cli ntpdate -q 192.0.2.1 >>"$tmp/clients.log" 2>&1 || true
raw 192.0.2.1 "${hdr_v1}${ts}" "${hdr_v2}${ts}" "${hdr_v3}${ts}"
raw 2001:db8::a:1 "${hdr_v3}${ts}"
stop_capture chrony

# The second chronyd serves the VLAN addresses (or the same ones when the tag
# is inserted later), so it starts only now.
if [ "$vlan" = real ]; then
	start_chronyd chronyd-vlan "$vlan_v4" "$vlan_v6"
	sleep 0.5
fi
echo "golden: chrony over VLAN 100 ($vlan tag)"
capture vlan "$sveth"
chrony_query "$vlan_v4"
echo "ntpdig $vlan_v6 (vlan)" >>"$tmp/clients.log"
in_cli ntpdig -t 2 "$vlan_v6" >>"$tmp/clients.log" 2>&1 || true
stop_capture vlan

echo "golden: chrony and ntpd, tcpdump -i any (SLL2)"
# Stop chronyd so that ntpd can have port 123.
for i in "${!pids[@]}"; do
	kill "${pids[$i]}" 2>/dev/null || true
	wait "${pids[$i]}" 2>/dev/null || true
done
pids=()
sleep 0.5
start_ntpd
wait_udp 123
sleep 1

echo "golden: ntpsec server"
capture ntpsec "$sveth"
in_cli ntpdig -t 2 192.0.2.1 >>"$tmp/clients.log" 2>&1 || true
in_cli ntpdig -t 2 2001:db8::a:1 >>"$tmp/clients.log" 2>&1 || true
in_cli ntpdate -q 192.0.2.1 >>"$tmp/clients.log" 2>&1 || true
in_cli "$ntpq" -c rv 192.0.2.1 >"$tmp/ntpq.log" 2>&1 || true
in_cli "$ntpq" -c rv 2001:db8::a:1 >>"$tmp/ntpq.log" 2>&1 || true
# A burst trips "limited" and draws RATE kiss-o'-death replies (ntpsec
# 1.2.2 starts limiting after about 20 packets).
raw 192.0.2.1 $(for _ in $(seq 24); do printf "%s%s " "$hdr_v3" "$ts"; done)
raw 192.0.2.1 "${hdr_v2}${ts}" "${monlist}"
stop_capture ntpsec

capture sll2 any -y LINUX_SLL2
in_cli ntpdig -t 2 192.0.2.1 >>"$tmp/clients.log" 2>&1 || true
in_cli "$ntpq" -c rv 2001:db8::a:1 >>"$tmp/ntpq.log" 2>&1 || true
stop_capture sll2

if [ "$vlan" = inserted ]; then
	# Insert an 802.1Q tag (PCP 0, VLAN 100) after the MAC addresses of every
	# frame in the plain Ethernet capture.
	python3 - "$out/vlan.pcap" <<-'EOF'
		import struct, sys
		path = sys.argv[1]
		data = open(path, "rb").read()
		magic = data[:4]
		e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
		out = bytearray(data[:24])
		i = 24
		while i < len(data):
		    sec, frac, incl, orig = struct.unpack(e + "IIII", data[i:i + 16])
		    frame = data[i + 16:i + 16 + incl]
		    frame = frame[:12] + b"\x81\x00\x00\x64" + frame[12:]
		    out += struct.pack(e + "IIII", sec, frac, incl + 4, orig + 4) + frame
		    i += 16 + incl
		open(path, "wb").write(out)
	EOF
fi

echo "golden: ntpq said:"
sed 's/^/  /' "$tmp/ntpq.log" | head -20
ls -l "$out"
