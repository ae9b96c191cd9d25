#!/usr/bin/env bash
# Runs scripts/install.sh for real (into /, creating the user) inside the
# caller's private mount namespace (unshare -m), with throwaway overlays over
# every directory it writes, so the host is left untouched. Checks each step
# and exits non-zero on the first difference.
#   live-install.sh REPO BINDIR OVLDIR
# OVLDIR is an empty directory the caller removes: the tmpfs holding the
# overlays is mounted on it inside the namespace only, so the directory
# itself stays on the host, where a mktemp here would leave it behind.
set -euo pipefail
repo=$1 bindir=$2 ovl=$3
mount --make-rprivate /
mount -t tmpfs tmpfs "$ovl"
for d in /etc /usr/local /var/lib /var/log /run; do
	n=$(echo "$d" | tr / _)
	mkdir -p "$ovl/$n-up" "$ovl/$n-work"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$ovl/$n-up,workdir=$ovl/$n-work" "$d"
done
fail() { echo "FAIL: $*" >&2; exit 1; }
inst() { BINDIR=$bindir "$repo/scripts/install.sh" --no-build "$@"; }

inst
inst >/dev/null # idempotent
getent passwd ntp-monitor >/dev/null || fail "no ntp-monitor user"
[[ -x /usr/local/bin/ntp-collector && -x /usr/local/bin/ntp-worker ]] || fail "binaries"
[[ $(stat -c %a /etc/ntp-monitor/ntp-collector.env) == 600 ]] || fail "env file mode"
for d in /var/lib/ntp-monitor /var/log/ntp-monitor /run/ntp-monitor; do
	[[ $(stat -c %U:%a "$d") == ntp-monitor:750 ]] || fail "$d: $(stat -c %U:%a "$d")"
done

# The collector runs as the service user with only the ambient
# capabilities, as the unit starts it, and writes its database.
NTP_HTTP_LISTEN=127.0.0.1:0 timeout -s TERM 3 setpriv --reuid=ntp-monitor --regid=ntp-monitor --init-groups \
	--inh-caps=+net_raw,+net_admin --ambient-caps=+net_raw,+net_admin \
	/usr/local/bin/ntp-collector serve --db /var/lib/ntp-monitor/ntp_clients.db \
	--pid-dir /run/ntp-monitor --log-dir /var/log/ntp-monitor --ingestion-port 0 || [[ $? == 124 ]] || true
[[ -s /var/lib/ntp-monitor/ntp_clients.db ]] || fail "collector did not create its database as ntp-monitor"

inst --uninstall
[[ ! -e /usr/local/bin/ntp-collector && ! -e /etc/systemd/system/ntp-collector.service ]] || fail "uninstall left files"
[[ -e /var/lib/ntp-monitor/ntp_clients.db ]] || fail "uninstall removed the database"
getent passwd ntp-monitor >/dev/null || fail "uninstall removed the user"
inst --uninstall --purge
[[ ! -e /var/lib/ntp-monitor && ! -e /etc/ntp-monitor ]] || fail "purge left files"
! getent passwd ntp-monitor >/dev/null || fail "purge left the user"
echo "live install OK"
