#!/usr/bin/env bash
# Live capture at rate: the highest rate this machine captures with no
# kernel drops, per capture engine, measured on a veth pair between two
# network namespaces that this script creates and removes.
#
#   make bench-capture           (or scripts/bench-capture.sh; needs root)
#   RATES="100000 300000" DURATION=3 ENGINES=afpacket scripts/bench-capture.sh
#
# For every engine (ENGINES, default "pcap afpacket") and rate (RATES,
# default 100k, 300k and 1M packets/s, then 0: as fast as the sender
# goes), scripts/ntpflood sends NTP requests and their responses
# (-answer) from namespace A for DURATION seconds (default 5); in
# namespace B, bin/ntp-worker captures on the other end of the veth and
# streams to scripts/acksink on B's loopback. Sender and worker are pinned
# to different cores when there are two. Each line reports what was sent,
# what the veth received and dropped (its own counters and the softnet
# backlog), what the capture counted (libpcap or TPACKET_V3 statistics:
# received, dropped because the ring was full), what the worker read, and
# the worker's CPU time (user + sys, all threads). Then tcpreplay
# --topspeed replays benchdata/ntp-1m.pcap the same way, as a reference.
#
# No traffic leaves the namespaces: the veth pair exists only between them,
# ntpflood refuses to run outside a namespace made by ip netns, and every
# process, namespace and link is removed on every exit path.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	echo "bench-capture: skipped: needs root and ip(8) to create network namespaces"
	exit 0
fi

RATES=${RATES:-"100000 300000 1000000 0"}
ENGINES=${ENGINES:-"pcap afpacket"}
DURATION=${DURATION:-5}
OUT=benchdata
mkdir -p "$OUT" bin
go build -o bin/ntp-worker ./cmd/ntp-worker
go build -o "$OUT/ntpflood" ./scripts/ntpflood
go build -o "$OUT/acksink" ./scripts/acksink
go build -o "$OUT/genpcap" ./scripts/genpcap
PCAP=$OUT/ntp-1m.pcap
[ -s "$PCAP" ] || "$OUT/genpcap" -o "$PCAP" -requests 550000 -clients 10000 -ipv6-every 2 -unanswered-every 10 -kod-every 1000 -random-transmit-every 3 >/dev/null

id=$$
A=ntpbench-a-$id B=ntpbench-b-$id
VA=nba$id VB=nbb$id
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$A"
ip netns add "$B"
ip link add "$VA" netns "$A" type veth peer name "$VB" netns "$B"
for ns in "$A" "$B"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip -n "$A" link set "$VA" up
ip -n "$B" link set "$VB" up

pin_flood=() pin_worker=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin_worker=(taskset -c 0) pin_flood=(taskset -c 1)
fi

# ntpflood ARGS…: send for DURATION from namespace A, requests with their
# responses, to a unicast MAC that is not B's: the frames reach B's
# capture and B's IP layer drops them at once, which spares the sending
# core (it also runs B's receive path) the work of routing them.
flood() {
	local pin=()
	while [ "$1" != -rate ]; do pin+=("$1"); shift; done
	ip netns exec "$A" "${pin[@]}" "$OUT/ntpflood" -i "$VA" -dst-mac 02:00:00:00:00:02 -batch 256 \
		-duration "${DURATION}s" -answer "$@"
}

PORT=10099
ip netns exec "$B" "$OUT/acksink" -listen "127.0.0.1:$PORT" 2>"$OUT/capture-acksink.log" &
PIDS+=($!)
sleep 0.3

# counters NS DEV: rx packets, rx dropped of a link
counters() { ip -n "$1" -s -j link show "$2" | sed 's/.*"rx":{[^}]*"packets":\([0-9]*\)[^}]*"dropped":\([0-9]*\).*/\1 \2/'; }
# softnet drops: the sum of the second column of /proc/net/softnet_stat
softnet() {
	local s=0 _ d
	while read -r _ d _; do s=$((s + 16#$d)); done </proc/net/softnet_stat
	echo "$s"
}
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2" | tail -1; }

# run ENGINE RATE [MODE [WORKER-FLAGS…]]: one measurement, one line of
# results. MODE is flood (one ntpflood), flood2 (two, one per core: the
# second shares the worker's core) or tcpreplay.
run() {
	local engine=$1 rate=$2 mode=${3:-flood}
	shift 3 || shift $#
	local extra=("$@")
	local log=$OUT/capture-worker.log timef=$OUT/capture-worker.time floodlog=$OUT/capture-flood.log
	read -r rx0 rxd0 < <(counters "$B" "$VB")
	local sn0; sn0=$(softnet)
	ip netns exec "$B" "${pin_worker[@]}" /usr/bin/time -o "$timef" -f "%U %S" \
		bin/ntp-worker -i "$VB" --capture-engine "$engine" --ingestion-port "$PORT" \
		--timeout 1 --stats-interval 1s --log-format json "${extra[@]}" 2>"$log" &
	local tpid=$! wpid=
	PIDS+=($tpid)
	# time(1) runs the worker as its child: that is the process to stop.
	for _ in $(seq 100); do
		wpid=$(cat "/proc/$tpid/task/$tpid/children" 2>/dev/null | tr -d ' ')
		[ -n "$wpid" ] && grep -q '"capture started"' "$log" 2>/dev/null && break
		sleep 0.05
	done
	case $mode in
	tcpreplay)
		ip netns exec "$A" "${pin_flood[@]}" tcpreplay --topspeed -i "$VA" "$PCAP" >"$floodlog" 2>&1 ;;
	flood)
		flood "${pin_flood[@]}" -rate "$rate" >"$floodlog" ;;
	flood2)
		local r2=$((rate / 2))
		flood "${pin_flood[@]}" -rate "$r2" >"$floodlog" &
		local f1=$!
		flood "${pin_worker[@]}" -rate "$r2" -clients 500000 >"$floodlog.2"
		wait "$f1"
		# one line with the sum of both
		awk '{n += $2; r += $7} END {printf "sent %d packets in x s: %d packets/s\n", n, r}' "$floodlog" "$floodlog.2" >"$floodlog.sum"
		mv "$floodlog.sum" "$floodlog" ;;
	esac
	sleep 1.5 # the last requests time out (--timeout 1), the ring drains
	kill -TERM "$wpid"
	wait "$tpid" || true
	read -r rx1 rxd1 < <(counters "$B" "$VB")
	local sn1; sn1=$(softnet)
	local sent achieved
	if [ "$mode" = tcpreplay ]; then
		sent=$(sed -n 's/.*Actual: \([0-9]*\) packets.*/\1/p' "$floodlog")
		achieved=$(sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' "$floodlog")
	else
		sent=$(sed -n 's/^sent \([0-9]*\) packets.*/\1/p' "$floodlog")
		achieved=$(sed -n 's/.* s: \([0-9]*\) packets\/s.*/\1/p' "$floodlog")
	fi
	local packets kdrops sessions cpu
	packets=$(field packets "$log")
	kdrops=$(field kernel_drops "$log")
	sessions=$(field sessions "$log")
	cpu=$(awk '{printf "%.2f", $1+$2}' "$timef")
	local label=$rate
	[ "$rate" = 0 ] && label="max"
	[ "$mode" = tcpreplay ] && label="tcpreplay"
	[ "$mode" = flood2 ] && label="$label x2"
	[ "${#extra[@]}" -gt 0 ] && label="$label ${extra[*]}"
	printf '%-9s %-28s sent %9s at %8.0f/s  veth rx %9d drop %5d  softnet drop %5d  capture drops %7s  worker read %9s  sessions %8s  worker cpu %5s s\n' \
		"$engine" "$label" "$sent" "${achieved:-0}" "$((rx1 - rx0))" "$((rxd1 - rxd0))" "$((sn1 - sn0))" \
		"${kdrops:-?}" "${packets:-?}" "${sessions:-?}" "$cpu"
}

echo "capture benchmark: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), ${DURATION}s per rate, ntpflood -answer (request + response)"
for engine in $ENGINES; do
	for rate in $RATES; do
		run "$engine" "$rate"
	done
	# Two senders, one on each core: past what one core sends, at the
	# cost of the worker's core.
	run "$engine" 0 flood2
	if command -v tcpreplay >/dev/null; then
		run "$engine" 0 tcpreplay
	else
		echo "$engine   tcpreplay: not installed (make deps), reference skipped"
	fi
done
# Ring sizes at the highest rate: libpcap's buffer (its TPACKET_V3 blocks
# are 256 KiB, so the buffer sets their number), and afpacket's block size.
for buf in ${PCAP_BUFFERS:-2097152 8388608 134217728}; do
	run pcap 0 flood2 --buffer-size "$buf"
done
for block in ${AF_BLOCKS:-262144 4194304}; do
	run afpacket 0 flood2 --block-size "$block"
done
