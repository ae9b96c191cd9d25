#!/usr/bin/env bash
# Soak with faults (not in CI): the e2e TestSoak for DURATION. A real worker
# captures chronyd traffic from four clients in network namespaces while a
# synthetic stream goes through the real sender at a steady rate; the worker
# is SIGKILLed every NTP_SOAK_WORKER_KILL (2m) and the collector every
# NTP_SOAK_COLLECTOR_KILL (5m). At the end it checks that every session is
# stored exactly once (the captured ones outside the worker-kill minutes),
# that RSS is flat after the warm-up (±10 %) with no descriptor growth, and
# that /health was red only inside the fault windows; it prints the summary
# table.
#
# Needs root (namespaces, capture) and make build.
#   DURATION (30m)  SOAK_BACKEND (sqlite, the only store of this build)
#   NTP_SOAK_WORKER_KILL (2m)  NTP_SOAK_COLLECTOR_KILL (5m)
#   NTP_SOAK_WARMUP (2m)  NTP_SOAK_LOAD_RATE (200 sessions/s)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
if [[ $EUID -ne 0 ]]; then
	echo "soak: SKIPPED: needs root to create network namespaces and capture (sudo $0)" >&2
	exit 0
fi
export NTP_E2E_REQUIRE_BINARIES=1
export NTP_SOAK_DURATION=${DURATION:-30m}
export NTP_SOAK_BACKEND=${SOAK_BACKEND:-sqlite}
# The test bounds itself (its duration plus ten minutes to drain and check).
go test -tags e2e -count=1 -timeout 0 -run '^TestSoak$' -v ./scripts/e2e/ 2>&1 |
	grep -vE '^=== (RUN|PAUSE|CONT)'
