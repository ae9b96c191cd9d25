#!/usr/bin/env bash
# HTTP API benchmark (make bench-api).
#
# Fills a database with 1,000,000 clients over 8 interfaces through the
# store's real write path (store.Batch + Commit, 50,000 rows per commit)
# and the traffic series of 30 days of minutes and 400 days of hours on
# every interface (written straight into the tables), serves it with the
# collector's HTTP API (httpapi.Server, as ntp-collector does), then
# measures under 16 concurrent clients for 10 s per scenario: requests/s
# and p50/p99 latency of the list (first page, deep pages, filtered,
# sorted), the detail endpoint, the interface statistics, and the
# timeseries and statistics over a day at 60 s, 30 days at 1 h and 400
# days at 1 d; the dashboard's
# first contentful paint and time until its data is on screen, in headless
# Chromium (scripts/browse timing); then the time and the server's peak RSS
# (VmHWM) of exporting every row as NDJSON and as CSV, each in a fresh server
# process so the peak is the export's.
#
# The load runs while the server commits INGEST_RATE sessions a second
# (2000; apiload serve --ingest-rate) captured now, 1 % of them of clients
# never seen before and the rest of the filled ones, as a public server's
# collector does: every commit changes what the reads see.
#
# Settings: CLIENTS (1000000), CONCURRENCY (16), DURATION (10s), INGEST_RATE (2000), BENCH_DIR
# (a temporary directory, removed afterwards; set KEEP=1 to keep the DB and
# reuse it on the next run).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

CLIENTS=${CLIENTS:-1000000}
CONCURRENCY=${CONCURRENCY:-16}
DURATION=${DURATION:-10s}
INGEST_RATE=${INGEST_RATE:-2000}
ADDR=${ADDR:-127.0.0.1:18000}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/ntp-bench-api.XXXXXX)}
DB=$BENCH_DIR/bench.db
BIN=$BENCH_DIR/apiload

server_pid=""
cleanup() {
	if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$BENCH_DIR"; fi
}
trap cleanup EXIT

go build -o "$BIN" ./scripts/apiload

echo "== machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3)"
if [[ -f $DB && ${KEEP:-0} == 1 ]]; then
	echo "== reusing $DB"
else
	rm -f "$DB" "$DB-wal" "$DB-shm"
	echo "== fill"
	"$BIN" fill --db "$DB" --clients "$CLIENTS" --interfaces 8
fi

start_server() {
	"$BIN" serve --db "$DB" --addr "$ADDR" "$@" &
	server_pid=$!
	for _ in $(seq 100); do
		if curl -fs -o /dev/null "http://$ADDR/health"; then return; fi
		sleep 0.1
	done
	echo "server did not come up" >&2
	exit 1
}
stop_server() {
	kill "$server_pid"
	wait "$server_pid" || true
	server_pid=""
}

echo "== load: $CONCURRENCY concurrent clients, $DURATION per scenario, $INGEST_RATE sessions/s committed meanwhile"
start_server --ingest-rate "$INGEST_RATE" --clients "$CLIENTS"
"$BIN" load --url "http://$ADDR" --concurrency "$CONCURRENCY" --duration "$DURATION" --clients "$CLIENTS"
stop_server

echo "== the dashboard: first contentful paint and data on screen, fresh browser profile per load, fresh server"
if [[ -x /usr/bin/chromium ]]; then
	start_server
	go run ./scripts/browse timing -url "http://$ADDR/" -runs 5 2> >(grep -v -i dbus >&2)
	stop_server
else
	echo "   skipped: /usr/bin/chromium missing (make deps)"
fi

echo "== export of every row (fresh server each, peak RSS of the server process)"
for fmt in ndjson csv; do
	start_server
	"$BIN" export --url "http://$ADDR" --format "$fmt"
	echo "   server peak RSS: $(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/$server_pid/status")," \
		"server CPU: $(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f s", ($14+$15)/hz}' "/proc/$server_pid/stat")" \
		"(load average $(cut -d' ' -f1 /proc/loadavg))"
	stop_server
done
