#!/usr/bin/env bash
# Installs what ntp-monitor needs on Debian or Ubuntu. Does nothing for what
# is already installed; never asks.
#
#   scripts/deps.sh run    to build and run: libpcap-dev for the worker (cgo)
#   scripts/deps.sh        to test as well (make deps): the real NTP software
#                          and packet tools the tests and the demo run,
#                          PostgreSQL and Chromium for the test kits under
#                          pkg/testkit, and the unprivileged user
#                          ntpmon-test that pkg/testkit/pgtest runs
#                          PostgreSQL as (it refuses to run as root)
#
# The test tools include chrony, which Debian lets only one NTP daemon
# package ("time-daemon") be installed beside: it replaces
# systemd-timesyncd, and it would replace ntpsec or ntp. So this script
# refuses to install it on a host whose NTP service is ntpsec, ntp or
# openntpd — the host ntp-monitor is meant to watch — unless
# NTP_DEPS_REPLACE_NTPD=1 says that is fine. ntpsec's ntpd is never
# installed: its package is unpacked into .deps/ntpsec for the tests.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
mode=${1:-test}
case $mode in
run | test) ;;
*) echo "deps: unknown mode $mode (run or test)" >&2; exit 2 ;;
esac

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

want=(libpcap-dev gcc make iproute2 curl ca-certificates)
if [ "$mode" = test ]; then
	want+=(chrony ntpsec-ntpdig ntpsec-ntpdate tshark tcpdump tcpreplay python3-ntp procps util-linux sqlite3)
	# pkg/testkit/pgtest and pkg/testkit/browser. Chromium renders text
	# in screenshots with the fonts installed: DejaVu, and Liberation
	# for pages that ask for Arial, Helvetica or Times.
	want+=(postgresql chromium fonts-dejavu-core fonts-liberation)
	# More NTP clients for the ground-truth captures of pkg/fingerprint
	# (scripts/fingerprint-pcaps.sh); neither runs as a service. Debian's
	# busybox is built without its ntpd applet, so it is not among them.
	want+=(python3-ntplib libnet-ntp-perl)
	if ! installed chrony && [ "${NTP_DEPS_REPLACE_NTPD:-0}" != 1 ]; then
		for daemon in ntpsec ntp openntpd; do
			if installed "$daemon"; then
				echo "deps: the tests need chrony, and installing it would remove $daemon, this host's NTP daemon." >&2
				echo "deps: run the tests on another machine, or set NTP_DEPS_REPLACE_NTPD=1 to let apt-get replace it." >&2
				exit 1
			fi
		done
	fi
fi
need=()
for p in "${want[@]}"; do
	if ! installed "$p"; then
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
	# Keep postgresql's package scripts from creating the system cluster
	# "main" (postgresql-common reads createcluster.d/ through the
	# include_dir of its createcluster.conf), so that no system database
	# is left behind for the tests' sake.
	nocluster=/etc/postgresql-common/createcluster.d/ntp-monitor-deps.conf
	created_nocluster=0
	created_nocluster_dir=0
	if [ ! -d "$(dirname "$nocluster")" ]; then
		"${sudo[@]}" mkdir -p "$(dirname "$nocluster")"
		created_nocluster_dir=1
	fi
	if [ ! -e "$nocluster" ]; then
		echo 'create_main_cluster = false' | "${sudo[@]}" tee "$nocluster" >/dev/null
		created_nocluster=1
	fi
	undo() {
		if [ "$created_policy" = 1 ]; then "${sudo[@]}" rm -f "$policy"; fi
		if [ "$created_nocluster" = 1 ]; then "${sudo[@]}" rm -f "$nocluster"; fi
		if [ "$created_nocluster_dir" = 1 ]; then "${sudo[@]}" rmdir --ignore-fail-on-non-empty "$(dirname "$nocluster")"; fi
	}
	trap undo EXIT
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# PostgreSQL refuses to run as root, and the tests run as root: pgtest runs
# its servers as this system user, which owns nothing but their temp dirs.
if [ "$mode" = test ] && ! getent passwd ntpmon-test >/dev/null; then
	echo "deps: adding the system user ntpmon-test"
	"${sudo[@]}" useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "ntp-monitor test servers" ntpmon-test
fi

# unpack PACKAGE[=VERSION] BINARY unpacks a Debian package beside the
# project, in .deps/PACKAGE, unless BINARY (a path inside it) is there.
unpack() {
	local pkg=${1%%=*} tmp
	[ -x "$root/.deps/$pkg/$2" ] && return 0
	echo "deps: unpacking $pkg into .deps/$pkg"
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download "$1" >/dev/null 2>&1 || { "${sudo[@]}" apt-get update -qq && apt-get download "$1" >/dev/null; })
	mkdir -p "$root/.deps/$pkg"
	dpkg-deb -x "$tmp/${pkg}"_*.deb "$root/.deps/$pkg"
	rm -rf "$tmp"
}

if [ "$mode" = test ]; then
	# ntpsec's ntpd and ntpq.
	unpack ntpsec usr/sbin/ntpd
	# openntpd and systemd-timesyncd conflict with chrony as packages;
	# fingerprint-pcaps.sh runs their binaries directly. timesyncd links
	# against the host's libsystemd-shared, so its version follows systemd's.
	# Only the capture script needs them, not the tests: a failed download
	# is reported, not fatal.
	unpack openntpd usr/sbin/ntpd || echo "deps: openntpd could not be unpacked; fingerprint-pcaps.sh will lack it" >&2
	systemd=$(dpkg-query -W -f='${Version}' systemd 2>/dev/null || true)
	if [ -n "$systemd" ] && apt-cache show "systemd-timesyncd=$systemd" >/dev/null 2>&1; then
		timesyncd="systemd-timesyncd=$systemd"
	else
		timesyncd=systemd-timesyncd
	fi
	unpack "$timesyncd" lib/systemd/systemd-timesyncd ||
		echo "deps: systemd-timesyncd could not be unpacked; fingerprint-pcaps.sh will lack it" >&2
fi

if ! command -v go >/dev/null 2>&1; then
	echo "deps: Go is not installed. Install Go 1.26 or newer (https://go.dev/doc/install) and put it on PATH." >&2
	exit 1
fi
ready="$(go version | cut -d' ' -f3), libpcap $(dpkg-query -W -f='${Version}' libpcap-dev)"
if [ "$mode" = test ]; then
	ready+=", chrony $(dpkg-query -W -f='${Version}' chrony)"
	ready+=", postgresql $(dpkg-query -W -f='${Version}' postgresql)"
	ready+=", chromium $(dpkg-query -W -f='${Version}' chromium)"
fi
echo "deps: ready for $mode ($ready)"
