#!/usr/bin/env bash
# A live demo of ntp-monitor on a machine with no NTP traffic of its own.
#
# Builds a small network in namespaces: a bridge with a chronyd server and
# three clients that keep polling it (chronyd -Q one-shots, ntpdig,
# ntpdate; IPv4 and IPv6), starts bin/ntp-collector and, through its REST
# API, a worker capturing on the bridge, then prints the URLs and curl
# commands to try. Ctrl-C (or the end of --duration) tears everything down:
# every process by its PID, the namespaces, the bridge, the temp files.
#
#   scripts/demo.sh                 run until Ctrl-C
#   scripts/demo.sh --duration 60   run for 60 s, then print a summary and stop
# Environment:
#   DEMO_HTTP_PORT (8000), DEMO_INGESTION_PORT (10000): a busy port is
#     replaced by a free one, and the URLs printed say which.
#   DEMO_DB: keep the database there instead of a temp directory.
#
# Needs root (namespaces, capture). No NTP program here can set the clock:
# all run without CAP_SYS_TIME, the server with -x, the clients with -Q.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
duration=0
while (($#)); do
	case $1 in
	--duration) duration=${2:?--duration needs seconds}; shift 2 ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "demo: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
done

if [[ $EUID -ne 0 ]]; then
	echo "demo: needs root to create network namespaces and capture; run: sudo make demo" >&2
	exit 1
fi
for bin in ip setpriv chronyd chronyc ntpdig ntpdate curl ss; do
	command -v "$bin" >/dev/null || { echo "demo: $bin missing: run make deps" >&2; exit 1; }
done
for bin in bin/ntp-collector bin/ntp-worker; do
	[[ -x $bin ]] || { echo "demo: $bin missing: run make build" >&2; exit 1; }
done

id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
br=nm${id}br
tmp=$(mktemp -d /tmp/ntp-demo.XXXXXX)
chmod 700 "$tmp"
pids=()     # client loops, chronyd
col_pid=''
namespaces=()
http_port=''
token=''

free_port() { # free_port PREFERRED: PREFERRED if nothing listens there, else a free one
	local p=$1
	if ss -Htln "sport = :$p" | grep -q .; then
		p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	fi
	echo "$p"
}

cleanup() {
	trap - INT TERM EXIT
	echo
	echo "demo: tearing down"
	if [[ -n $col_pid ]] && kill -0 "$col_pid" 2>/dev/null; then
		curl -s -m 10 -X POST "http://127.0.0.1:$http_port/api/ntp/interfaces/$br/stop" \
			-H "Authorization: Bearer $token" -H 'Content-Type: application/json' >/dev/null || true
		kill -TERM "$col_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$col_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$col_pid" 2>/dev/null || true
	fi
	# Workers the collector started and did not stop (it died, say).
	for f in "$tmp"/run/*.pid; do
		[[ -f $f ]] || continue
		p=$(tr -dc 0-9 <"$f")
		[[ -n $p ]] && kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
	for ns in "${namespaces[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	ip link del "$br" 2>/dev/null || true
	rm -rf "$tmp"
	echo "demo: done"
}
trap cleanup INT TERM EXIT

# in NS CMD...: run CMD inside namespace NS without CAP_SYS_TIME.
in_ns() {
	local ns=$1; shift
	ip netns exec "$ns" setpriv --bounding-set -sys_time --inh-caps -sys_time -- "$@"
}

# The network: a bridge (no address, no IPv6 of its own) and one namespace
# per host, addresses from 192.0.2.0/24 and 2001:db8:0:1::/64.
ip link add "$br" type bridge
echo 1 >"/proc/sys/net/ipv6/conf/$br/disable_ipv6"
ip link set "$br" up
add_host() { # add_host NAME INDEX
	local ns=nm$id-$1 peer=nm${id}h$2 octet=$((10 + $2))
	ip netns add "$ns"
	namespaces+=("$ns")
	ip link add "$peer" type veth peer name eth0 netns "$ns"
	echo 1 >"/proc/sys/net/ipv6/conf/$peer/disable_ipv6"
	ip link set "$peer" master "$br" up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip -n "$ns" addr add "192.0.2.$octet/24" dev eth0
	ip -n "$ns" addr add "2001:db8:0:1::$(printf %x "$octet")/64" dev eth0 nodad
}
add_host srv 0
add_host c1 1
add_host c2 2
add_host c3 3
srv4=192.0.2.10 srv6=2001:db8:0:1::a

# The server: chronyd serving its local clock at stratum 8.
cat >"$tmp/chrony.conf" <<CONF
local stratum 8
allow 192.0.2.0/24
allow 2001:db8:0:1::/64
bindaddress $srv4
bindaddress $srv6
cmdport 0
bindcmdaddress $tmp/chronyd.sock
pidfile $tmp/chronyd.pid
driftfile $tmp/chrony.drift
CONF
setsid ip netns exec "nm$id-srv" setpriv --bounding-set -sys_time --inh-caps -sys_time -- \
	chronyd -x -d -u root -f "$tmp/chrony.conf" >"$tmp/chronyd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do chronyc -h "$tmp/chronyd.sock" -n tracking >/dev/null 2>&1 && break; sleep 0.1; done
chronyc -h "$tmp/chronyd.sock" -n tracking >/dev/null 2>&1 || { echo "demo: chronyd did not start:"; cat "$tmp/chronyd.log"; exit 1; }

# The collector, then a worker on the bridge through the API.
http_port=$(free_port "${DEMO_HTTP_PORT:-8000}")
ingest_port=$(free_port "${DEMO_INGESTION_PORT:-10000}")
db=${DEMO_DB:-$tmp/ntp_clients.db}
mkdir -p "$tmp/run" "$tmp/log"
setsid bin/ntp-collector serve --db "$db" \
	--http-listen "127.0.0.1:$http_port" \
	--ingestion-host 127.0.0.1 --ingestion-port "$ingest_port" \
	--worker-bin "$root/bin/ntp-worker" --pid-dir "$tmp/run" --log-dir "$tmp/log" \
	--batch-interval 1s >"$tmp/collector.log" 2>&1 &
col_pid=$!
for _ in $(seq 1 100); do curl -sf -m 1 "http://127.0.0.1:$http_port/health" >/dev/null && break; sleep 0.2; done
if ! curl -sf -m 2 "http://127.0.0.1:$http_port/health" >/dev/null; then
	echo "demo: the collector is not answering on 127.0.0.1:$http_port:"; tail -20 "$tmp/collector.log"; exit 1
fi
# The admin token the collector generated at its first start, beside the
# database: what starting a worker, export and cleanup need.
token_file=$(dirname "$db")/api-token
token=$(cat "$token_file")
echo "ntp-monitor dashboard: http://127.0.0.1:$http_port/ui/"
echo "demo: POST /api/ntp/interfaces/$br/start (with the token in $token_file)"
curl -s -X POST "http://127.0.0.1:$http_port/api/ntp/interfaces/$br/start" \
	-H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"port":123,"timeout":2.0}'
echo

# The clients, each polling in a bounded loop (at most an hour).
loop() { # loop NS SECONDS CMD...
	local ns=$1 every=$2; shift 2
	setsid ip netns exec "$ns" setpriv --bounding-set -sys_time --inh-caps -sys_time -- \
		bash -c 'every=$1; shift; for _ in $(seq 1 $((3600 / every))); do "$@" >/dev/null 2>&1; sleep "$every"; done' \
		loop "$every" "$@" &
	pids+=($!)
}
qdir=$tmp/q
mkdir -p "$qdir"
loop "nm$id-c1" 4 chronyd -Q -t 3 -u root "server $srv4 iburst maxsamples 1" "pidfile $qdir/c1.pid"
loop "nm$id-c1" 6 chronyd -Q -t 3 -u root "server $srv6 iburst maxsamples 1" "pidfile $qdir/c1v6.pid"
loop "nm$id-c2" 5 ntpdig -t 2 "$srv6"
loop "nm$id-c3" 7 ntpdate -q -t 2 "$srv4"
loop "nm$id-c3" 9 ntpdig -t 2 "$srv6"

api=http://127.0.0.1:$http_port
cat <<EOF

ntp-monitor demo is running.
  dashboard           $api/ui/
  bridge (captured)   $br
  NTP server          chronyd at $srv4 and [$srv6]
  clients             192.0.2.11 (chronyd -Q every 4 s, and over IPv6 every 6 s: 2001:db8:0:1::b)
                      2001:db8:0:1::c (ntpdig every 5 s)
                      192.0.2.13 (ntpdate every 7 s), 2001:db8:0:1::d (ntpdig every 9 s)
  collector           $api   (log: $tmp/collector.log)
  database            $db
  admin token         $token_file (the dashboard asks for it to start or stop a worker)

Try (add | python3 -m json.tool to pretty-print):
  T=\$(cat $token_file)
  curl -s $api/health
  curl -s $api/api/ntp/interfaces/$br/status
  curl -s '$api/api/ntp/history/clients?sort_by=session_count&sort_order=desc'
  curl -s $api/api/ntp/history/clients/192.0.2.11
  curl -s $api/api/ntp/history/clients/2001:db8:0:1::c
  curl -s $api/api/ntp/history/interfaces/statistics
  curl -s $api/api/ntp/history/service/statistics
  curl -s -X POST $api/api/ntp/history/search -H 'Content-Type: application/json' -d '{"filters":{"cidrs":["2001:db8::/32"]}}'
  curl -s -X POST $api/api/ntp/history/export -H "Authorization: Bearer \$T" -H 'Content-Type: application/json' -d '{"format":"csv"}'
  curl -s $api/metrics | grep ^ntp_

EOF

if ((duration > 0)); then
	echo "demo: running for $duration s"
	# In the background and waited for, so that a TERM to this script
	# tears down at once instead of after the sleep.
	sleep "$duration" &
	wait $!
	echo "demo: clients after $duration s (GET /api/ntp/history/clients?sort_by=client_ip):"
	curl -s "$api/api/ntp/history/clients?sort_by=client_ip&sort_order=asc" | python3 -c '
import json, sys
rows = json.load(sys.stdin)["data"]
print("%-18s %8s %8s %10s %7s %12s" % ("client_ip", "sessions", "answered", "unanswered", "version", "avg T3-T2 us"))
for r in rows:
    avg = r.get("avg_processing_seconds")
    print("%-18s %8d %8d %10d %7s %12s" % (r["client_ip"], r["session_count"], r["answered_count"],
        r["unanswered_count"], r["ntp_version"], "-" if avg is None else "%.1f" % (avg * 1e6)))
'
else
	echo "Press Ctrl-C to stop and remove everything."
	while kill -0 "$col_pid" 2>/dev/null; do sleep 1; done
	echo "demo: the collector exited; its log:"
	tail -20 "$tmp/collector.log"
fi
