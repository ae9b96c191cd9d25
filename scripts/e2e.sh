#!/usr/bin/env bash
# End-to-end test of ntp-monitor against real NTP servers and clients.
#
# Builds network namespaces joined by a bridge (unique names per run, all
# removed on exit), runs chronyd and then ntpsec's ntpd as the server, sends
# traffic from chronyd -Q, ntpdig, ntpdate and hand-made packets, starts
# bin/ntp-collector with a worker on the bridge through the REST API, and
# compares every client's counts and fields in the API with what was sent,
# with the server's own view (chronyc clients, ntpq mrulist) and with
# tshark's dissection of a tcpdump capture. Also kills the collector with
# SIGKILL mid-traffic and checks that the counts survive the restart.
#
# Needs root (namespaces, capture); as another user it says so and skips.
# Run by `make test` after `make build`.
#   scripts/e2e.sh                  run everything
#   scripts/e2e.sh -run 'TestEndToEnd/chrony'   pass go test flags through
# Environment:
#   NTP_E2E_KEEP=DIR                keep the pcaps in DIR
#   NTP_E2E_REQUIRE_BINARIES=0      when bin/ is not built, run only the
#                                   network, server and tshark checks
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

if [[ $EUID -ne 0 ]]; then
	# Like the Go network tests: skipped, with the reason, for non-root.
	echo "e2e: SKIPPED: needs root to create network namespaces and capture (sudo $0)" >&2
	exit 0
fi
missing=()
for bin in ip setpriv tcpdump tshark chronyd chronyc ntpdig ntpdate; do
	command -v "$bin" >/dev/null || missing+=("$bin")
done
[[ -x .deps/ntpsec/usr/sbin/ntpd ]] || missing+=(".deps/ntpsec/usr/sbin/ntpd")
if ((${#missing[@]})); then
	echo "e2e: missing ${missing[*]}: run make deps (scripts/deps.sh)" >&2
	exit 1
fi
export NTP_E2E_REQUIRE_BINARIES=${NTP_E2E_REQUIRE_BINARIES:-1}
if [[ ! -x bin/ntp-collector || ! -x bin/ntp-worker ]]; then
	if [[ $NTP_E2E_REQUIRE_BINARIES == 1 ]]; then
		echo "e2e: bin/ntp-collector or bin/ntp-worker not built: run make build (or make e2e)" >&2
		exit 1
	fi
	echo "e2e: bin/ not built: only the network, server and tshark checks run"
fi

exec go test -tags e2e -count=1 -timeout 10m -v "$@" ./scripts/e2e/
