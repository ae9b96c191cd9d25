#!/usr/bin/env bash
# Regenerates the README's pictures of the dashboard (scripts/screenshots/*.png)
# from the demo: starts scripts/demo.sh, lets its clients poll for a while,
# takes a full-page PNG of each view with headless Chromium
# (scripts/browse), and stops the demo. `make screenshots` runs it.
#
#   scripts/screenshots.sh [DIR]      default scripts/screenshots
# Environment:
#   SCREENSHOT_TRAFFIC (90): seconds of demo traffic before the pictures.
#
# Needs root (the demo builds namespaces) and /usr/bin/chromium (make deps).
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
out=${1:-scripts/screenshots}
traffic=${SCREENSHOT_TRAFFIC:-90}
[[ -x /usr/bin/chromium ]] || { echo "screenshots: /usr/bin/chromium missing: run make deps" >&2; exit 1; }

log=$(mktemp /tmp/ntp-screenshots.XXXXXX)
scripts/demo.sh --duration $((traffic + 120)) >"$log" 2>&1 &
demo=$!
stop() {
	# The demo tears its network down on TERM; wait for it.
	kill -TERM "$demo" 2>/dev/null || true
	wait "$demo" 2>/dev/null || true
	rm -f "$log"
}
trap stop EXIT

url=''
for _ in $(seq 1 300); do
	url=$(sed -n 's/^ntp-monitor dashboard: \(http[^ ]*\)$/\1/p' "$log")
	[[ -n $url ]] && break
	kill -0 "$demo" 2>/dev/null || { cat "$log" >&2; exit 1; }
	sleep 0.2
done
[[ -n $url ]] || { echo "screenshots: the demo printed no dashboard URL:" >&2; cat "$log" >&2; exit 1; }
echo "screenshots: demo at $url; $traffic s of traffic first"
sleep "$traffic"
go run ./scripts/browse screenshots -url "${url%ui/}" -out "$out"
