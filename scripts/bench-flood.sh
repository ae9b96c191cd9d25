#!/usr/bin/env bash
# Spoofed-source flood at scale (not in CI): the e2e TestSpoofedSourceFlood
# with 1,000,000 distinct source addresses at the highest rate ntpflood
# reaches here, into a worker with its default limits (--max-pending
# 1,000,000), and a collector with --max-clients 100,000. Prints the test's
# figures: worker RSS idle and peak against its bound, evictions, kernel
# drops, collector rows against the limit, sessions refused, and the real
# chronyd client's answers against its stored sessions.
#
# Needs root (namespaces, capture) and make build. Sizes through the
# environment:
#   NTP_FLOOD_SOURCES (1000000)  NTP_FLOOD_RATE (0: as fast as the kernel takes)
#   NTP_FLOOD_SECONDS (4, with rate 0)
#   NTP_FLOOD_MAX_PENDING (1000000)  NTP_FLOOD_MAX_CLIENTS (100000)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
if [[ $EUID -ne 0 ]]; then
	echo "bench-flood: SKIPPED: needs root to create network namespaces and capture (sudo $0)" >&2
	exit 0
fi
export NTP_E2E_REQUIRE_BINARIES=1
export NTP_FLOOD_SOURCES=${NTP_FLOOD_SOURCES:-1000000}
export NTP_FLOOD_RATE=${NTP_FLOOD_RATE:-0}
export NTP_FLOOD_MAX_PENDING=${NTP_FLOOD_MAX_PENDING:-1000000}
export NTP_FLOOD_MAX_CLIENTS=${NTP_FLOOD_MAX_CLIENTS:-100000}
go test -tags e2e -count=1 -timeout 15m -run '^TestSpoofedSourceFlood$' -v ./scripts/e2e/ 2>&1 |
	grep -E 'ntpflood:|flood of|FAIL|PASS|ok|---'
