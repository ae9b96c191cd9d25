#!/usr/bin/env bash
# Installs what ntp-monitor needs to build and test on Debian or Ubuntu:
# libpcap-dev for the worker (cgo), and the real NTP software and packet tools
# that the tests run. Does nothing for what is already installed; never asks.
#
# ntpsec's ntpd conflicts with chrony (both are "time-daemon"), so it is not
# installed: its package is unpacked into .deps/ntpsec and run from there.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD

need=()
want=(libpcap-dev gcc make iproute2 chrony ntpsec-ntpdig ntpsec-ntpdate tshark tcpdump python3-ntp curl ca-certificates procps util-linux sqlite3)
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		need+=("$p")
	fi
done

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	sudo=(sudo -E)
fi

if [ ${#need[@]} -gt 0 ]; then
	echo "deps: installing ${need[*]}"
	# Keep the package scripts from starting the system chronyd: the tests
	# run their own daemons, and none of them may touch the host clock.
	policy=/usr/sbin/policy-rc.d
	created_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
		"${sudo[@]}" chmod 755 "$policy"
		created_policy=1
	fi
	trap 'if [ "$created_policy" = 1 ]; then "${sudo[@]}" rm -f "$policy"; fi' EXIT
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ntpsec's ntpd and ntpq, unpacked beside the project.
if [ ! -x "$root/.deps/ntpsec/usr/sbin/ntpd" ]; then
	echo "deps: unpacking ntpsec into .deps/ntpsec"
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download ntpsec >/dev/null 2>&1 || { "${sudo[@]}" apt-get update -qq && apt-get download ntpsec >/dev/null; })
	mkdir -p "$root/.deps/ntpsec"
	dpkg-deb -x "$tmp"/ntpsec_*.deb "$root/.deps/ntpsec"
	rm -rf "$tmp"
fi

if ! command -v go >/dev/null 2>&1; then
	echo "deps: Go is not installed. Install Go 1.26 or newer (https://go.dev/doc/install) and put it on PATH." >&2
	exit 1
fi
echo "deps: ready ($(go version | cut -d' ' -f3), libpcap $(dpkg-query -W -f='${Version}' libpcap-dev), chrony $(dpkg-query -W -f='${Version}' chrony))"
