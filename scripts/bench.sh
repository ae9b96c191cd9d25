#!/usr/bin/env bash
# make bench: runs every benchmark part (make bench-go, bench-worker,
# bench-capture, bench-collector, bench-api) and writes their output, dated
# and with the machine's load, into the raw part of scripts/performance.md,
# below its marker. The hand-written part above the marker is kept as it is.
#
# A part that fails stops the run and leaves the page untouched, so the page
# never shows half a run as if it were whole.
set -euo pipefail
cd "$(dirname "$0")/.."

page=scripts/performance.md
marker='<!-- scripts/bench.sh writes below this line; edit above it -->'
grep -qxF -- "$marker" "$page" || { echo "bench: $page has no marker line" >&2; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$(date -u +%FT%TZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
make --no-print-directory bench-go bench-worker bench-capture bench-collector bench-api 2>&1 | tee "$log"

tmp=$(mktemp "$page.XXXXXX")
{
	sed "/^$(printf '%s' "$marker" | sed 's/[][\.*^$/]/\\&/g')\$/q" "$page"
	echo
	echo "Run started $started, finished $(date -u +%FT%TZ); $(nproc) cores;"
	echo "load average $load_before at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end;"
	echo "$(go version | cut -d' ' -f3), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
	echo
	echo '```'
	cat "$log"
	echo '```'
} >"$tmp"
mv "$tmp" "$page"
echo "bench: wrote $page"
