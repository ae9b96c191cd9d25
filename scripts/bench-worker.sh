#!/usr/bin/env bash
# Worker throughput and memory, measured against tcpdump and tshark on the
# same capture in the same run.
#
#   make bench-worker            (or scripts/bench-worker.sh)
#   RUNS=5 scripts/bench-worker.sh
#
# 1. Generates benchdata/ntp-1m.pcap: 550,000 requests from 10,000 clients
#    (half IPv6), 90 % answered: about 1,045,000 packets; and, at a public
#    server's scale, benchdata/ntp-1m-distinct.pcap: 1,000,000 requests,
#    every one from another client: 1,900,000 packets.
# 2. Runs bin/ntp-worker --pcap-file on each RUNS times (default 3), pinned
#    to one core, streaming into scripts/acksink (pinned to the other core),
#    and prints the median wall time, packets/s and sessions/s, and the
#    median CPU time of the worker (user + sys, all threads, from time(1))
#    with the packets per CPU-second.
# 3. Times `tcpdump -nn -v -r` and `tshark -r` on the same file (output to
#    /dev/null) and prints the worker's speed-up over each.
# 4. Runs the per-packet and per-session benchmarks for allocs/op:
#    BenchmarkDecodePair (frame + NTP decode + pairing + spool copy),
#    BenchmarkPairPoolScale (pairing with 100,000 pending requests) and
#    BenchmarkEncoder (the session line).
# 5. Generates benchdata/pending-1m.pcap, a million requests that are never
#    answered, runs the worker on it with --timeout 3600 (so all of them are
#    pending at once until the file ends) and prints its peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

RUNS=${RUNS:-3}
OUT=benchdata
mkdir -p "$OUT" bin
go build -o bin/ntp-worker ./cmd/ntp-worker
go build -o "$OUT/acksink" ./scripts/acksink
go build -o "$OUT/genpcap" ./scripts/genpcap

PCAP=$OUT/ntp-1m.pcap
DISTINCT=$OUT/ntp-1m-distinct.pcap
PENDING=$OUT/pending-1m.pcap
[ -s "$PCAP" ] || "$OUT/genpcap" -o "$PCAP" -requests 550000 -clients 10000 -ipv6-every 2 -unanswered-every 10 -kod-every 1000 -random-transmit-every 3
[ -s "$DISTINCT" ] || "$OUT/genpcap" -o "$DISTINCT" -requests 1000000 -clients 1000000 -ipv6-every 2 -unanswered-every 10 -kod-every 1000 -random-transmit-every 3
[ -s "$PENDING" ] || "$OUT/genpcap" -o "$PENDING" -requests 1000000 -clients 10000 -ipv6-every 2 -unanswered-every 1
PACKETS=$(tcpdump -nn -r "$PCAP" 2>/dev/null | wc -l)

CORES=$(nproc)
pin_worker=() pin_sink=()
if command -v taskset >/dev/null && [ "$CORES" -ge 2 ]; then
	pin_worker=(taskset -c 0) pin_sink=(taskset -c 1)
fi

PORT=${BENCH_PORT:-10097}
"${pin_sink[@]}" "$OUT/acksink" -listen "127.0.0.1:$PORT" 2>"$OUT/acksink.log" &
SINK=$!
trap 'kill $SINK 2>/dev/null || true' EXIT
sleep 0.3

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# worker FILE: RUNS runs on FILE; sets wt (median wall s), ct (median CPU s)
# and sessions.
worker() {
	local times=() cpus=()
	for i in $(seq "$RUNS"); do
		t0=$(now)
		"${pin_worker[@]}" /usr/bin/time -o "$OUT/worker.time" -f "%U %S" \
			bin/ntp-worker --pcap-file "$1" --ingestion-port "$PORT" --log-format json 2>"$OUT/worker.log"
		t1=$(now)
		times+=("$(echo "$t1 - $t0" | bc -l)")
		cpus+=("$(awk '{print $1 + $2}' "$OUT/worker.time")")
		sessions=$(grep '"capture stopped"' "$OUT/worker.log" | sed 's/.*"sessions":\([0-9]*\).*/\1/')
	done
	wt=$(printf '%s\n' "${times[@]}" | median)
	ct=$(printf '%s\n' "${cpus[@]}" | median)
}

report() { # FILE PACKETS LABEL
	printf '\nworker --pcap-file %s, %s (%d packets; median of %d, pinned to 1 core, acks from acksink on the other):\n' "$1" "$3" "$2" "$RUNS"
	printf '  wall %.3f s   %.0f packets/s   %.0f sessions/s   (%s sessions)\n' "$wt" "$(echo "$2 / $wt" | bc -l)" "$(echo "$sessions / $wt" | bc -l)" "$sessions"
	printf '  cpu  %.2f s (user + sys, all threads)   %.0f packets per CPU-second\n' "$ct" "$(echo "$2 / $ct" | bc -l)"
	printf '  summary: %s\n' "$(grep '"capture stopped"' "$OUT/worker.log" | sed 's/.*"packets"/"packets"/')"
}

echo "capture: $PCAP, $PACKETS packets ($(du -h "$PCAP" | cut -f1)); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
DISTINCT_PACKETS=$(tcpdump -nn -r "$DISTINCT" 2>/dev/null | wc -l)
worker "$DISTINCT"
report "$DISTINCT" "$DISTINCT_PACKETS" "1,000,000 distinct clients"
worker "$PCAP"
report "$PCAP" "$PACKETS" "10,000 clients"

tcpdump_times=() tshark_times=()
for i in $(seq "$RUNS"); do
	t0=$(now); tcpdump -nn -v -r "$PCAP" >/dev/null 2>&1; t1=$(now)
	tcpdump_times+=("$(echo "$t1 - $t0" | bc -l)")
done
for i in $(seq "$RUNS"); do
	t0=$(now); tshark -r "$PCAP" >/dev/null 2>&1; t1=$(now)
	tshark_times+=("$(echo "$t1 - $t0" | bc -l)")
done
tt=$(printf '%s\n' "${tcpdump_times[@]}" | median)
st=$(printf '%s\n' "${tshark_times[@]}" | median)

printf 'tcpdump -nn -v -r: %.3f s   %.0f packets/s   worker is %.1fx faster\n' "$tt" "$(echo "$PACKETS / $tt" | bc -l)" "$(echo "$tt / $wt" | bc -l)"
printf 'tshark -r:         %.3f s   %.0f packets/s   worker is %.1fx faster\n' "$st" "$(echo "$PACKETS / $st" | bc -l)" "$(echo "$st / $wt" | bc -l)"

printf '\nper packet and per session (go test -bench -benchmem; allocs/op must be 0):\n'
go test -run '^$' -bench 'DecodePair' -benchmem -count 3 ./pkg/worker | grep -E '^Benchmark' | sed 's/^/  /'
go test -run '^$' -bench 'PairPoolScale' -benchtime 3800000x -benchmem -count 3 ./pkg/pairing | grep -E '^Benchmark' | sed 's/^/  /'
go test -run '^$' -bench 'Encoder' -benchmem -count 3 ./pkg/wire | grep -E '^Benchmark' | sed 's/^/  /'

printf '\npeak RSS with 1,000,000 requests pending (--timeout 3600 --max-pending 1000000):\n'
/usr/bin/time -v bin/ntp-worker --pcap-file "$PENDING" --ingestion-port "$PORT" --timeout 3600 --max-pending 1000000 --log-format json \
	2>"$OUT/pending.log" || { cat "$OUT/pending.log"; exit 1; }
rss=$(grep 'Maximum resident set size' "$OUT/pending.log" | awk '{print $NF}')
printf '  max RSS %d KiB (%.1f MB); %s\n' "$rss" "$(echo "$rss * 1024 / 1000000" | bc -l)" \
	"$(grep '"capture stopped"' "$OUT/pending.log" | sed 's/.*"sessions":\([0-9]*\).*"unanswered":\([0-9]*\).*/sessions \1, unanswered \2/')"
