#!/usr/bin/env bash
# Makes the ground-truth captures of pkg/fingerprint: the requests of real
# NTP client implementations, one pcap per implementation, each client in a
# network namespace of its own on a bridge, all of them talking to one
# chronyd server, which also runs NTS key establishment for the NTS
# client. The namespaces are this script's and are removed again.
#
#   sudo scripts/fingerprint-pcaps.sh tuning  [output-dir]   IPv4, default poll settings
#   sudo scripts/fingerprint-pcaps.sh heldout [output-dir]   IPv6, other poll settings and timings
#
# The two sets differ in address family, poll settings, run length, the
# gaps between one-shot runs and the seed that jitters them, so that the
# held-out set measures rules that were tuned on the other one.
# FP_KEEP=1 keeps the daemons' configs and logs; FP_DURATION=SECONDS
# overrides the run length (for a quick look; the committed files use the
# set's own).
#
# Topology (names carry this script's PID, so runs never collide):
#
#   fp-srv-PID ──veth── [bridge fpbr in fp-hub-PID] ──veth── fp-IMPL-PID (one per client)
#
# tcpdump runs in the hub namespace on each client's veth end, which sees
# every frame to and from that client. Nothing runs in the root namespace
# but this script, ip and the openssl that makes the NTS certificate.
#
# No program started here can set the host clock: everything runs under
# setpriv with CAP_SYS_TIME dropped from the bounding and inheritable sets;
# chronyd runs with -x (server and daemon client) or -Q (one-shot), ntpdate
# with -q, busybox ntpd with -w. ntpsec's ntpd and openntpd try to adjust
# the clock and are refused (their logs say "Operation not permitted").
#
# systemd-timesyncd cannot run this way: it drops privileges keeping
# CAP_SYS_TIME, and without it in the bounding set it exits at start
# ("Failed to drop privileges: Operation not permitted"). The script tries it
# and records what it said; pkg/fingerprint/testdata/README.md says more.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
set_name=${1:-}
case $set_name in
tuning)
	# Seeds and timings of the tuning set.
	seed=15001 duration=100 gap=15
	prefix=192.0.2 srv_addr=192.0.2.1
	chrony_opts="iburst" ntpd_opts="iburst" ntplib_version=2
	;;
heldout)
	seed=15002 duration=130 gap=20
	prefix=2001:db8:f: srv_addr=2001:db8:f::1
	chrony_opts="iburst minpoll 4 maxpoll 5" ntpd_opts="iburst minpoll 4 maxpoll 5" ntplib_version=3
	;;
*)
	echo "usage: fingerprint-pcaps.sh tuning|heldout [output-dir]" >&2
	exit 2
	;;
esac
duration=${FP_DURATION:-$duration}
out=${2:-$root/pkg/fingerprint/testdata/$set_name}
RANDOM=$seed

prog=fingerprint-pcaps keep=${FP_KEEP:-}
. "$root/scripts/netns-capture.sh"
ntpd=$root/.deps/ntpsec/usr/sbin/ntpd
openntpd=$root/.deps/openntpd/usr/sbin/ntpd
timesyncd=$root/.deps/systemd-timesyncd/lib/systemd/systemd-timesyncd
py=/usr/bin/python3 # Debian's, where python3-ntplib is installed
need chronyd ntpdig ntpdate tcpdump setpriv perl ip openssl
for f in "$ntpd" "$openntpd" "$timesyncd"; do
	[ -x "$f" ] || { echo "fingerprint-pcaps.sh: $f missing; run make deps" >&2; exit 1; }
done
"$py" -c 'import ntplib' 2>/dev/null || { echo "fingerprint-pcaps.sh: python3-ntplib missing; run make deps" >&2; exit 1; }
perl -MNet::NTP -e 1 2>/dev/null || { echo "fingerprint-pcaps.sh: libnet-ntp-perl missing; run make deps" >&2; exit 1; }

id=$$
hub=fp-hub-$id
srv=fp-srv-$id
br=fpbr
namespaces=("$hub" "$srv")

if [ "$set_name" = heldout ]; then
	addr() { echo "$prefix:$1"; }
	plen=64 nodad=nodad
	# Net::NTP speaks IPv4 only (IO::Socket::INET): the held-out hosts get
	# an address of another IPv4 documentation range as well, for it.
	v4prefix=198.51.100 srv_v4=198.51.100.1
else
	addr() { echo "$prefix.$1"; }
	plen=24 nodad= v4prefix= srv_v4=$srv_addr
fi

echo "fingerprint: $set_name set, $duration s, namespaces fp-*-$id"
ip netns add "$hub"
ip -n "$hub" link add "$br" type bridge
ip netns exec "$hub" sysctl -qw "net.ipv6.conf.$br.disable_ipv6=1"
ip -n "$hub" link set "$br" up

# host NS INDEX joins a new namespace NS to the bridge with address INDEX
# of the set's prefix; its hub-side veth is f<PID>h<INDEX>.
host() {
	local ns=$1 i=$2 peer=f${id}h$2
	ip netns add "$ns"
	ip link add name "$peer" netns "$hub" type veth peer name eth0 netns "$ns"
	ip -n "$hub" link set "$peer" master "$br" up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip -n "$ns" addr add "$(addr "$i")/$plen" dev eth0 $nodad
	if [ -n "$v4prefix" ]; then
		ip -n "$ns" addr add "$v4prefix.$i/24" dev eth0
	fi
}

host "$srv" 1
mkdir -p "$tmp/srv"
# A throwaway certificate for the server's NTS key establishment, made for
# the server's address (chrony checks it against the name it was given).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$srv_addr" \
	-addext "subjectAltName=IP:$srv_addr" -keyout "$tmp/srv/nts.key" -out "$tmp/srv/nts.crt" 2>"$tmp/srv/openssl.log"
cat >"$tmp/srv/chrony.conf" <<-EOF
	local stratum 8
	allow 192.0.2.0/24
	allow 198.51.100.0/24
	allow 2001:db8::/32
	bindaddress $srv_addr
	bindaddress $srv_v4
	ntsserverkey $tmp/srv/nts.key
	ntsservercert $tmp/srv/nts.crt
	cmdport 0
	bindcmdaddress $tmp/srv/chronyd.sock
	pidfile $tmp/srv/chronyd.pid
	driftfile $tmp/srv/chrony.drift
EOF
spawn "$srv" "$tmp/srv/chronyd.log" chronyd -x -d -u root -f "$tmp/srv/chrony.conf"
for _ in $(seq 100); do
	ip netns exec "$srv" ss -Hlun "sport = :123" | grep -q . && break
	sleep 0.1
done

# The clients, at addresses 10, 11, …; each gets its namespace and a
# tcpdump.
clients=(chrony chrony-q chrony-nts ntpsec ntpdig ntpdate busybox ntplib netntp openntpd timesyncd)
declare -A cap_pid
i=10
for c in "${clients[@]}"; do
	host "fp-$c-$id" "$i"
	namespaces+=("fp-$c-$id")
	mkdir -p "$tmp/$c"
	: >"$tmp/$c/log"
	ip netns exec "$hub" tcpdump -i "f${id}h$i" -s 256 -U --immediate-mode -w "$tmp/$c.pcap" 'udp port 123' \
		2>"$tmp/$c.tcpdump.log" &
	cap_pid[$c]=$!
	pids+=($!)
	i=$((i + 1))
done
for c in "${clients[@]}"; do
	for _ in $(seq 100); do
		grep -q 'listening on' "$tmp/$c.tcpdump.log" 2>/dev/null && break
		sleep 0.05
	done
done
# Let the veths settle (IPv6 neighbour discovery) before the first request.
sleep 1

# daemon NAME CMD... starts a client daemon in NAME's namespace.
daemon() {
	local c=$1
	shift
	spawn "fp-$c-$id" "$tmp/$c/log" "$@"
}

# oneshot NAME CMD... runs CMD in NAME's namespace every gap seconds
# (jittered by up to 3 s from the set's seed) until the run's end.
oneshot() {
	local c=$1 runs jitter=()
	shift
	runs=$(((duration - 10) / gap))
	for _ in $(seq "$runs"); do
		jitter+=($((RANDOM % 4)))
	done
	(
		for j in "${jitter[@]}"; do
			sleep "$j"
			ip netns exec "fp-$c-$id" "${nocap[@]}" "$@" >>"$tmp/$c/log" 2>&1 || true
			sleep $((gap - j))
		done
	) &
	pids+=($!)
}

# chronyd as a daemon client: -x, its own config, pid, socket and drift.
d=$tmp/chrony
cat >"$d/chrony.conf" <<-EOF
	server $srv_addr $chrony_opts
	cmdport 0
	bindcmdaddress $d/chronyd.sock
	pidfile $d/chronyd.pid
	driftfile $d/chrony.drift
EOF
daemon chrony chronyd -x -d -u root -f "$d/chrony.conf"

# chronyd as an NTS client of the same server (RFC 8915): key
# establishment over TCP 4460 first, then NTP requests with extension fields.
d=$tmp/chrony-nts
cat >"$d/chrony.conf" <<-EOF
	server $srv_addr $chrony_opts nts
	ntstrustedcerts $tmp/srv/nts.crt
	cmdport 0
	bindcmdaddress $d/chronyd.sock
	pidfile $d/chronyd.pid
	driftfile $d/chrony.drift
EOF
daemon chrony-nts chronyd -x -d -u root -f "$d/chrony.conf"

# chronyd -Q: measure once and exit, never setting the clock.
d=$tmp/chrony-q
cat >"$d/chrony.conf" <<-EOF
	server $srv_addr iburst
	cmdport 0
	bindcmdaddress $d/chronyd.sock
	pidfile $d/chronyd.pid
EOF
oneshot chrony-q chronyd -Q -u root -t 8 -f "$d/chrony.conf"

# ntpsec's ntpd as a client.
d=$tmp/ntpsec
cat >"$d/ntp.conf" <<-EOF
	server $srv_addr $ntpd_opts
	driftfile $d/ntp.drift
EOF
daemon ntpsec "$ntpd" -n -c "$d/ntp.conf" -p "$d/ntpd.pid" -l "$d/ntpd.log"

oneshot ntpdig ntpdig -t 2 "$srv_addr"
oneshot ntpdate ntpdate -q "$srv_addr"

# busybox ntpd: -n foreground, -w query only (never sets the time).
# Debian builds busybox (and busybox-static) without the ntpd applet, so on
# Debian this records that and captures nothing; a busybox that has it is
# used.
if command -v busybox >/dev/null && busybox --list 2>/dev/null | grep -qx ntpd; then
	daemon busybox busybox ntpd -n -w -p "$srv_addr"
else
	echo "busybox: no busybox with the ntpd applet on this host" >"$tmp/busybox/log"
fi

oneshot ntplib "$py" -c "import ntplib, sys; r = ntplib.NTPClient().request(sys.argv[1], version=$ntplib_version); print(r.offset)" "$srv_addr"
oneshot netntp perl -MNet::NTP -e 'my %r = get_ntp_response($ARGV[0]); print "$r{Offset}\n"' "$srv_v4"

# openntpd privilege-separates into a user "ntpd" and chroots into
# /var/lib/openntpd, neither of which this host has. A mount namespace of
# its own gives it both without touching the host's files: a passwd and
# group with that user bound over /etc's, and a tmpfs over /var/lib.
d=$tmp/openntpd
cp /etc/passwd "$d/passwd"
cp /etc/group "$d/group"
echo 'ntpd:x:4242:4242:openntpd:/var/lib/openntpd:/usr/sbin/nologin' >>"$d/passwd"
echo 'ntpd:x:4242:' >>"$d/group"
echo "server $srv_addr" >"$d/ntpd.conf"
daemon openntpd unshare -m --propagation private sh -c '
	mount --bind "$1/passwd" /etc/passwd && mount --bind "$1/group" /etc/group &&
	mount -t tmpfs -o mode=755 tmpfs /var/lib && mkdir -p /var/lib/openntpd/run /var/lib/openntpd/db &&
	exec "$2" -d -v -f "$1/ntpd.conf"' sh "$d" "$openntpd"

# systemd-timesyncd with its own config and state in a mount namespace; it
# exits at once without CAP_SYS_TIME (see above), which its log records.
d=$tmp/timesyncd
printf '[Time]\nNTP=%s\n' "$srv_addr" >"$d/timesyncd.conf"
daemon timesyncd unshare -m --propagation private sh -c '
	mount -t tmpfs tmpfs /var/lib/systemd && mkdir -p /var/lib/systemd/timesync &&
	chown systemd-timesync: /var/lib/systemd/timesync &&
	mount --bind "$1/timesyncd.conf" /etc/systemd/timesyncd.conf && mount -t tmpfs tmpfs /run/systemd &&
	SYSTEMD_LOG_TARGET=console exec "$2"' sh "$d" "$timesyncd"

sleep "$duration"

mkdir -p "$out"
for c in "${clients[@]}"; do
	kill -INT "${cap_pid[$c]}"
	wait "${cap_pid[$c]}" 2>/dev/null || true
	n=$(grep -o '^[0-9]* packets captured' "$tmp/$c.tcpdump.log" | cut -d' ' -f1)
	if [ "${n:-0}" -gt 0 ]; then
		cp "$tmp/$c.pcap" "$out/$c.pcap"
		echo "fingerprint: $c.pcap: $n packets"
	else
		rm -f "$out/$c.pcap"
		echo "fingerprint: $c sent nothing; it said:"
		sed 's/^/  /' "$tmp/$c/log" | head -5
	fi
done
# version PKG prints an installed package's version, or that of one
# unpacked in .deps (from its Debian changelog).
version() {
	if [ -d "$root/.deps/$1" ]; then
		zcat "$root/.deps/$1/usr/share/doc/$1/changelog.Debian.gz" | head -1 | sed 's/.*(\(.*\)).*/\1/'
	else
		dpkg-query -W -f='${Version}' "$1"
	fi
}
echo -n "fingerprint: versions:"
for p in chrony ntpsec ntpsec-ntpdig ntpsec-ntpdate python3-ntplib libnet-ntp-perl openntpd systemd-timesyncd; do
	echo -n " $p $(version "$p" || echo '?')"
done
echo
ls -l "$out"
