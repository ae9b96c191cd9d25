#!/usr/bin/env bash
# End-to-end collector benchmark: a real ntp-collector process, an on-disk
# SQLite database, 4 concurrent worker connections carrying 10,000 distinct
# clients, timed until every session is acknowledged. Prints sessions/s, the
# batch commit latency p50/p99 and the collector's peak RSS per batch size,
# and checks that the database holds exactly the sessions sent.
#
#   scripts/bench-collector.sh              (make bench-collector builds first)
#   SESSIONS=2000000 scripts/bench-collector.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

BIN=${BIN:-bin/ntp-collector}
SESSIONS=${SESSIONS:-1000000}
SMALL_SESSIONS=${SMALL_SESSIONS:-200000}   # batch size 100 commits 2,000 times at this count
CONNS=${CONNS:-4}
CLIENTS=${CLIENTS:-10000}

if [[ ! -x $BIN ]]; then
	mkdir -p "$(dirname "$BIN")"
	CGO_ENABLED=0 go build -o "$BIN" ./cmd/ntp-collector
fi
go build -o bin/loadgen ./scripts/loadgen

echo "== ntp-collector end to end: $(nproc) cores, $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
# Commit latency per batch size: every batch exactly that size.
bin/loadgen -collector "$BIN" -conns "$CONNS" -clients "$CLIENTS" -batch-sizes 100 -sessions "$SMALL_SESSIONS"
bin/loadgen -collector "$BIN" -conns "$CONNS" -clients "$CLIENTS" -batch-sizes 1000,10000,100000 -sessions "$SESSIONS" | tail -n +4
# The collector as configured by default: batches of 100 that grow while a
# commit is in progress (group commit), and the same with larger batches.
bin/loadgen -collector "$BIN" -conns "$CONNS" -clients "$CLIENTS" -batch-sizes 100,100000 -sessions "$SESSIONS" -group-commit
